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


def spend_sql(budget: Budget, partition: int | None = None) -> str:
    attribute = budget.scope.attribute
    scope = f"AND {attribute} = {{scope_value:String}}" if attribute else ""
    if partition is not None:
        scope += " AND kafka_partition = {partition:UInt32}"
    return _SPEND_SQL.format(scope=scope)


async def period_spend(
    store: ClickHouseStore, budget: Budget, start: datetime, end: datetime, partition: int | None = None
) -> PeriodSpend:
    """The period's spend in the store; ``partition``: only what came from that raw-topic
    partition (how a worker seeds the share of a budget it holds). Not on the hot path:
    the worker asks this once per budget period it starts to hold, and when reconciling."""
    parameters: dict[str, object] = {"tenant": budget.tenant_id, "start": start, "end": end}
    if budget.scope.value is not None:
        parameters["scope_value"] = budget.scope.value
    if partition is not None:
        parameters["partition"] = partition
    result = await store.query_consistent(spend_sql(budget, partition), parameters=parameters)
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
