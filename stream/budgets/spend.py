"""A budget's spend in one period, read from the deduplicated event store."""

from datetime import datetime
from decimal import Decimal

from schemas.budgets import Budget
from schemas.money import MONEY_CONTEXT
from stream.budgets.evaluate import PeriodSpend
from stream.store.client import ClickHouseStore, as_utc

# Scope attributes are a closed list (schemas.budgets.BudgetScope); they map to columns.
_SPEND_SQL = """
    SELECT if(priced, '', model) AS unpriced_model, sum(ifNull(total_cost, 0)), count(), max(occurred_at)
    FROM usage_events FINAL
    WHERE tenant_id = {{tenant:String}}
      AND occurred_at >= {{start:DateTime64(3, 'UTC')}} AND occurred_at < {{end:DateTime64(3, 'UTC')}}
      {scope}
    GROUP BY unpriced_model
"""


def spend_sql(budget: Budget) -> str:
    attribute = budget.scope.attribute
    return _SPEND_SQL.format(scope=f"AND {attribute} = {{scope_value:String}}" if attribute else "")


async def period_spend(store: ClickHouseStore, budget: Budget, start: datetime, end: datetime) -> PeriodSpend:
    parameters: dict[str, object] = {"tenant": budget.tenant_id, "start": start, "end": end}
    if budget.scope.value is not None:
        parameters["scope_value"] = budget.scope.value
    result = await store.query(spend_sql(budget), parameters=parameters)
    spend = Decimal(0)
    unpriced: dict[str, int] = {}
    latest: datetime | None = None
    for model, cost, count, last in result.result_rows:
        spend = MONEY_CONTEXT.add(spend, cost)
        if model:
            unpriced[model] = int(count)
        last = as_utc(last)
        latest = last if latest is None or last > latest else latest
    return PeriodSpend(start, end, spend, unpriced, latest)
