"""Running spend per (budget, period), held by the worker and updated per new event (pure).

An entry is keyed by the budget id, a fingerprint of what decides which events count
(tenant, scope, period, timezone) and the period start: a budget redefined with another
scope or period starts a new entry (seeded from the store) instead of inheriting spend
counted under the old definition. A limit or threshold change keeps the entry.
"""

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from schemas import PricedUsageEvent
from schemas.budgets import Budget
from schemas.money import MONEY_CONTEXT
from stream.budgets.evaluate import Contribution, PeriodSpend

SpendKey = tuple[str, str, datetime]


def counting_fingerprint(budget: Budget) -> str:
    text = "\x1f".join((budget.tenant_id, budget.scope.attribute or "", budget.scope.value or "",
                        budget.period.value, budget.timezone))  # fmt: skip
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def spend_key(budget: Budget, period_start: datetime) -> SpendKey:
    return budget.id, counting_fingerprint(budget), period_start


def in_scope(budget: Budget, event: PricedUsageEvent) -> bool:
    attribute = budget.scope.attribute
    return attribute is None or getattr(event.attributes, attribute) == budget.scope.value


@dataclass(slots=True)
class BudgetTouch:
    """A budget period a batch added to, with the batch's contributions in event order."""

    budget: Budget
    period_start: datetime
    period_end: datetime
    contributions: list[Contribution] = field(default_factory=list)


@dataclass(slots=True)
class RunningSpend:
    period_end: datetime
    spend: Decimal = Decimal(0)
    unpriced_by_model: dict[str, int] = field(default_factory=dict)
    latest_event_at: datetime | None = None

    def add(self, event: PricedUsageEvent) -> None:
        if event.priced:
            self.spend = MONEY_CONTEXT.add(self.spend, event.total_cost or 0)
        else:
            self.unpriced_by_model[event.model] = self.unpriced_by_model.get(event.model, 0) + 1
        if self.latest_event_at is None or event.occurred_at > self.latest_event_at:
            self.latest_event_at = event.occurred_at

    def merge(self, other: "RunningSpend") -> "RunningSpend":
        unpriced = dict(self.unpriced_by_model)
        for model, count in other.unpriced_by_model.items():
            unpriced[model] = unpriced.get(model, 0) + count
        latest = max((t for t in (self.latest_event_at, other.latest_event_at) if t is not None), default=None)
        return RunningSpend(self.period_end, MONEY_CONTEXT.add(self.spend, other.spend), unpriced, latest)

    def as_period_spend(self, period_start: datetime) -> PeriodSpend:
        return PeriodSpend(period_start, self.period_end, self.spend, dict(self.unpriced_by_model),
                           self.latest_event_at)  # fmt: skip


def spend_to_json(key: SpendKey, value: RunningSpend) -> list[Any]:
    return [key[0], key[1], key[2].isoformat(), value.period_end.isoformat(), format(value.spend, "f"),
            value.unpriced_by_model, value.latest_event_at.isoformat() if value.latest_event_at else None]


def spend_from_json(data: list[Any]) -> tuple[SpendKey, RunningSpend]:
    budget_id, fingerprint, start, end, spend, unpriced, latest = data
    key = (budget_id, fingerprint, datetime.fromisoformat(start))
    return key, RunningSpend(datetime.fromisoformat(end), Decimal(spend), dict(unpriced),
                             datetime.fromisoformat(latest) if latest else None)


def merged(entries: Mapping[int, RunningSpend]) -> RunningSpend | None:
    """One budget period's spend over the partitions that hold some of it."""
    total: RunningSpend | None = None
    for value in entries.values():
        total = value if total is None else total.merge(value)
    return total
