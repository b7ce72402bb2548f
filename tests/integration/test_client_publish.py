"""The producer library on the real broker: events published with the async (aiokafka)
and sync (confluent-kafka) publishers arrive priced; a Kafka that is absent never blocks
the caller, the bounded queue drops and counts, and what was queued is delivered once
Kafka comes."""

import asyncio
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest

from costream_client import AsyncPublisher, EventError
from costream_client.sync import SyncPublisher, librdkafka_version
from stream.broker.embedded import EmbeddedBroker
from stream.broker.reader import read_topic
from stream.config import load_settings
from tests.integration.helpers import canonical_event, gpt_4o_mini_cost
from tests.stack import Stack, free_port, wait_until

pytestmark = pytest.mark.integration
AT = datetime(2026, 10, 5, 8, tzinfo=UTC)


def priced(stack: Stack, tenant: str) -> list[dict[str, Any]]:
    return stack.query("SELECT event_id, input_tokens, output_tokens, total_cost FROM usage_events FINAL "
                       "WHERE tenant_id = {t:String} ORDER BY event_id", t=tenant)  # fmt: skip


def assert_priced(stack: Stack, tenant: str, count: int) -> None:
    rows = wait_until(lambda: len(priced(stack, tenant)) == count and priced(stack, tenant), 60,
                      what=f"{count} published events to be priced")  # fmt: skip
    for n, row in enumerate(rows):
        assert row["event_id"] == f"e{n}" and row["input_tokens"] == 1000 + n
        assert Decimal(row["total_cost"]) == gpt_4o_mini_cost(1000 + n, 100, 20)


def test_the_async_publisher_delivers_events_that_arrive_priced(stack: Stack) -> None:
    tenant = f"client-async-{uuid.uuid4().hex[:8]}"

    async def run() -> tuple[bool, Any]:
        async with AsyncPublisher(stack.settings.bootstrap_servers) as publisher:
            for n in range(5):
                assert publisher.publish(canonical_event(f"e{n}", tenant, AT, 1000 + n, 20, cached=100))
            with pytest.raises(EventError, match="occurred_at: Input should have timezone info"):
                publisher.publish({**canonical_event("naive", tenant, AT, 1, 1), "occurred_at": "2026-10-05T08:00"})
            flushed = await publisher.flush(30)
            return flushed, publisher.metrics()

    flushed, metrics = asyncio.run(run())
    assert flushed and metrics.published == 5 and metrics.invalid == 1 and metrics.dropped == 0
    assert_priced(stack, tenant, 5)


def test_the_sync_publisher_delivers_events_that_arrive_priced(stack: Stack) -> None:
    assert librdkafka_version() >= (2, 16)
    tenant = f"client-sync-{uuid.uuid4().hex[:8]}"
    with SyncPublisher(stack.settings.bootstrap_servers) as publisher:
        for n in range(5):
            assert publisher.publish(canonical_event(f"e{n}", tenant, AT, 1000 + n, 20, cached=100))
        with pytest.raises(EventError, match=r"usage\.output_tokens: Input should be greater than or equal to 0"):
            publisher.publish(canonical_event("negative", tenant, AT, 1, -1))
        assert publisher.flush(30)
        metrics = publisher.metrics()
    assert metrics.published == 5 and metrics.invalid == 1 and metrics.delivery_errors == 0
    assert_priced(stack, tenant, 5)


def test_with_kafka_absent_the_async_queue_drops_newest_and_counts_without_blocking() -> None:
    async def run() -> tuple[list[bool], float, Any, bool]:
        publisher = await AsyncPublisher(f"127.0.0.1:{free_port()}", max_queue=5).start()
        started = time.perf_counter()
        kept = [publisher.publish(canonical_event(f"e{n}", "absent", AT, 10, 1)) for n in range(20)]
        took = time.perf_counter() - started
        await asyncio.sleep(0.3)
        metrics = publisher.metrics()
        return kept, took, metrics, await publisher.close(timeout=0.5)

    kept, took, metrics, closed_clean = asyncio.run(run())
    assert kept == [True] * 5 + [False] * 15
    assert took < 0.5, f"publishing 20 events with Kafka absent took {took:.2f}s"
    assert metrics.dropped == 15 and metrics.queued + metrics.in_flight == 5
    assert metrics.last_error and "cannot reach Kafka" in metrics.last_error
    assert not closed_clean


def test_with_kafka_absent_the_sync_queue_drops_oldest_when_asked() -> None:
    # a long linger keeps the events in the queue while they are published
    publisher = SyncPublisher(f"127.0.0.1:{free_port()}", max_queue=4, drop="oldest", linger_ms=2000)
    try:
        started = time.perf_counter()
        kept = [publisher.publish(canonical_event(f"e{n}", "absent", AT, 10, 1)) for n in range(10)]
        took = time.perf_counter() - started
        metrics = publisher.metrics()
        queued = [orjson.loads(data)["event_id"] for _, data in list(publisher.buffer.items)]
    finally:
        assert not publisher.close(timeout=0.3)
    assert took < 0.5 and metrics.published == 0 and all(kept)
    assert metrics.dropped == 6 and queued == ["e6", "e7", "e8", "e9"]


def test_events_queued_while_kafka_is_absent_are_delivered_when_it_comes(tmp_path: Path) -> None:
    port = free_port()
    topic = f"client-late-{uuid.uuid4().hex[:6]}"

    async def run() -> list[Any]:
        publisher = await AsyncPublisher(f"127.0.0.1:{port}", topic, retry_backoff=0.2, max_retry_backoff=0.5).start()
        for n in range(3):
            assert publisher.publish(canonical_event(f"late-{n}", "late", AT, 10, 1))
        await asyncio.sleep(1.0)
        assert publisher.metrics().published == 0
        broker = EmbeddedBroker(port, tmp_path / "broker.log").start()
        try:
            assert await publisher.flush(30), publisher.metrics()
            await publisher.close()
            settings = load_settings(kafka_bootstrap_servers=broker.bootstrap_servers, data_dir=tmp_path)
            return await read_topic(settings, topic)
        finally:
            broker.stop()

    messages = asyncio.run(run())
    assert [key for key, _ in messages] == [b"late"]  # one envelope, keyed by tenant
    events = orjson.loads(messages[0][1])["events"]
    assert [e["event_id"] for e in events] == ["late-0", "late-1", "late-2"]
