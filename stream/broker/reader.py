"""Reading a whole topic (every partition, from the beginning) outside any consumer group:
for state every worker needs in full, such as budget definitions and breaches already
published."""

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from stream.broker.client import aiokafka_options
from stream.config import Settings

log = logging.getLogger(__name__)

Record = tuple[bytes | None, bytes | None]


async def _partitions(settings: Settings, topic: str) -> set[int]:
    """The topic's partitions as the brokers know them now (none while it does not exist).

    Asks for every topic's metadata rather than for this one by name, so a missing topic
    is never auto-created here."""
    admin = AIOKafkaAdminClient(**aiokafka_options(settings))
    await admin.start()
    try:
        for described in await admin.describe_topics():
            if described["topic"] == topic and described["error_code"] == 0:
                return {partition["partition"] for partition in described["partitions"]}
        return set()
    finally:
        await admin.close()


async def _assigned_consumer(settings: Settings, topic: str) -> tuple[AIOKafkaConsumer, list[TopicPartition]]:
    # the fetch wait of the worker's own consumer (stream/broker/transport.py): reading to
    # the end, the last fetch finds nothing new and the broker holds it that long
    consumer = AIOKafkaConsumer(**aiokafka_options(settings), enable_auto_commit=False, group_id=None,
                                fetch_max_wait_ms=round(settings.consumer_fetch_max_wait * 1000))
    await consumer.start()
    # The consumer's metadata from start-up has every topic that existed then; one just
    # created (e.g. by a worker starting alongside) shows up on the brokers a moment later.
    partitions: set[int] = consumer.partitions_for_topic(topic) or set()
    for _ in range(50):
        if partitions:
            break
        await asyncio.sleep(0.1)
        partitions = await _partitions(settings, topic)
    assigned = [TopicPartition(topic, partition) for partition in sorted(partitions)]
    consumer.assign(assigned)
    if assigned:
        await consumer.seek_to_beginning(*assigned)
    return consumer, assigned


async def end_offsets(settings: Settings, topic: str, partitions: list[int]) -> dict[int, int]:
    """The next offset to be written on each of these partitions."""
    consumer = AIOKafkaConsumer(**aiokafka_options(settings), enable_auto_commit=False, group_id=None)
    await consumer.start()
    try:
        ends = await consumer.end_offsets([TopicPartition(topic, partition) for partition in partitions])
        return {tp.partition: offset for tp, offset in ends.items()}
    finally:
        await consumer.stop()


async def read_topic(settings: Settings, topic: str) -> list[Record]:
    """Every record on ``topic`` now, in partition order."""
    consumer, assigned = await _assigned_consumer(settings, topic)
    try:
        return await _read_to_end(consumer, assigned)
    finally:
        await consumer.stop()


async def _read_to_end(consumer: AIOKafkaConsumer, assigned: list[TopicPartition]) -> list[Record]:
    records: list[Record] = []
    if not assigned:
        return records
    end = await consumer.end_offsets(assigned)
    while True:
        positions = [await consumer.position(tp) for tp in assigned]
        if all(position >= end[tp] for position, tp in zip(positions, assigned, strict=True)):
            return records
        batch = await consumer.getmany(timeout_ms=500)
        for messages in batch.values():
            records.extend((message.key, message.value) for message in messages)


async def follow_topic(
    settings: Settings,
    topic: str,
    apply: Callable[[bytes | None, bytes | None], None],
    caught_up: Callable[[], Awaitable[None] | None] | None = None,
) -> None:
    """Apply every record from the beginning, signal once caught up, then keep following."""
    consumer, assigned = await _assigned_consumer(settings, topic)
    try:
        for key, value in await _read_to_end(consumer, assigned):
            apply(key, value)
        if caught_up is not None:
            result = caught_up()
            if result is not None:
                await result
        while True:
            batch = await consumer.getmany(timeout_ms=1000)
            for messages in batch.values():
                for message in messages:
                    apply(message.key, message.value)
    finally:
        await consumer.stop()
