"""The client's budget gate on the real embedded broker and worker: it allows a tenant
until the worker publishes a block for it, then denies, keeps allowing other tenants,
and allows again once the limit is raised."""

import asyncio
import json
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from costream_client.gate import BudgetGate, Decision
from tests.integration.helpers import keyed
from tests.integration.test_budgets_e2e import EVENT_COST, set_budget, spend_events
from tests.stack import Stack, free_port

pytestmark = pytest.mark.integration


async def until(predicate: Callable[[], bool], timeout: float, what: str, interval: float = 0.01) -> float:
    """Poll ``predicate``; the wall-clock time (epoch seconds) when it first held."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(interval)
    return time.time()


def test_the_gate_denies_a_blocked_tenant_and_allows_again_when_the_limit_is_raised(
        stack: Stack) -> None:  # fmt: skip
    spender, other = f"gate-{uuid.uuid4().hex[:8]}", f"gate-other-{uuid.uuid4().hex[:8]}"
    budget_id = f"{spender}-monthly"
    set_budget(stack, budget_id, spender, "month", "1.00")
    set_budget(stack, f"{other}-monthly", other, "month", "1.00")
    now = datetime.now(UTC)

    async def run() -> tuple[float, Decision, Decision, Decision, Decision, float | None]:
        async with BudgetGate(stack.settings.bootstrap_servers) as gate:
            assert await gate.wait_ready(60), gate.last_error
            assert gate.ready and gate.allowed(spender).allowed

            # $0.90 of $1.00 is past 80% (warn): still allowed; the other tenant spends $0.15
            events = spend_events(spender, 0, 6, now) + spend_events(other, 0, 1, now)
            await asyncio.to_thread(stack.publish, keyed(events))
            await until(lambda: (b := gate.view.budgets.get(budget_id)) is not None and b.state == "warn"
                        and (o := gate.view.budgets.get(f"{other}-monthly")) is not None and o.state == "ok",
                        60, "the warn status of the spender and the ok status of the other")  # fmt: skip
            warned = gate.allowed(spender)

            # $1.05 of $1.00: the 100% threshold is a block
            await asyncio.to_thread(stack.publish, keyed(spend_events(spender, 6, 1, now)))
            flipped_at = await until(lambda: not gate.allowed(spender), 60, "the gate to deny the spender")
            denied, others = gate.allowed(spender, {"feature": "chat"}), gate.allowed(other)
            stale = gate.staleness()

            # the limit raised to $3.00: the next status ($1.20, 40%) is ok and supersedes the breach
            await asyncio.to_thread(set_budget, stack, budget_id, spender, "month", "3.00")
            assert not gate.allowed(spender)  # nothing new from the worker yet
            await asyncio.to_thread(stack.publish, keyed(spend_events(spender, 7, 1, now)))
            await until(lambda: gate.allowed(spender).allowed, 60, "the gate to allow the spender again")
            return flipped_at, warned, denied, others, gate.allowed(spender), stale

    flipped_at, warned, denied, others, again, stale = asyncio.run(run())

    assert warned.allowed and warned.budget_id is None
    assert not denied.allowed and not denied
    assert denied.budget_id == budget_id and denied.state == "blocked"
    assert denied.spend_usd == 7 * EVENT_COST and denied.limit_usd == Decimal("1.00")
    assert denied.period_end is not None and denied.period_end > now
    assert budget_id in denied.reason and "1.05" in denied.reason
    assert others.allowed and others.tenant_id == other
    assert again.allowed and again.reason == "no budget of this tenant blocks"
    assert stale is not None  # it has read the topics

    [block] = [b for _, v in stack.read_topic(stack.settings.topic_breaches)
               if (b := json.loads(v))["tenant_id"] == spender and b["severity"] == "block"]  # fmt: skip
    # it denies because of that block, not before it was published
    assert flipped_at >= datetime.fromisoformat(block["emitted_at"]).timestamp()


def test_without_kafka_the_gate_is_not_ready_answers_its_fail_policy_and_never_blocks() -> None:
    async def run() -> tuple[Decision, Decision, bool, bool]:
        address = f"127.0.0.1:{free_port()}"
        async with BudgetGate(address) as open_gate, BudgetGate(address, fail_open=False) as closed_gate:
            # allowed() only reads memory: it answers at once with no broker (a blocking call would hang here)
            answers = (open_gate.allowed("acme"), closed_gate.allowed("acme"))
            await asyncio.sleep(0.5)
            return *answers, open_gate.ready, await open_gate.wait_ready(0.2)

    open_answer, closed_answer, ready, became_ready = asyncio.run(run())
    assert open_answer.allowed and not closed_answer.allowed
    assert "has not read" in closed_answer.reason and closed_answer.stale_seconds is None
    assert not ready and not became_ready
