"""Budgets that ``up --demo`` defines, so that a new user sees enforcement within a
minute: limits are set just above what each demo tenant already spent in the current
period (the data directory may hold earlier runs), at the demo's rate of spend."""

from datetime import UTC, datetime
from decimal import ROUND_CEILING, Decimal

from schemas.budgets import Budget, Period, Severity, Threshold
from stream.budgets.periods import period_bounds
from stream.budgets.spend import period_spend
from stream.store.client import ClickHouseStore

# (id, tenant, period, headroom in USD above the period's spend so far, thresholds).
# At the demo's 40 events/s a tenant spends roughly $5 a minute: acme crosses 50% and 80%
# (warn) and 100% (block) in about half a minute, globex warns within a minute, initech
# stays ok.
DEMO_BUDGETS: tuple[tuple[str, str, Period, Decimal, tuple[Threshold, ...] | None], ...] = (
    ("demo-acme-daily", "acme", Period.DAY, Decimal("2.50"), None),
    ("demo-globex-daily", "globex", Period.DAY, Decimal("6"),
     (Threshold(percent=Decimal(50), severity=Severity.WARN),
      Threshold(percent=Decimal(150), severity=Severity.BLOCK))),
    ("demo-initech-monthly", "initech", Period.MONTH, Decimal("1000"), None),
)
CENT = Decimal("0.01")


async def demo_budgets(store: ClickHouseStore, now: datetime | None = None) -> list[Budget]:
    now = now or datetime.now(UTC)
    budgets = []
    for budget_id, tenant, period, headroom, thresholds in DEMO_BUDGETS:
        draft = Budget(id=budget_id, tenant_id=tenant, period=period, limit_usd=headroom)
        start, end = period_bounds(now, period, draft.timezone)
        spent = (await period_spend(store, draft, start, end)).spend
        limit = (spent + headroom).quantize(CENT, rounding=ROUND_CEILING)
        extra = {"thresholds": thresholds} if thresholds else {}
        budgets.append(Budget(id=budget_id, tenant_id=tenant, period=period, limit_usd=limit, **extra))
    return budgets
