"""Every budget's status in its current period, from the store (the source of truth, so
every worker answers the same): state, spend, % used and the linear projection to the
period's end. One spend query per budget, on request only, never on the hot path."""

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from schemas.budgets import Budget
from schemas.money import plain_decimal
from stream.budgets.evaluate import status
from stream.budgets.periods import linear_projection, period_bounds
from stream.budgets.spend import period_spend
from stream.store.client import ClickHouseStore


async def budget_statuses(store: ClickHouseStore, budgets: Iterable[Budget], now: datetime | None = None
                          ) -> list[dict[str, Any]]:
    now = now or datetime.now(UTC)
    answers = []
    for budget in sorted(budgets, key=lambda b: (b.tenant_id, b.id)):
        start, end = period_bounds(now, budget.period, budget.timezone)
        spend = await period_spend(store, budget, start, end)
        document = status(budget, spend, now).model_dump(mode="json")
        projected = linear_projection(spend.spend, start, end, now)
        document["projected_spend_usd"] = plain_decimal(projected) if projected is not None else None
        document["projected_over_limit"] = projected is not None and projected > budget.limit_usd
        answers.append(document)
    return answers
