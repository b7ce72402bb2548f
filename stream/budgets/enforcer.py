"""Checking budgets after each stored batch and publishing breaches once each.

Spend is read from the deduplicated store after the batch's rows are in it, so a
redelivered message or a repeated event_id never adds spend twice. Which breaches were
already published is learnt from the breach topic itself at start (it is the record of
what gateways were told), then kept in memory: a breach is added once Kafka has
acknowledged it. A worker killed after publishing a crossing finds it on the topic when
it restarts and does not publish it again.

With several workers, a tenant's partition can move to another worker, which may not
have seen the breaches the previous owner published since it started. So after every
partition assignment the topic is read again, to its end, before the next check: any
breach the previous owner had acknowledged is on it by then.
"""

import asyncio
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import orjson

from schemas import PricedUsageEvent
from schemas.budgets import Budget, BudgetBreach, BudgetStatus
from stream.budgets.evaluate import Contribution, evaluate, status
from stream.budgets.periods import period_bounds
from stream.budgets.registry import BudgetRegistry
from stream.budgets.spend import period_spend
from stream.store.client import ClickHouseStore

log = logging.getLogger(__name__)

PublishBreach = Callable[[BudgetBreach], Awaitable[None]]
PublishStatus = Callable[[BudgetStatus], Awaitable[None]]
Record = tuple[bytes | None, bytes | None]
ReadBreaches = Callable[[], Awaitable[list[Record]]]


def in_scope(budget: Budget, event: PricedUsageEvent) -> bool:
    attribute = budget.scope.attribute
    return attribute is None or getattr(event.attributes, attribute) == budget.scope.value


@dataclass
class BudgetEnforcer:
    registry: BudgetRegistry
    store: ClickHouseStore
    publish_breach: PublishBreach
    publish_status: PublishStatus
    read_breaches: ReadBreaches | None = None
    """Reads the breach topic to its end (set by the worker)."""
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    fired: set[str] = field(default_factory=set)
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    breaches_published: int = 0
    stale: bool = False
    """Partitions were (re)assigned since the breach topic was last read."""

    def partitions_assigned(self) -> None:
        self.stale = True

    async def catch_up(self) -> None:
        if self.read_breaches is not None:
            self.remember_published(await self.read_breaches())
        self.stale = False

    def remember_published(self, records: Iterable[Record]) -> None:
        for _, value in records:
            if value:
                try:
                    self.fired.add(orjson.loads(value)["breach_id"])
                except (orjson.JSONDecodeError, KeyError, TypeError):
                    log.warning("ignoring a breach record that is not a BudgetBreach")

    async def check(self, events: Iterable[PricedUsageEvent]) -> list[BudgetBreach]:
        await self.ready.wait()
        if self.stale:
            await self.catch_up()
        touched: dict[tuple[str, datetime, datetime], list[Contribution]] = defaultdict(list)
        budgets: dict[str, Budget] = {}
        for event in events:
            for budget in self.registry.for_tenant(event.tenant_id):
                if not in_scope(budget, event):
                    continue
                start, end = period_bounds(event.occurred_at, budget.period, budget.timezone)
                budgets[budget.id] = budget
                touched[(budget.id, start, end)].append(
                    Contribution(event.event_id, event.occurred_at, event.total_cost or 0)  # type: ignore[arg-type]
                )
        published: list[BudgetBreach] = []
        for (budget_id, start, end), contributions in sorted(touched.items(), key=lambda item: item[0][:2]):
            budget = budgets[budget_id]
            contributions.sort(key=lambda c: (c.occurred_at, c.event_id))
            spend = await period_spend(self.store, budget, start, end)
            now = self.clock()
            for breach in evaluate(budget, spend, contributions, self.fired, now):
                await self.publish_breach(breach)
                self.fired.add(breach.breach_id)
                published.append(breach)
            if end > now:  # only the current period's status is the budget's status
                await self.publish_status(status(budget, spend, now))
        self.breaches_published += len(published)
        return published
