"""Windows on the real embedded stack: out-of-order and late events, duplicates, and a
worker killed (SIGKILL) mid-stream; current windows equal the events to the last digit."""

import random
import signal
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from tests.integration.helpers import canonical_event, gpt_4o_mini_cost, keyed
from tests.stack import Stack, wait_until

pytestmark = pytest.mark.integration


def test_window_totals_equal_event_totals_through_disorder_duplicates_and_a_crash(stack: Stack) -> None:
    rng = random.Random(2024)
    nonce = uuid.uuid4().hex[:8]
    tenants = [f"win-{nonce}-{n}" for n in range(3)]
    base = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=30)
    events = []
    for n in range(600):
        # out of order within 20 minutes, plus some very late ones an hour and a day back
        offset = timedelta(seconds=rng.randint(0, 1200))
        if n % 50 == 0:
            offset = -timedelta(hours=1 if n % 100 else 24)
        events.append(canonical_event(
            f"{nonce}-{n}", rng.choice(tenants), base + offset, rng.randint(100, 50_000), rng.randint(1, 4000),
            cached=rng.choice((0, 64)), feature=rng.choice(("chat", "search")),
        ))
    rng.shuffle(events)
    duplicates = rng.sample(events, 80)
    expected: dict[str, Decimal] = defaultdict(Decimal)
    counts: dict[str, int] = defaultdict(int)
    for event in events:
        usage = event["usage"]
        expected[event["tenant_id"]] += gpt_4o_mini_cost(
            usage["input_tokens"], usage["cache_read_tokens"], usage["output_tokens"]
        )
        counts[event["tenant_id"]] += 1

    stack.publish(keyed(events[:300] + duplicates[:40]))
    wait_until(lambda: stack.stats()["messages"] > 0, 30)
    stack.stop_worker(signal.SIGKILL)
    stack.publish(keyed(events[300:] + duplicates[40:]))
    stack.start_worker()

    def windows_by_tenant() -> dict[str, tuple[Decimal, int]]:
        rows = stack.query(
            "SELECT tenant_id, sum(total_cost) AS cost, sum(requests) AS n FROM usage_windows FINAL "
            "WHERE tenant_id IN {tenants:Array(String)} GROUP BY tenant_id", tenants=tenants,
        )
        return {row["tenant_id"]: (Decimal(row["cost"]), int(row["n"])) for row in rows}

    want = {tenant: (expected[tenant], counts[tenant]) for tenant in tenants}
    wait_until(lambda: windows_by_tenant() == want, 90, interval=1, what="windows to converge")

    events_by_tenant = stack.query(
        "SELECT tenant_id, sum(total_cost) AS cost, count() AS n FROM usage_events "
        "WHERE tenant_id IN {tenants:Array(String)} GROUP BY tenant_id", tenants=tenants,
    )
    assert {r["tenant_id"]: (Decimal(r["cost"]), int(r["n"])) for r in events_by_tenant} == want

    rollups = stack.query(
        "SELECT tenant_id, sum(total_cost) AS cost FROM usage_rollup_day FINAL "
        "WHERE tenant_id IN {tenants:Array(String)} GROUP BY tenant_id", tenants=tenants,
    )
    assert {r["tenant_id"]: Decimal(r["cost"]) for r in rollups} == {t: expected[t] for t in tenants}

    # the late events (a day back) are in closed windows that were corrected, not dropped
    late = stack.query(
        "SELECT count() AS n FROM usage_windows FINAL WHERE tenant_id IN {tenants:Array(String)} "
        "AND window_start < {cutoff:DateTime64(3, 'UTC')} AND NOT partial AND requests > 0",
        tenants=tenants, cutoff=(base - timedelta(hours=12)).strftime("%Y-%m-%d %H:%M:%S"),
    )
    assert late[0]["n"] > 0
