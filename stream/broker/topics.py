"""Creating costream's topics, idempotently, with the right cleanup policy."""

import asyncio
import logging
from dataclasses import dataclass

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, TopicAlreadyExistsError

from stream.broker.client import aiokafka_options
from stream.config import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TopicSpec:
    name: str
    partitions: int
    compacted: bool = False


def topic_specs(settings: Settings) -> list[TopicSpec]:
    partitions = settings.topic_partitions
    return [
        TopicSpec(settings.topic_raw, partitions),
        TopicSpec(settings.topic_priced, partitions),
        TopicSpec(settings.topic_dlq, partitions),
        TopicSpec(settings.topic_aggregates, partitions),
        TopicSpec(settings.topic_breaches, partitions),
        TopicSpec(settings.topic_budget_status, partitions, compacted=True),
        TopicSpec(settings.topic_budget_definitions, partitions, compacted=True),
    ]


async def ensure_topics(settings: Settings, timeout: float = 30.0) -> list[str]:
    """Create missing topics; returns the names created. Existing topics are left alone."""
    admin = AIOKafkaAdminClient(**aiokafka_options(settings), request_timeout_ms=int(timeout * 1000))
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            await admin.start()
            break
        except KafkaConnectionError:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(0.5)
    try:
        existing = set(await admin.list_topics())
        wanted = [spec for spec in topic_specs(settings) if spec.name not in existing]
        created: list[str] = []
        for spec in wanted:
            configs = {"cleanup.policy": "compact"} if spec.compacted else {}
            try:
                await admin.create_topics(
                    [NewTopic(spec.name, spec.partitions, settings.topic_replication_factor, topic_configs=configs)]
                )
                created.append(spec.name)
            except TopicAlreadyExistsError:
                pass
        if created:
            log.info("created topics: %s", ", ".join(created))
        return created
    finally:
        await admin.close()
