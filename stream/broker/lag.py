"""Consumer lag of a group on a topic, per partition, as the broker holds it: the offset
the next message will get minus the group's committed offset. Read outside the group,
so it answers whether or not a worker runs."""

from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from stream.broker.client import aiokafka_options
from stream.config import Settings

TIMEOUT_MS = 5_000


@dataclass(frozen=True, slots=True)
class PartitionLag:
    partition: int
    end_offset: int
    committed: int | None
    """None: the group never committed on this partition (all of it is lag)."""

    @property
    def lag(self) -> int:
        return max(0, self.end_offset - (self.committed or 0))


async def group_lag(settings: Settings, topic: str, group: str) -> list[PartitionLag]:
    consumer = AIOKafkaConsumer(**aiokafka_options(settings), enable_auto_commit=False, group_id=None,
                                request_timeout_ms=TIMEOUT_MS + 1_000)
    admin = AIOKafkaAdminClient(**aiokafka_options(settings), request_timeout_ms=TIMEOUT_MS)
    try:
        await consumer.start()
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        if not partitions:
            return []
        ends = await consumer.end_offsets(partitions)
        await admin.start()
        committed = await admin.list_consumer_group_offsets(group, partitions=partitions)
    finally:
        await consumer.stop()
        await admin.close()
    return [
        PartitionLag(tp.partition, ends[tp], committed[tp].offset if tp in committed and committed[tp].offset >= 0
                     else None)
        for tp in partitions
    ]
