from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from schemas.budgets import BreachKind, Budget, BudgetState, Period, Severity
from stream.budgets.evaluate import Contribution, PeriodSpend, evaluate, status
from stream.budgets.periods import period_bounds
from stream.budgets.registry import BudgetDefinitionError, BudgetRegistry, encode_budget, load_budget_file

NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("at", "period", "zone", "start", "end"),
    [
        (datetime(2026, 11, 22, 23, 59, 59, tzinfo=UTC), Period.DAY, "UTC",
         datetime(2026, 11, 22, tzinfo=UTC), datetime(2026, 11, 23, tzinfo=UTC)),
        # 23:30 UTC is already the next day in Paris (UTC+1 in November)
        (datetime(2026, 11, 22, 23, 30, tzinfo=UTC), Period.DAY, "Europe/Paris",
         datetime(2026, 11, 22, 23, tzinfo=UTC), datetime(2026, 11, 23, 23, tzinfo=UTC)),
        # weeks start on Monday; 2026-11-22 is a Sunday
        (datetime(2026, 11, 22, 10, tzinfo=UTC), Period.WEEK, "UTC",
         datetime(2026, 11, 16, tzinfo=UTC), datetime(2026, 11, 23, tzinfo=UTC)),
        (datetime(2026, 2, 28, 12, tzinfo=UTC), Period.MONTH, "UTC",
         datetime(2026, 2, 1, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC)),
        (datetime(2026, 12, 31, 23, tzinfo=UTC), Period.MONTH, "UTC",
         datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)),
        # the day DST starts in New York is 23 hours long
        (datetime(2026, 3, 8, 12, tzinfo=UTC), Period.DAY, "America/New_York",
         datetime(2026, 3, 8, 5, tzinfo=UTC), datetime(2026, 3, 9, 4, tzinfo=UTC)),
    ],
)
def test_calendar_periods_in_the_budget_timezone(
    at: datetime, period: Period, zone: str, start: datetime, end: datetime
) -> None:
    assert period_bounds(at, period, zone) == (start, end)


def budget(**overrides: object) -> Budget:
    return Budget.model_validate({"id": "b1", "tenant_id": "acme", "period": "month", "limit_usd": "100",
                                  **overrides})


def spend(amount: str, unpriced: dict[str, int] | None = None, latest: datetime | None = None) -> PeriodSpend:
    start, end = period_bounds(NOW, Period.MONTH, "UTC")
    return PeriodSpend(start, end, Decimal(amount), unpriced or {}, latest or start + timedelta(hours=1))


def test_crossing_several_thresholds_at_once_fires_each_in_order_naming_the_trigger() -> None:
    contributions = [Contribution("e1", NOW, Decimal("30")), Contribution("e2", NOW, Decimal("60"))]
    breaches = evaluate(budget(), spend("90", latest=NOW), contributions, fired=set(), now=NOW)
    thresholds = [b.threshold_percent for b in breaches if b.kind is BreachKind.THRESHOLD]
    assert thresholds == [Decimal(50), Decimal(80)]
    # spend before the batch was 0; e1 brings it to 30, e2 to 90: e2 crosses 50 and 80
    assert [b.triggering_event_id for b in breaches if b.kind is BreachKind.THRESHOLD] == ["e2", "e2"]
    assert all(b.severity is Severity.WARN for b in breaches)


def test_fired_breaches_are_not_repeated_and_ids_are_deterministic() -> None:
    first = evaluate(budget(), spend("100"), [], fired=set(), now=NOW)
    again = evaluate(budget(), spend("100"), [], fired=set(), now=NOW + timedelta(minutes=5))
    assert [b.breach_id for b in first] == [b.breach_id for b in again]
    assert len({b.breach_id for b in first}) == len(first) == 3
    assert evaluate(budget(), spend("120"), [], fired={b.breach_id for b in first}, now=NOW) == []
    assert first[-1].severity is Severity.BLOCK


def test_a_new_period_has_new_breach_ids() -> None:
    this_month = evaluate(budget(), spend("100"), [], set(), NOW)
    start, end = period_bounds(NOW + timedelta(days=31), Period.MONTH, "UTC")
    next_month = evaluate(budget(), PeriodSpend(start, end, Decimal(100), {}, start), [], set(), NOW)
    assert not {b.breach_id for b in this_month} & {b.breach_id for b in next_month}


def test_unpriced_usage_warns_once_per_model() -> None:
    breaches = evaluate(budget(), spend("1", {"mystery-model": 4}), [], set(), NOW)
    [warning] = breaches
    assert warning.kind is BreachKind.UNPRICED_USAGE
    assert (warning.unpriced_model, warning.unpriced_requests) == ("mystery-model", 4)
    assert evaluate(budget(), spend("1", {"mystery-model": 9}), [], {warning.breach_id}, NOW) == []


def test_projection_warns_when_the_rate_would_exceed_the_limit() -> None:
    start, end = period_bounds(NOW, Period.MONTH, "UTC")  # 30 days
    ten_days = start + timedelta(days=10)
    fast = evaluate(budget(), PeriodSpend(start, end, Decimal(40), {}, ten_days), [], set(), NOW)
    assert [b.kind for b in fast] == [BreachKind.PROJECTED]
    assert fast[0].projected_spend_usd == Decimal(120)  # 40 over 10 days -> 120 over 30
    slow = evaluate(budget(), PeriodSpend(start, end, Decimal(30), {}, ten_days), [], set(), NOW)
    assert slow == []


def test_status_follows_the_highest_threshold_reached() -> None:
    assert status(budget(), spend("10"), NOW).state is BudgetState.OK
    assert status(budget(), spend("85"), NOW).state is BudgetState.WARN
    blocked = status(budget(), spend("100"), NOW)
    assert (blocked.state, blocked.percent_used) == (BudgetState.BLOCKED, Decimal("100.00"))


@pytest.mark.parametrize(
    ("entry", "named"),
    [
        ({"id": "x", "tenant_id": "t", "period": "year", "limit_usd": 1}, "period"),
        ({"id": "x", "tenant_id": "t", "period": "day", "limit_usd": 0}, "limit_usd"),
        ({"id": "x", "tenant_id": "t", "period": "day", "limit_usd": 1, "timezone": "Mars/Base"}, "timezone"),
        ({"id": "x", "tenant_id": "t", "period": "day", "limit_usd": 1, "scope": {"attribute": "feature"}},
         "scope"),
    ],
)
def test_invalid_budgets_are_rejected_with_a_reason(tmp_path: Path, entry: dict[str, object], named: str) -> None:
    import yaml

    path = tmp_path / "budgets.yaml"
    path.write_text(yaml.safe_dump({"budgets": [entry]}))
    with pytest.raises(BudgetDefinitionError) as caught:
        load_budget_file(path)
    assert "budgets[0]" in str(caught.value) and named in str(caught.value)


def test_registry_applies_topic_records_including_deletes_and_rejects() -> None:
    registry = BudgetRegistry()
    registry.apply(b"b1", encode_budget(budget()))
    registry.apply(b"b2", encode_budget(budget(id="b2", tenant_id="globex")))
    registry.apply(b"b1", encode_budget(budget(limit_usd="250")))
    assert [b.limit_usd for b in registry.for_tenant("acme")] == [Decimal(250)]
    registry.apply(b"b2", None)
    assert registry.for_tenant("globex") == []
    registry.apply(b"b3", b'{"id": "b3"}')
    assert len(registry) == 1 and "b3" in registry.rejected[0]


async def test_after_a_partition_assignment_breaches_are_read_again_before_the_next_check() -> None:
    """A tenant moved from another worker: what that worker published must be known first."""
    from stream.budgets.enforcer import BudgetEnforcer

    topic: list[tuple[bytes | None, bytes | None]] = [(b"t", b'{"breach_id": "b-1"}')]
    reads = 0

    async def read_breaches() -> list[tuple[bytes | None, bytes | None]]:
        nonlocal reads
        reads += 1
        return list(topic)

    async def publish(_: object) -> None:
        raise AssertionError("nothing to publish")

    enforcer = BudgetEnforcer(BudgetRegistry([]), None, publish, publish, read_breaches)  # type: ignore[arg-type]
    enforcer.ready.set()
    await enforcer.check([], lambda touch: None)  # type: ignore[arg-type,return-value]
    assert reads == 0  # no assignment yet: nothing to re-read
    topic.append((b"t", b'{"breach_id": "b-2"}'))  # published by the previous owner meanwhile
    enforcer.partitions_assigned()
    await enforcer.check([], lambda touch: None)  # type: ignore[arg-type,return-value]
    assert reads == 1 and set(enforcer.fired) == {"b-1", "b-2"} and not enforcer.stale
