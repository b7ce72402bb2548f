"""Budgets on the real embedded stack: breaches once each, in order, across a SIGKILL,
a full replay, a limit changed at run time, and a period boundary."""

import json
import signal
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from tests.integration.helpers import canonical_event, gpt_4o_mini_cost, keyed
from tests.stack import Stack, wait_until

pytestmark = pytest.mark.integration

# One event of 1,000,000 input tokens of gpt-4o-mini costs $0.15 (stated rate).
EVENT_COST = gpt_4o_mini_cost(1_000_000, 0, 0)


def costream(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([sys.executable, "-m", "stream.cli.main", *args], env=stack.env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result


def breaches(stack: Stack, tenant: str) -> list[dict[str, Any]]:
    found = [json.loads(value) for _, value in stack.read_topic(stack.settings.topic_breaches)]
    return [b for b in found if b["tenant_id"] == tenant]


def set_budget(stack: Stack, budget_id: str, tenant: str, period: str, limit: str) -> None:
    costream(stack, "budgets", "set", "--id", budget_id, "--tenant", tenant, "--period", period, "--limit", limit)
    listed = json.loads(costream(stack, "budgets", "list", "--tenant", tenant, "--format", "json").stdout)
    assert any(b["id"] == budget_id and Decimal(b["limit_usd"]) == Decimal(limit) for b in listed)
    wait_until(
        lambda: any(b["id"] == budget_id and Decimal(b["limit_usd"]) == Decimal(limit)
                    for b in stack.http("/v1/budgets")),
        30, what=f"the worker to apply budget {budget_id}",
    )


def spend_events(tenant: str, start: int, count: int, at: datetime) -> list[dict[str, Any]]:
    return [canonical_event(f"{tenant}-{n}", tenant, at, 1_000_000, 0) for n in range(start, start + count)]


def threshold_breaches(stack: Stack, tenant: str) -> list[dict[str, Any]]:
    return [b for b in breaches(stack, tenant) if b["kind"] == "threshold"]


def test_thresholds_fire_once_in_order_through_crash_replay_and_limit_change(stack: Stack) -> None:
    tenant = f"budget-{uuid.uuid4().hex[:8]}"
    now = datetime.now(UTC)
    set_budget(stack, f"{tenant}-monthly", tenant, "month", "1.00")
    assert Decimal("0.15") == EVENT_COST

    # 4 events = $0.60 (past 50%), 6 = $0.90 (past 80%), 7 = $1.05 (past 100%)
    all_events = spend_events(tenant, 0, 7, now)
    stack.publish(keyed(all_events[:4]))
    wait_until(lambda: len(threshold_breaches(stack, tenant)) == 1, 60, what="the 50% breach")
    stack.publish(keyed(all_events[4:6]))
    wait_until(lambda: len(threshold_breaches(stack, tenant)) == 2, 60, what="the 80% breach")
    stack.publish(keyed(all_events[6:]))
    fired = wait_until(lambda: (b := threshold_breaches(stack, tenant)) and len(b) == 3 and b, 60)

    assert [Decimal(b["threshold_percent"]) for b in fired] == [50, 80, 100]
    assert [b["severity"] for b in fired] == ["warn", "warn", "block"]
    assert [b["triggering_event_id"] for b in fired] == [f"{tenant}-3", f"{tenant}-5", f"{tenant}-6"]
    assert Decimal(fired[2]["spend_usd"]) == 7 * EVENT_COST
    assert len({b["breach_id"] for b in fired}) == 3

    # killed right after the crossing, restarted: nothing is published twice
    stack.stop_worker(signal.SIGKILL)
    stack.start_worker()
    stack.publish(keyed(spend_events(tenant, 7, 1, now)))
    wait_until(lambda: stack.query("SELECT count() AS n FROM usage_events WHERE tenant_id = {t:String}",
                                   t=tenant)[0]["n"] == 8, 60)
    # the whole stream again: no new breach
    processed = stack.stats()["messages"]
    stack.publish(keyed(all_events))
    wait_until(lambda: stack.stats()["messages"] >= processed + len(all_events), 60)
    assert threshold_breaches(stack, tenant) == fired

    # the limit raised at run time takes effect without a restart: $1.20 spent is 40% of $3
    set_budget(stack, f"{tenant}-monthly", tenant, "month", "3.00")
    stack.publish(keyed(spend_events(tenant, 8, 3, now)))  # $1.65 = 55% of $3.00
    wait_until(lambda: len(threshold_breaches(stack, tenant)) == 4, 60, what="a breach of the new limit")
    newest = threshold_breaches(stack, tenant)[-1]
    assert (Decimal(newest["threshold_percent"]), Decimal(newest["limit_usd"])) == (50, Decimal("3.00"))

    # the compacted status topic holds the latest state of the budget (published after the
    # breach, so it may land a moment later)
    latest = wait_until(lambda: (s := stack.budget_statuses().get(f"{tenant}-monthly")) and s["state"] == "warn" and s,
                        30, what="the warn status of the raised limit")  # fmt: skip
    assert Decimal(latest["spend_usd"]) == 11 * EVENT_COST


def test_a_new_day_starts_from_zero_and_unpriced_usage_warns(stack: Stack) -> None:
    tenant = f"daily-{uuid.uuid4().hex[:8]}"
    set_budget(stack, f"{tenant}-daily", tenant, "day", "0.50")
    today = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    yesterday = today - timedelta(days=1)
    stack.publish(keyed(spend_events(tenant, 0, 4, yesterday)))  # $0.60 yesterday: 120%
    stack.publish(keyed(spend_events(tenant, 100, 1, today)))  # $0.15 today: 30%
    unknown = canonical_event(f"{tenant}-mystery", tenant, today, 1000, 10)
    unknown["model"] = "mystery-model-9000"
    stack.publish(keyed([unknown]))
    wait_until(lambda: any(b["kind"] == "unpriced_usage" for b in breaches(stack, tenant)), 60)
    wait_until(lambda: len(threshold_breaches(stack, tenant)) == 3, 60)
    by_period = {b["period_start"][:10] for b in threshold_breaches(stack, tenant)}
    assert by_period == {yesterday.date().isoformat()}
    [warning] = [b for b in breaches(stack, tenant) if b["kind"] == "unpriced_usage"]
    assert warning["unpriced_model"] == "mystery-model-9000"
