"""SIGKILL the worker three times while events flow (200,000 in envelopes of 100, and
40,000 single-event messages): afterwards every total and budget equals what is computed
here, no row is missing or doubled, each breach fired once and in threshold order, a retry
with a re-stamped occurred_at counts once, and the worker's state has no drift from the
store."""

import json
import signal
import threading
import uuid
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import orjson
import pytest

from tests.integration.helpers import canonical_event, gpt_4o_mini_cost
from tests.integration.test_budgets_e2e import set_budget
from tests.stack import Stack, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TENANTS = 4


@pytest.mark.parametrize(("total", "envelope"), [(200_000, 100), (40_000, 1)], ids=["envelopes", "single"])
def test_three_sigkills_mid_stream_lose_nothing_and_count_nothing_twice(
    stack: Stack, total: int, envelope: int
) -> None:
    nonce = uuid.uuid4().hex[:8]
    tenants = [f"crash-{nonce}-{n}" for n in range(TENANTS)]
    at = datetime.now(UTC)
    expected: dict[str, Decimal] = defaultdict(Decimal)
    envelopes: list[tuple[bytes, bytes]] = []
    first_sent: list[dict[str, object]] = []  # tenants[0]'s events, in the order sent
    for start in range(0, total, envelope):
        tenant = tenants[(start // envelope) % TENANTS]
        batch = [canonical_event(f"{nonce}-{n}", tenant, at, 1000 + n % 5000, 100 + n % 300, cached=n % 3 * 100)
                 for n in range(start, start + envelope)]
        if tenant == tenants[0]:
            first_sent += batch
        for e in batch:
            u = e["usage"]
            expected[tenant] += gpt_4o_mini_cost(u["input_tokens"], u["cache_read_tokens"], u["output_tokens"])
        if envelope == 1:
            envelopes.append((tenant.encode(), orjson.dumps(batch[0])))
        else:
            envelopes.append((tenant.encode(), orjson.dumps({"events": batch})))
    # Mid-stream, a producer retries 50 events it already sent, re-stamping occurred_at
    # (30 s later) and with its fields in another order: they must count once, as first sent.
    retries = [dict(reversed(list({**e, "occurred_at": (at + timedelta(seconds=30)).isoformat()}.items())))
               for e in first_sent[:50]]
    retry_messages = [(tenants[0].encode(), orjson.dumps(r)) for r in retries] if envelope == 1 else [
        (tenants[0].encode(), orjson.dumps({"events": retries}))]
    middle = len(envelopes) // 2
    envelopes[middle:middle] = retry_messages
    # each tenant's monthly budget is crossed at 50%, 80% and 100% along the way
    for tenant in tenants:
        set_budget(stack, f"{tenant}-month", tenant, "month", str((expected[tenant] * Decimal("0.9")).quantize(
            Decimal("0.000001"))))

    def processed() -> int:  # events taken by the running worker: new ones and repeats
        stats = stack.stats()
        return stats["events_priced"] + stats["duplicates"]

    # The stream goes out in four parts; each kill lands while a part is being published
    # and consumed, so every kill is mid-stream however fast the worker drains.
    quarter = -(-len(envelopes) // 4)
    parts = [envelopes[i : i + quarter] for i in range(0, len(envelopes), quarter)]
    for kill, part in enumerate(parts):
        publisher = threading.Thread(target=lambda part=part: stack.publish(part), daemon=True)
        publisher.start()
        if kill < 3:
            baseline = processed()
            step = total * 3 // 40  # 15,000 of 200,000: within the part being sent
            wait_until(lambda baseline=baseline, step=step: processed() >= baseline + step, 180,
                       what=f"progress before kill {kill + 1}")
            stack.stop_worker(signal.SIGKILL)
            stack.start_worker()
        publisher.join(300)
        assert not publisher.is_alive()

    def totals() -> dict[str, tuple[int, Decimal]]:
        rows = stack.query(
            "SELECT tenant_id, count() AS n, sum(total_cost) AS cost FROM usage_events FINAL "
            "WHERE tenant_id IN {t:Array(String)} GROUP BY tenant_id", t=tenants,
        )
        return {r["tenant_id"]: (int(r["n"]), Decimal(r["cost"])) for r in rows}

    want = {t: (total // TENANTS, expected[t]) for t in tenants}
    wait_until(lambda: totals() == want, 300, interval=2, what="every event stored exactly once")
    ids = stack.query("SELECT count() AS n, uniqExact(event_id) AS ids FROM usage_events FINAL "
                      "WHERE tenant_id IN {t:Array(String)}", t=tenants)[0]
    assert ids["n"] == ids["ids"] == total

    for tenant in tenants:
        wait_until(lambda tenant=tenant: Decimal(stack.query(
            "SELECT sum(total_cost) AS c FROM usage_windows FINAL WHERE tenant_id = {t:String}", t=tenant,
        )[0]["c"] or 0) == expected[tenant], 120, interval=1, what=f"windows of {tenant}")

    breaches = [json.loads(v) for _, v in stack.read_topic(stack.settings.topic_breaches)]
    ours = [b for b in breaches if b["tenant_id"] in tenants and b["kind"] == "threshold"]
    assert not [i for i, n in Counter(b["breach_id"] for b in ours).items() if n > 1], "a breach fired twice"
    per_tenant = Counter(b["tenant_id"] for b in ours)
    assert per_tenant == {t: 3 for t in tenants}
    for tenant in tenants:
        percents = [Decimal(b["threshold_percent"]) for b in ours if b["tenant_id"] == tenant]
        assert percents == [50, 80, 100]

    # the priced topic has every event at least once (a kill between storing and
    # publishing is made good by the worker that takes over)
    on_topic = {e["event_id"] for e in (orjson.loads(v) for _, v in stack.read_topic(stack.settings.topic_priced))
                if e["tenant_id"] in tenants}
    assert len(on_topic) == total

    conflicts = stack.query("SELECT uniqExact(event_id) AS n, groupUniqArrayArray(differing) AS fields "
                            "FROM duplicate_events FINAL WHERE tenant_id = {t:String}", t=tenants[0])[0]
    assert conflicts["n"] == 50 and conflicts["fields"] == ["occurred_at"]

    def latest_spend() -> dict[str, Decimal]:  # budget id -> spend of its latest status
        return {budget: Decimal(status["spend_usd"]) for budget, status in stack.budget_statuses().items()
                if status["tenant_id"] in tenants}  # fmt: skip

    wait_until(lambda: latest_spend() == {f"{t}-month": expected[t] for t in tenants}, 60, interval=1,
               what="every budget's latest status to hold its whole spend")
    stack.assert_no_drift()
