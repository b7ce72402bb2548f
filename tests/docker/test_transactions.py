"""The raw topic's records reach the ingest agent in bulk, past Faust's per-message
delivery (stream/broker/feed.py, stream/broker/transport.py): Faust's consumer still
commits what the agent acks, including past the offsets a transaction's markers take.

On Apache Kafka only: the embedded broker (Tansu) refuses transactional producers
(InitProducerId answers UnknownError), so it has no markers to skip."""

import asyncio
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import orjson
import pytest
from aiokafka import AIOKafkaProducer

from stream.broker.client import aiokafka_options
from tests.faults.drills import committed_offsets, end_offsets
from tests.integration.helpers import canonical_event, gpt_4o_mini_cost
from tests.stack import Stack, wait_until

pytestmark = pytest.mark.docker

PARTITION = 0


def test_offsets_are_committed_past_the_markers_of_transactions(stack: Stack) -> None:
    nonce = uuid.uuid4().hex[:10]
    tenant = f"txn-{nonce}"
    at = datetime.now(UTC).replace(microsecond=0)
    events = [canonical_event(f"{tenant}-{n}", tenant, at, 1000 + n, 100) for n in range(9)]

    async def publish() -> None:
        options = aiokafka_options(stack.settings)
        producer = AIOKafkaProducer(**options, transactional_id=f"costream-test-{nonce}")
        await producer.start()
        try:
            for chunk in (events[0:3], events[3:6]):  # each commit leaves a marker at an offset of its own
                async with producer.transaction():
                    for event in chunk:
                        await producer.send(stack.settings.topic_raw, orjson.dumps(event), partition=PARTITION)
        finally:
            await producer.stop()
        plain = AIOKafkaProducer(**options)  # the last records after the markers: no marker trails them
        await plain.start()
        try:
            for event in events[6:]:
                await plain.send_and_wait(stack.settings.topic_raw, orjson.dumps(event), partition=PARTITION)
        finally:
            await plain.stop()

    asyncio.run(publish())
    rows = wait_until(
        lambda: (r := stack.query("SELECT count() AS n, sum(total_cost) AS usd FROM usage_events FINAL "
                                  "WHERE tenant_id = {t:String}", t=tenant)) and int(r[0]["n"]) == len(events) and r,
        60, what="the transactions' events to be stored")  # fmt: skip
    expected = sum(gpt_4o_mini_cost(1000 + n, 0, 100) for n in range(9))
    assert Decimal(rows[0]["usd"]) == expected
    end = end_offsets(stack)[PARTITION]
    # Nine records and two markers: had the markers' offsets not been counted as read,
    # the commits would have stopped at the first of them.
    wait_until(lambda: committed_offsets(stack).get(PARTITION, -1) >= end, 30,
               what=f"the offsets committed to reach the end offset {end}")  # fmt: skip
