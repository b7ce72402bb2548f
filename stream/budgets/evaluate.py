"""Deciding which breaches a new spend figure causes (pure)."""

import hashlib
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from schemas.budgets import BreachKind, Budget, BudgetBreach, BudgetState, BudgetStatus, Severity
from schemas.money import MONEY_CONTEXT
from stream.budgets.periods import linear_projection

HUNDRED = Decimal(100)
# A projection needs some history: none before this share of the period has elapsed.
MIN_ELAPSED_FOR_PROJECTION = Decimal("0.1")


def breach_id(budget_id: str, period_start: datetime, kind: BreachKind, detail: str) -> str:
    text = f"{budget_id}\x1f{period_start.isoformat()}\x1f{kind.value}\x1f{detail}"
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def threshold_detail(percent: Decimal) -> str:
    return format(percent.normalize(), "f")


@dataclass(frozen=True, slots=True)
class PeriodSpend:
    """What the store says about one budget's period after a batch."""

    period_start: datetime
    period_end: datetime
    spend: Decimal
    unpriced_by_model: dict[str, int]
    latest_event_at: datetime | None


@dataclass(slots=True)  # not frozen: one per event and budget, and frozen costs three times as much
class Contribution:
    """One event of the batch that counts toward the budget, in event-time order."""

    event_id: str
    occurred_at: datetime
    cost: Decimal


def percent_of(spend: Decimal, limit: Decimal) -> Decimal:
    return MONEY_CONTEXT.divide(MONEY_CONTEXT.multiply(spend, HUNDRED), limit)


def _trigger(
    contributions: Sequence[Contribution], spend: Decimal, crossing_at: Decimal
) -> Contribution | None:
    """The batch event whose cost carried spend over ``crossing_at``."""
    batch_total = sum((c.cost for c in contributions), Decimal(0))
    running = MONEY_CONTEXT.subtract(spend, batch_total)
    for contribution in contributions:
        running = MONEY_CONTEXT.add(running, contribution.cost)
        if running >= crossing_at:
            return contribution
    return contributions[-1] if contributions else None


def evaluate(
    budget: Budget,
    spend: PeriodSpend,
    contributions: Sequence[Contribution],
    fired: Collection[str],
    now: datetime,
) -> list[BudgetBreach]:
    """New breaches, in order: thresholds ascending, then projection, then unpriced models."""
    out: list[BudgetBreach] = []

    def breach(kind: BreachKind, detail: str, severity: Severity, **fields: object) -> BudgetBreach:
        return BudgetBreach(
            breach_id=breach_id(budget.id, spend.period_start, kind, detail), kind=kind, budget_id=budget.id,
            tenant_id=budget.tenant_id, scope=budget.scope, period=budget.period,
            period_start=spend.period_start, period_end=spend.period_end, severity=severity,
            limit_usd=budget.limit_usd, spend_usd=spend.spend, emitted_at=now, **fields,
        )

    for threshold in budget.thresholds:
        crossing_at = MONEY_CONTEXT.divide(MONEY_CONTEXT.multiply(budget.limit_usd, threshold.percent), HUNDRED)
        if spend.spend < crossing_at:
            break
        # The limit is part of the identity: after a limit change, crossing a percentage
        # of the new limit is news to a gateway; re-reading the same limit is not.
        candidate = breach(
            BreachKind.THRESHOLD, f"{threshold_detail(threshold.percent)}%of{threshold_detail(budget.limit_usd)}",
            threshold.severity,
            threshold_percent=threshold.percent, triggering_event_id=None, crossed_at=None,
        )
        if candidate.breach_id in fired:
            continue
        trigger = _trigger(contributions, spend.spend, crossing_at)
        out.append(candidate.model_copy(update={
            "triggering_event_id": trigger.event_id if trigger else None,
            "crossed_at": trigger.occurred_at if trigger else spend.latest_event_at,
        }))

    if spend.latest_event_at is not None and spend.spend < budget.limit_usd:
        length = Decimal((spend.period_end - spend.period_start).total_seconds())
        elapsed = Decimal((min(spend.latest_event_at, spend.period_end) - spend.period_start).total_seconds())
        projected = linear_projection(spend.spend, spend.period_start, spend.period_end, spend.latest_event_at)
        if (
            projected is not None and elapsed / length >= MIN_ELAPSED_FOR_PROJECTION
            and projected > budget.limit_usd
        ):
            candidate = breach(
                BreachKind.PROJECTED, "period-end", Severity.WARN, threshold_percent=HUNDRED,
                projected_spend_usd=projected, triggering_event_id=contributions[-1].event_id if contributions
                else None, crossed_at=spend.latest_event_at,
            )
            if candidate.breach_id not in fired:
                out.append(candidate)

    for model in sorted(spend.unpriced_by_model):
        candidate = breach(
            BreachKind.UNPRICED_USAGE, model, Severity.WARN, threshold_percent=None, unpriced_model=model,
            unpriced_requests=spend.unpriced_by_model[model], triggering_event_id=None,
            crossed_at=spend.latest_event_at,
        )
        if candidate.breach_id not in fired:
            out.append(candidate)
    return out


def status(budget: Budget, spend: PeriodSpend, now: datetime) -> BudgetStatus:
    used = percent_of(spend.spend, budget.limit_usd)
    state = BudgetState.OK
    for threshold in budget.thresholds:
        if used >= threshold.percent:
            state = BudgetState.BLOCKED if threshold.severity is Severity.BLOCK else BudgetState.WARN
    return BudgetStatus(
        budget_id=budget.id, tenant_id=budget.tenant_id, scope=budget.scope, state=state, period=budget.period,
        period_start=spend.period_start, period_end=spend.period_end, spend_usd=spend.spend,
        limit_usd=budget.limit_usd, percent_used=used.quantize(Decimal("0.01")),
        unpriced_requests=sum(spend.unpriced_by_model.values()), updated_at=now,
    )


