"""ClickHouse refuses every insert for a while: the worker retries with backoff, takes no
more messages, commits no offset past unstored rows, and loses nothing once it is back."""

import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import orjson
import pytest

from tests.faults.drills import committed_offsets, lag
from tests.integration.helpers import canonical_event, gpt_4o_mini_cost
from tests.stack import Stack, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_store_outage_applies_backpressure_and_loses_nothing(stack: Stack) -> None:
    tenant = f"outage-{uuid.uuid4().hex[:8]}"
    at = datetime.now(UTC)
    events = [canonical_event(f"{tenant}-{n}", tenant, at, 1000 + n, 10) for n in range(3000)]
    expected = sum(gpt_4o_mini_cost(e["usage"]["input_tokens"], 0, 10) for e in events)

    def stored() -> tuple[int, Decimal]:
        row = stack.query("SELECT count() AS n, sum(total_cost) AS cost FROM usage_events WHERE tenant_id = {t:String}",
                          t=tenant)[0]
        return int(row["n"]), Decimal(row["cost"] or 0)

    # earlier traffic fully stored and committed first: from here, no offset may move
    wait_until(lambda: lag(stack) == 0, 120, what="earlier traffic to be committed")
    time.sleep(2)  # past a commit interval
    before = committed_offsets(stack)
    failures_before = stack.stats()["insert_failures"]
    stack.insert_fault.touch()
    try:
        stack.publish([(tenant.encode(), orjson.dumps({"events": events[n:n + 100]})) for n in range(0, 3000, 100)])
        wait_until(lambda: stack.stats()["insert_failures"] >= failures_before + 3, 60,
                   what="inserts to fail while the store is down")
        time.sleep(3)  # several commit intervals: nothing may commit past the unstored rows
        during = committed_offsets(stack)
        assert during == before, "offsets advanced while nothing could be stored"
        assert stored() == (0, Decimal(0))
        assert stack.ready()  # the worker is alive and still owns its partitions
    finally:
        stack.insert_fault.unlink(missing_ok=True)

    wait_until(lambda: stored() == (len(events), expected), 120, interval=1, what="every event stored after the outage")
    rows = stack.query("SELECT count() AS n, uniqExact(event_id) AS ids FROM usage_events FINAL "
                       "WHERE tenant_id = {t:String}", t=tenant)[0]
    assert rows["n"] == rows["ids"] == len(events)
    wait_until(lambda: committed_offsets(stack) != before, 30, what="offsets to advance once stored")
    stack.assert_no_drift()
