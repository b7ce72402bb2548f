"""The budget gate's view, fed the worker's own status and breach payloads: which budget
blocks, when a period's end lifts a block, scopes, tombstones and configurable states."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from costream_client.gate import GateView
from schemas.budgets import BreachKind, BudgetBreach, BudgetScope, BudgetState, BudgetStatus, Period, Severity

NOW = datetime(2026, 10, 15, 12, tzinfo=UTC)
START, END = datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC)


def status(budget: str, tenant: str, state: BudgetState, at: datetime = NOW, end: datetime = END,
           scope: BudgetScope | None = None, spend: str = "1.05") -> tuple[bytes, bytes]:  # fmt: skip
    document = BudgetStatus(
        budget_id=budget, tenant_id=tenant, scope=scope or BudgetScope(), state=state, period=Period.MONTH,
        period_start=START, period_end=end, spend_usd=Decimal(spend), limit_usd=Decimal("1.00"),
        percent_used=Decimal(105), unpriced_requests=0, updated_at=at,
    )  # fmt: skip
    return budget.encode(), document.model_dump_json().encode()


def breach(budget: str, tenant: str, severity: Severity, at: datetime = NOW, end: datetime = END) -> bytes:
    return BudgetBreach(
        breach_id=f"{budget}-{severity}", kind=BreachKind.THRESHOLD, budget_id=budget, tenant_id=tenant,
        scope=BudgetScope(), period=Period.MONTH, period_start=START, period_end=end,
        threshold_percent=Decimal(100), severity=severity, limit_usd=Decimal("1.00"), spend_usd=Decimal("1.05"),
        triggering_event_id="e-7", crossed_at=at, emitted_at=at,
    ).model_dump_json().encode()  # fmt: skip


def test_a_blocked_status_denies_its_tenant_only_and_names_the_budget() -> None:
    view = GateView()
    view.apply_status(*status("acme-monthly", "acme", BudgetState.BLOCKED))
    view.apply_status(*status("globex-monthly", "globex", BudgetState.WARN))
    denied = view.decide("acme", now=NOW)
    assert not denied.allowed and denied.budget_id == "acme-monthly" and denied.state == "blocked"
    assert denied.spend_usd == Decimal("1.05") and denied.period_end == END
    assert view.decide("globex", now=NOW).allowed
    assert view.decide("initech", now=NOW).reason == "no budget of this tenant is known"


def test_a_block_breach_denies_until_a_later_status_says_otherwise() -> None:
    view = GateView()
    view.apply_status(*status("acme-monthly", "acme", BudgetState.WARN, at=NOW - timedelta(minutes=1)))
    view.apply_breach(breach("acme-monthly", "acme", Severity.BLOCK))
    assert not view.decide("acme", now=NOW).allowed
    # the limit raised: the worker's next status is ok, and newer than the breach
    view.apply_status(*status("acme-monthly", "acme", BudgetState.OK, at=NOW + timedelta(seconds=5), spend="1.20"))
    assert view.decide("acme", now=NOW + timedelta(seconds=6)).allowed


def test_a_warn_breach_does_not_block_unless_warn_is_configured_to() -> None:
    view, strict = GateView(), GateView(blocking_states=("warn", "blocked"), blocking_severities=("warn", "block"))
    for gate in (view, strict):
        gate.apply_breach(breach("acme-monthly", "acme", Severity.WARN))
        gate.apply_status(*status("acme-monthly", "acme", BudgetState.WARN, at=NOW - timedelta(seconds=1)))
    assert view.decide("acme", now=NOW).allowed
    assert not strict.decide("acme", now=NOW).allowed


def test_the_end_of_the_period_lifts_the_block() -> None:
    view = GateView()
    view.apply_status(*status("acme-daily", "acme", BudgetState.BLOCKED, end=NOW + timedelta(hours=1)))
    view.apply_breach(breach("acme-daily", "acme", Severity.BLOCK, end=NOW + timedelta(hours=1)))
    assert not view.decide("acme", now=NOW + timedelta(minutes=59)).allowed
    assert view.decide("acme", now=NOW + timedelta(hours=1)).allowed


def test_a_scoped_budget_blocks_only_calls_with_its_attribute_value() -> None:
    view = GateView()
    view.apply_status(*status("acme-search", "acme", BudgetState.BLOCKED,
                              scope=BudgetScope(attribute="feature", value="search")))  # fmt: skip
    assert not view.decide("acme", {"feature": "search"}, now=NOW).allowed
    assert view.decide("acme", {"feature": "chat"}, now=NOW).allowed
    assert view.decide("acme", now=NOW).allowed


def test_a_tombstone_deletes_the_budget_and_garbage_is_skipped() -> None:
    view = GateView()
    view.apply_status(*status("acme-monthly", "acme", BudgetState.BLOCKED))
    view.apply_status(b"acme-monthly", None)
    assert view.decide("acme", now=NOW).reason == "no budget of this tenant is known"
    view.apply_status(b"x", b"not json")
    view.apply_breach(b"[1, 2]")
    assert view.skipped == 2 and not view.budgets
