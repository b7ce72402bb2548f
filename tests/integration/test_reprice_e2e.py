"""`costream reprice` end to end on the embedded stack, through the running worker: events
priced, a price change lands, reprice, then events, windows, rollups and budget status all
carry the new price, exactly; a correction that crosses a threshold fires it once, one
that lowers spend fires nothing and updates the status, and a second run changes nothing.
Expected costs come from the rates stated here."""

import json
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import yaml

from tests.integration.helpers import keyed
from tests.integration.test_budgets_e2e import set_budget, threshold_breaches
from tests.stack import Stack, wait_until

pytestmark = pytest.mark.integration

MTOK = 1_000_000


def costream(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "stream.cli.main", *args], env=stack.env,
                          capture_output=True, text=True, timeout=300)  # fmt: skip


def reprice(stack: Stack, *args: str) -> dict[str, Any]:
    result = costream(stack, "reprice", *args, "--format", "json")
    assert result.returncode == 0, result.stderr
    answer: dict[str, Any] = json.loads(result.stdout)
    return answer


def price(stack: Stack, model: str, input_rate: str) -> None:
    stack.price_overrides.write_text(yaml.safe_dump({"overrides": [
        {"provider": "openai", "model": model, "effective_from": "2026-01-01T00:00:00Z",
         "rates": {"input": input_rate, "output": "0"}},
    ]}))  # fmt: skip


def total(stack: Stack, table: str, tenant: str) -> tuple[Decimal, int]:
    count = "count()" if table == "usage_events" else "sum(requests)"
    (row,) = stack.query(f"SELECT toString(ifNull(sum(total_cost), 0)) AS usd, {count} AS n FROM {table} FINAL "
                         "WHERE tenant_id = {t:String}", t=tenant)  # fmt: skip
    return Decimal(row["usd"]), int(row["n"])


def test_reprice_through_the_worker_corrects_history_and_budgets(stack: Stack) -> None:
    tenant = f"reprice-{uuid.uuid4().hex[:8]}"
    model = f"reprice-{uuid.uuid4().hex[:6]}"
    budget = f"{tenant}-monthly"
    since = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    try:
        price(stack, model, "2")  # $2 per MTok of input
        set_budget(stack, budget, tenant, "month", "10")
        at = datetime.now(UTC) - timedelta(seconds=30)
        events = [{"event_id": f"{tenant}-{n}", "tenant_id": tenant, "occurred_at": at.isoformat(),
                   "provider": "openai", "model": model, "usage": {"input_tokens": MTOK, "output_tokens": 0},
                   "attributes": {"feature": "chat"}} for n in range(4)]  # fmt: skip

        # wait until the worker prices with $2 (it reloads the overrides file every few seconds)
        probes = iter(range(1000))

        def priced_at_two() -> bool:
            probe = {**events[0], "tenant_id": f"{tenant}-probe", "event_id": f"probe-{next(probes)}"}
            stack.publish(keyed([probe]))
            return wait_until(lambda: stack.query(
                "SELECT toString(total_cost) AS usd FROM usage_events WHERE tenant_id = {t:String} "
                "AND event_id = {e:String}", t=probe["tenant_id"], e=probe["event_id"]), 30)[0]["usd"] == "2"

        wait_until(priced_at_two, 60, interval=2, what="the worker to price the model at $2")
        stack.publish(keyed(events))
        wait_until(lambda: total(stack, "usage_events", tenant) == (Decimal(8), 4), 60, what="4 events at $2")
        wait_until(lambda: len(threshold_breaches(stack, tenant)) == 2, 60, what="the 50% and 80% breaches")
        wait_until(lambda: total(stack, "usage_rollup_day", tenant) == (Decimal(8), 4), 60, what="the rollups")

        # The price was wrong: $3 per MTok. Reprice once the worker has the new catalog.
        price(stack, model, "3")
        dry = wait_until(lambda: (d := reprice(stack, "--since", since, "--tenant", tenant, "--dry-run"))
                         ["changed"] == 4 and d, 60, what="the worker to reload the prices")  # fmt: skip
        assert (Decimal(dry["old_total_usd"]), Decimal(dry["new_total_usd"])) == (8, 12)
        assert total(stack, "usage_events", tenant) == (Decimal(8), 4)  # a dry run writes nothing

        run = reprice(stack, "--since", since, "--tenant", tenant, "--model", model)
        assert (run["events"], run["changed"], run["windows_refreshed"]) == (4, 4, 1)
        (group,) = run["groups"]
        assert (group["tenant_id"], group["model"]) == (tenant, model)
        assert [Decimal(group[k]) for k in ("old_total_usd", "new_total_usd", "delta_usd")] == [8, 12, 4]
        assert [Decimal(b["threshold_percent"]) for b in run["breaches"] if b["kind"] == "threshold"] == [100]

        for table in ("usage_events", "usage_windows", "usage_rollup_hour", "usage_rollup_day"):
            assert total(stack, table, tenant) == (Decimal(12), 4), table
        (status,) = [s for s in stack.http("/v1/budgets/status") if s["budget_id"] == budget]
        assert (Decimal(status["spend_usd"]), status["state"]) == (12, "blocked")
        fired = wait_until(lambda: (b := threshold_breaches(stack, tenant)) and len(b) == 3 and b, 30)
        assert [Decimal(b["threshold_percent"]) for b in fired] == [50, 80, 100]
        assert fired[2]["triggering_event_id"] == f"{tenant}-1"  # its correction carried spend over $10
        (audit,) = stack.query("SELECT toString(old_total) AS old, toString(new_total) AS new, changed "
                               "FROM reprice_runs FINAL WHERE run_id = {r:String}", r=run["run_id"])  # fmt: skip
        assert (Decimal(audit["old"]), Decimal(audit["new"]), audit["changed"]) == (8, 12, 4)
        stack.assert_no_drift()  # the worker's held windows and spend were repaired in the same pass

        again = reprice(stack, "--since", since, "--tenant", tenant)
        assert (again["changed"], again["breaches"]) == (0, [])
        assert total(stack, "usage_windows", tenant) == (Decimal(12), 4)

        # Lower: $1 per MTok. Nothing fires; the status says ok.
        price(stack, model, "1")
        wait_until(lambda: reprice(stack, "--since", since, "--tenant", tenant, "--dry-run")["changed"] == 4, 60)
        lowered = reprice(stack, "--since", since, "--tenant", tenant)
        assert (Decimal(lowered["new_total_usd"]), lowered["breaches"]) == (4, [])
        for table in ("usage_events", "usage_windows", "usage_rollup_hour", "usage_rollup_day"):
            assert total(stack, table, tenant) == (Decimal(4), 4), table
        (status,) = [s for s in stack.http("/v1/budgets/status") if s["budget_id"] == budget]
        assert (Decimal(status["spend_usd"]), status["state"]) == (4, "ok")
        latest = stack.budget_statuses()[budget]
        assert (Decimal(latest["spend_usd"]), latest["state"]) == (4, "ok")
        assert len(threshold_breaches(stack, tenant)) == 3
        stack.assert_no_drift()

        table = costream(stack, "reprice", "--since", since, "--tenant", tenant, "--dry-run")
        assert table.returncode == 0 and "0 of 4 event(s) would change" in table.stdout, table.stderr
        bad = costream(stack, "reprice", "--since", "yesterday-ish")
        assert bad.returncode != 0 and "Traceback" not in bad.stderr and "since" in bad.stderr
    finally:
        stack.price_overrides.write_text("overrides: []\n")
