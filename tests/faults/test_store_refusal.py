"""A permanent insert error mid-stream: ClickHouse itself refuses some rows (a CHECK
constraint added by hand, as an operator might). The refused events become dead letters
with the store's reason, every other event is stored once, the partition moves on, and
nothing is lost: stored + refused = sent."""

import base64
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from tests.integration.helpers import canonical_event
from tests.stack import Stack, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CONSTRAINT = "refuse_poison_model"


def alter(stack: Stack, statement: str) -> None:
    """DDL on the worker's embedded store, with the worker stopped (chDB serves one process)."""
    from stream.store.client import ClickHouseStore

    stack.stop_worker()
    store = ClickHouseStore(stack.store_dsn)
    try:
        store.command_sync(statement)
    finally:
        store.close()
        stack.start_worker()


@pytest.fixture
def refusing_store(stack: Stack) -> Iterator[Stack]:
    alter(stack, f"ALTER TABLE usage_events ADD CONSTRAINT {CONSTRAINT} CHECK model != 'poison-model'")
    try:
        yield stack
    finally:
        alter(stack, f"ALTER TABLE usage_events DROP CONSTRAINT IF EXISTS {CONSTRAINT}")


def test_rows_the_store_refuses_are_dead_lettered_and_the_rest_stored_once(refusing_store: Stack) -> None:
    stack = refusing_store
    nonce = uuid.uuid4().hex[:8]
    tenant = f"refusal-{nonce}"
    at = datetime.now(UTC)
    events: list[dict[str, Any]] = []
    for n in range(3_000):
        event = canonical_event(f"{nonce}-{n}", tenant, at, 1000, 100)
        if n % 500 == 7:
            event["model"] = "poison-model"
        events.append(event)
    poisoned = {e["event_id"] for e in events if e["model"] == "poison-model"}
    messages = [(tenant.encode(), orjson.dumps({"events": events[i:i + 100]})) for i in range(0, 2_000, 100)]
    messages += [(tenant.encode(), orjson.dumps(e)) for e in events[2_000:]]
    stack.publish(messages)

    def stored() -> list[dict[str, Any]]:
        return stack.query("SELECT event_id, count() AS n FROM usage_events WHERE tenant_id = {t:String} "
                           "GROUP BY event_id", t=tenant)  # fmt: skip

    rows = wait_until(lambda: (found := stored()) and len(found) >= len(events) - len(poisoned) and found, 120,
                      what="the events the store takes")  # fmt: skip
    assert {row["event_id"] for row in rows} == {e["event_id"] for e in events} - poisoned
    assert all(row["n"] == 1 for row in rows)

    def refused() -> list[dict[str, Any]]:
        letters = [orjson.loads(v) for _, v in stack.read_topic(stack.settings.topic_dlq)]
        return [d for d in letters if d["tenant_id"] == tenant]

    letters = wait_until(lambda: (found := refused()) and len(found) >= len(poisoned) and found, 60,
                         what="dead letters")  # fmt: skip
    assert {d["event_id"] for d in letters} == poisoned
    assert all(d["error_type"] == "store_refused" and CONSTRAINT in d["error"] for d in letters)
    # an event of an envelope carries its own bytes, a single event its message
    originals = {d["event_id"]: orjson.loads(base64.b64decode(d["original_b64"])) for d in letters}
    assert all(originals[e["event_id"]] == e for e in events if e["event_id"] in poisoned)

    # the partition moved on: what comes next is stored too
    later = canonical_event(f"{nonce}-later", tenant, at, 10, 1)
    stack.publish([(tenant.encode(), orjson.dumps(later))])
    wait_until(lambda: any(r["event_id"] == later["event_id"] for r in stored()), 60, what="the later event")
    dead = stack.query("SELECT count() AS n FROM dead_letters WHERE tenant_id = {t:String} "
                       "AND error_type = 'store_refused'", t=tenant)  # fmt: skip
    assert dead[0]["n"] == len(poisoned)
    stack.assert_no_drift()
