"""Throughput against two ceilings on the same broker and the same messages: a bare Faust
agent that only decodes, and a bare aiokafka consumer loop. Each is timed from its first
message to its last event over data already on the topic; costream is timed the same way
(the worker is stopped while the messages are published, then started)."""

import asyncio
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from bench.e2e import event, processed
from tests.stack import Stack, wait_until

PARTITIONS = 4


def messages(batch: int, events: int) -> list[tuple[bytes, bytes]]:
    tenant = f"ceil{batch}-{uuid.uuid4().hex[:6]}"
    payloads = [event(f"{tenant}-{n % 20}", n) for n in range(events)]
    if batch == 1:
        return [(p["tenant_id"].encode(), orjson.dumps(p)) for p in payloads]
    return [(payloads[i]["tenant_id"].encode(), orjson.dumps({"events": payloads[i:i + batch]}))
            for i in range(0, events, batch)]


async def _publish(bootstrap: str, topic: str, batch: list[tuple[bytes, bytes]], create: bool) -> None:
    if create:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await admin.start()
        try:
            await admin.create_topics([NewTopic(topic, PARTITIONS, 1)])
        finally:
            await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await producer.start()
    try:
        pending = [await producer.send(topic, value=v, key=k) for k, v in batch]
        await asyncio.gather(*pending)
    finally:
        await producer.stop()


async def _bare_aiokafka(bootstrap: str, topic: str, expected: int) -> float:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                                max_partition_fetch_bytes=8 * 1024 * 1024)
    await consumer.start()
    try:
        parts = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        seen, first = 0, 0.0
        while seen < expected:
            batch = await consumer.getmany(timeout_ms=1000, max_records=10_000)
            for records in batch.values():
                if records and not first:
                    first = time.perf_counter()
                for record in records:
                    document = orjson.loads(record.value)
                    seen += len(document["events"]) if isinstance(document, dict) and "events" in document else 1
        return time.perf_counter() - first
    finally:
        await consumer.stop()


def bare_faust(bootstrap: str, topic: str, expected: int) -> float:
    with tempfile.TemporaryDirectory() as folder:
        result = Path(folder) / "seconds"
        done = subprocess.run(
            [sys.executable, "-m", "bench.bare_faust", bootstrap, topic, str(expected), str(result)],
            check=False, timeout=600, capture_output=True, text=True, env=os.environ.copy(),
        )
        if not result.exists():
            raise RuntimeError(f"the bare Faust agent did not finish: {done.stderr[-3000:]}")
        return float(result.read_text())


def costream_consuming(stack: Stack, batch: list[tuple[bytes, bytes]], expected: int) -> float:
    """The worker is stopped while the messages are published, then started and timed as
    the ceilings are, from its first message read to its last batch stored, applied and
    published (its own wall-clock stamps in ``/v1/stats``: the harness learns that it is
    ready only at its next poll, by when a small load may be half done)."""
    stack.stop_worker()
    asyncio.run(_publish(stack.settings.bootstrap_servers, stack.settings.topic_raw, batch, create=False))
    stack.start_worker()
    # the counters start at zero with the process, and earlier traffic was committed; the
    # run is timed by the worker's stamps, so polling often would only load the worker
    # (20 requests a second took 2-3% of its event loop)
    wait_until(lambda: processed(stack) >= expected, 900, interval=0.25, what="the load")
    stats = stack.stats()
    return float(stats["last_batch_at"]) - float(stats["first_message_at"])


def run(stack: Stack, sizes: tuple[int, ...] = (1, 10, 100), events: dict[int, int] | None = None) -> dict[str, float]:
    counts = events or {1: 10_000, 10: 30_000, 100: 60_000}
    bootstrap = stack.settings.bootstrap_servers
    figures: dict[str, float] = {}
    for size in sizes:
        batch = messages(size, counts[size])
        topic = f"bench.ceiling.{size}.{uuid.uuid4().hex[:6]}"
        asyncio.run(_publish(bootstrap, topic, batch, create=True))
        figures[f"ceiling_aiokafka_events_per_s_batch_{size}"] = counts[size] / asyncio.run(
            _bare_aiokafka(bootstrap, topic, counts[size]))
        figures[f"ceiling_faust_events_per_s_batch_{size}"] = counts[size] / bare_faust(bootstrap, topic, counts[size])
        figures[f"costream_events_per_s_batch_{size}"] = counts[size] / costream_consuming(stack, batch, counts[size])
        for ceiling in ("faust", "aiokafka"):
            figures[f"ratio_costream_to_{ceiling}_batch_{size}"] = (
                figures[f"costream_events_per_s_batch_{size}"] / figures[f"ceiling_{ceiling}_events_per_s_batch_{size}"]
            )
    return figures
