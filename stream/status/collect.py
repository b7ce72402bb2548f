"""The status document (see the package docstring)."""

import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from schemas.budgets import Budget
from stream.broker.lag import group_lag
from stream.config import Settings
from stream.status.budgets import budget_statuses
from stream.store.client import ClickHouseStore, as_utc

DEAD_LETTER_MINUTES = 5
"""Dead letters are counted over this many recent minutes."""
NEAR_PERCENT = 80
"""A budget at or past this share of its limit (or projected past it) is listed as near."""
RATE_SECONDS = 10.0
"""Events per second are measured over about this many recent seconds."""


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]


@dataclass
class Activity:
    """Samples of a worker's running counters, one a second (taken by a worker timer), so
    a status request reads recent rates without waiting."""

    samples: deque[tuple[float, int, int, int]] = field(default_factory=lambda: deque(maxlen=120))
    """(monotonic time, events in, events out, batches)."""
    last_batch_at: datetime | None = None
    """Wall-clock time at which a new stored batch was first seen (within a second)."""

    def sample(self, events_in: int, events_out: int, batches: int, at: float | None = None) -> None:
        at = time.monotonic() if at is None else at
        if self.samples and batches != self.samples[-1][3]:
            self.last_batch_at = datetime.now(UTC)
        self.samples.append((at, events_in, events_out, batches))

    def rates(self, over: float = RATE_SECONDS) -> dict[str, Any]:
        """Events per second in and out over the last ``over`` seconds sampled."""
        if len(self.samples) < 2:
            return {"events_in_per_s": None, "events_out_per_s": None, "over_seconds": 0.0}
        newest = self.samples[-1]
        oldest = next((s for s in self.samples if newest[0] - s[0] <= over), self.samples[0])
        if oldest is newest:
            oldest = self.samples[-2]
        seconds = newest[0] - oldest[0]
        return {
            "events_in_per_s": round((newest[1] - oldest[1]) / seconds, 1),
            "events_out_per_s": round((newest[2] - oldest[2]) / seconds, 1),
            "over_seconds": round(seconds, 1),
        }


async def dead_letter_summary(store: ClickHouseStore, minutes: int = DEAD_LETTER_MINUTES) -> dict[str, Any]:
    result = await store.query_readonly(
        "SELECT error_type, count(), max(dead_lettered_at) FROM dead_letters "
        "WHERE dead_lettered_at >= now64(3) - toIntervalMinute({minutes:UInt32}) GROUP BY error_type "
        "ORDER BY count() DESC",
        {"minutes": minutes},
    )
    by_type = {str(kind): int(count) for kind, count, _ in result.result_rows}
    latest = max((as_utc(last) for *_, last in result.result_rows), default=None)
    return {"minutes": minutes, "count": sum(by_type.values()), "by_error_type": by_type,
            "latest_at": latest.isoformat() if latest else None}


async def _broker(settings: Settings) -> tuple[dict[str, Any], dict[str, Any] | None]:
    broker: dict[str, Any] = {"reachable": False, "bootstrap_servers": settings.bootstrap_servers, "error": None}
    try:
        partitions = await group_lag(settings, settings.topic_raw, settings.consumer_group)
    except Exception as exc:
        broker["error"] = _first_line(exc)
        return broker, None
    broker["reachable"] = True
    lag = {
        "topic": settings.topic_raw, "group": settings.consumer_group, "total": sum(p.lag for p in partitions),
        "partitions": [{"partition": p.partition, "end_offset": p.end_offset, "committed": p.committed,
                        "lag": p.lag} for p in partitions],
    }  # fmt: skip
    return broker, lag


async def collect_status(
    settings: Settings, store: ClickHouseStore | None, budgets: Iterable[Budget] | None,
    worker: dict[str, Any] | None, load_budgets: Callable[[], Awaitable[list[Budget]]] | None = None,
) -> dict[str, Any]:
    """``worker``: what only a running worker knows (partitions, throughput, last batch,
    reconciliation), or None when no worker answers. ``load_budgets``: where to find the
    budgets when they are not given (asked only if the broker answers)."""
    broker, lag = await _broker(settings)
    location = settings.clickhouse_dsn.split("@")[-1]
    store_part: dict[str, Any] = {"reachable": False, "location": location, "error": None}
    dead: dict[str, Any] | None = None
    near: list[dict[str, Any]] | None = None
    budget_count: int | None = None
    if store is not None:
        try:
            await store.query_readonly("SELECT 1")
            store_part["reachable"] = True
            dead = await dead_letter_summary(store)
            if budgets is None and load_budgets is not None and broker["reachable"]:
                budgets = await load_budgets()
            if budgets is not None:
                statuses = await budget_statuses(store, budgets)
                budget_count = len(statuses)
                near = [s for s in statuses if s["state"] != "ok" or s["projected_over_limit"]
                        or Decimal(s["percent_used"]) >= NEAR_PERCENT]
        except Exception as exc:
            store_part["error"] = _first_line(exc)
    healthy = bool(broker["reachable"] and store_part["reachable"] and worker is not None)
    return {
        "at": datetime.now(UTC).isoformat(), "healthy": healthy, "broker": broker, "store": store_part,
        "worker": worker if worker is not None else {"running": False, "url": settings.worker_url},
        "lag": lag, "dead_letters": dead, "budgets": {"total": budget_count, "near_or_over": near},
    }  # fmt: skip
