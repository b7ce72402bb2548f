"""Deciding breaches from the worker's running spend, right after a batch is stored, and
publishing each once.

Spend comes from the worker's state (:mod:`stream.state.held`), updated per new event:
no query per budget per batch. Which breaches already fired is kept in ClickHouse
(``budget_breaches``, written once Kafka has acknowledged a breach, pruned when its
period is over) and also read from the breach topic at start and after every partition
assignment: the table does not depend on the topic's retention, and the topic covers a
worker killed between the acknowledgement and the table insert.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import orjson

from schemas.budgets import BudgetBreach, BudgetStatus
from stream.budgets.evaluate import PeriodSpend, evaluate, status
from stream.budgets.registry import BudgetRegistry
from stream.budgets.running import BudgetTouch
from stream.sinks.clickhouse import ClickHouseSink
from stream.store.client import as_utc

log = logging.getLogger(__name__)

PublishBreach = Callable[[BudgetBreach], Awaitable[None]]
PublishStatus = Callable[[BudgetStatus], Awaitable[None]]
Record = tuple[bytes | None, bytes | None]
ReadBreaches = Callable[[], Awaitable[list[Record]]]
ReadFired = Callable[[], Awaitable[dict[str, datetime]]]
SpendOf = Callable[[BudgetTouch], PeriodSpend]

BREACH_COLUMNS = (
    "breach_id", "budget_id", "tenant_id", "kind", "severity", "period_start", "period_end", "spend_usd",
    "limit_usd", "crossed_at", "emitted_at", "breach",
)  # fmt: skip
# A fired breach is remembered this long after its period ends (late events of a period).
FIRED_RETENTION = timedelta(days=2)
NEVER = datetime.max.replace(tzinfo=UTC)


async def read_fired(sink: ClickHouseSink, since: datetime) -> dict[str, datetime]:
    """breach_id -> period end of the breaches recorded for periods ending after ``since``."""
    result = await sink.store.query_consistent(
        "SELECT breach_id, period_end FROM budget_breaches FINAL WHERE period_end > {since:DateTime64(3, 'UTC')}",
        {"since": since},
    )
    return {breach_id: as_utc(period_end) for breach_id, period_end in result.result_rows}


def breach_row(breach: BudgetBreach, payload: bytes) -> list[object]:
    return [
        breach.breach_id, breach.budget_id, breach.tenant_id, breach.kind.value, breach.severity.value,
        breach.period_start, breach.period_end, breach.spend_usd, breach.limit_usd, breach.crossed_at,
        breach.emitted_at, payload.decode(),
    ]  # fmt: skip


@dataclass
class BudgetEnforcer:
    registry: BudgetRegistry
    sink: ClickHouseSink
    publish_breach: PublishBreach
    publish_status: PublishStatus
    read_breaches: ReadBreaches | None = None
    """Reads the breach topic to its end (set by the worker)."""
    read_fired: ReadFired | None = None
    """Reads the fired breaches of periods not over from ``budget_breaches`` (set by the worker)."""
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    fired: dict[str, datetime] = field(default_factory=dict)
    """breach_id -> end of its period."""
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    breaches_published: int = 0
    stale: bool = False
    """Partitions were (re)assigned since the fired breaches were last read."""

    def partitions_assigned(self) -> None:
        self.stale = True

    async def catch_up(self) -> None:
        if self.read_fired is not None:
            self.fired.update(await self.read_fired())
        if self.read_breaches is not None:
            self.remember_published(await self.read_breaches())
        self.stale = False

    def remember_published(self, records: Iterable[Record]) -> None:
        for _, value in records:
            if value:
                try:
                    breach = orjson.loads(value)
                    end = breach.get("period_end")
                    self.fired[breach["breach_id"]] = datetime.fromisoformat(end) if end else NEVER
                except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
                    log.warning("ignoring a breach record that is not a BudgetBreach")

    def prune(self) -> None:
        cutoff = self.clock() - FIRED_RETENTION
        for breach_id in [b for b, end in self.fired.items() if end < cutoff]:
            del self.fired[breach_id]

    async def check(self, touches: Sequence[BudgetTouch], spend_of: SpendOf) -> list[BudgetBreach]:
        """Breaches and statuses of the budget periods a batch touched (``touches`` from
        :meth:`stream.state.held.StreamState.apply`, ``spend_of`` their running spend)."""
        await self.ready.wait()
        if self.stale:
            await self.catch_up()
        if not touches:
            return []
        published: list[BudgetBreach] = []
        now = self.clock()
        for touch in touches:
            budget = self.registry.get(touch.budget.id)
            if budget is None:
                continue
            spend = spend_of(touch)
            contributions = touch.contributions
            for breach in evaluate(budget, spend, contributions, self.fired.keys(), now):
                payload = breach.model_dump_json().encode()
                await self.publish_breach(breach)
                await self.sink.insert_until_stored("budget_breaches", [breach_row(breach, payload)], BREACH_COLUMNS)
                self.fired[breach.breach_id] = breach.period_end
                published.append(breach)
            if spend.period_end > now:  # only the current period's status is the budget's status
                await self.publish_status(status(budget, spend, now))
        self.breaches_published += len(published)
        return published
