"""What the fault drills share: consumer-group offsets, worker memory, stats deltas."""

import asyncio
from pathlib import Path

from aiokafka import AIOKafkaConsumer, TopicPartition

from stream.broker.client import aiokafka_options
from tests.stack import Stack


def committed_offsets(stack: Stack) -> dict[int, int]:
    """The worker group's committed offset per raw-topic partition (absent: none yet).
    Asked with a consumer of the same group that never subscribes, so no rebalance."""

    async def fetch() -> dict[int, int]:
        consumer = AIOKafkaConsumer(
            **aiokafka_options(stack.settings), group_id=stack.settings.consumer_group, enable_auto_commit=False
        )
        await consumer.start()
        try:
            partitions = consumer.partitions_for_topic(stack.settings.topic_raw) or set()
            found = {p: await consumer.committed(TopicPartition(stack.settings.topic_raw, p)) for p in partitions}
        finally:
            await consumer.stop()
        return {p: offset for p, offset in found.items() if offset is not None and offset >= 0}

    return asyncio.run(fetch())


def end_offsets(stack: Stack) -> dict[int, int]:
    async def fetch() -> dict[int, int]:
        consumer = AIOKafkaConsumer(**aiokafka_options(stack.settings), group_id=None)
        await consumer.start()
        try:
            partitions = consumer.partitions_for_topic(stack.settings.topic_raw) or set()
            ends = await consumer.end_offsets([TopicPartition(stack.settings.topic_raw, p) for p in partitions])
        finally:
            await consumer.stop()
        return {tp.partition: offset for tp, offset in ends.items()}

    return asyncio.run(fetch())


def lag(stack: Stack) -> int:
    committed, ends = committed_offsets(stack), end_offsets(stack)
    # Tansu's end offset can trail a committed offset by one; a partition is drained then
    return sum(max(0, end - committed.get(partition, 0)) for partition, end in ends.items())


def worker_rss_mb(stack: Stack) -> float:
    assert stack.worker is not None
    for line in Path(f"/proc/{stack.worker.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS for the worker")
