"""Which windows changed, when they close, and emitting them.

The ingest agent calls :meth:`WindowTracker.note` after a batch is stored; a timer calls
:meth:`run_pass`, which recomputes the changed windows (and those the watermark just
closed) from the store, writes them to ``usage_windows`` with a new version, refreshes
the hour/day rollups and publishes them to the aggregates topic.

State is small and bounded: the set of windows changed since the last pass, and the
windows still open (partial). Both are rebuilt at start from ClickHouse: open windows
from their stored partial versions, changed windows from events ingested since the last
completed pass began (``window_passes``), so a crash between storing events and
recomputing their windows loses nothing.
"""

import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from schemas import PricedUsageEvent
from schemas.windows import WindowAggregate
from stream.sinks.clickhouse import ClickHouseSink
from stream.store.client import as_utc
from stream.windows.compute import aggregate_sql, aggregates_for_window, bound_groups, rows_to_groups
from stream.windows.keys import window_end, window_start
from stream.windows.rollups import DAY_ROLLUP_SQL, HOUR_ROLLUP_SQL

log = logging.getLogger(__name__)

WindowKey = tuple[str, datetime]
Publish = Callable[[list[WindowAggregate]], Awaitable[None]]

# An event dated further ahead than this does not move the watermark: a producer with a
# wrong clock must not close everyone's windows early.
MAX_CLOCK_SKEW = timedelta(minutes=1)
# Recovery recomputes windows of events ingested this long before the last pass began.
RECOVERY_MARGIN = timedelta(seconds=30)
KEYS_PER_QUERY = 2000


WINDOW_COLUMNS = tuple(WindowAggregate.model_fields)


@dataclass
class WindowSettings:
    size_seconds: int
    grace: timedelta
    dimensions: Sequence[str]
    max_groups: int
    consumer_group: str


@dataclass
class WindowTracker:
    settings: WindowSettings
    sink: ClickHouseSink
    publish: Publish
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    dirty: set[WindowKey] = field(default_factory=set)
    open_windows: set[WindowKey] = field(default_factory=set)
    max_event_time: datetime | None = None
    in_flight_since: datetime | None = None
    """ingested_at of the batch being stored, if any: a pass never records a start later
    than that, so recovery also covers a batch stored slowly (e.g. during a store outage)."""
    last_version: int = 0
    passes: int = 0
    emitted: int = 0

    # --- fed by the ingest agent ------------------------------------------------------------
    def begin_batch(self, ingested_at: datetime) -> None:
        self.in_flight_since = ingested_at

    def note(self, events: Iterable[PricedUsageEvent]) -> None:
        """The batch's events are stored: their windows changed."""
        self.in_flight_since = None
        size = self.settings.size_seconds
        horizon = self.clock() + MAX_CLOCK_SKEW
        for event in events:
            self.dirty.add((event.tenant_id, window_start(event.occurred_at, size)))
            occurred = event.occurred_at
            if occurred <= horizon and (self.max_event_time is None or occurred > self.max_event_time):
                self.max_event_time = occurred

    def watermark(self) -> datetime:
        """Event time up to which windows may close: the latest event time seen, or on an
        idle stream the wall clock minus the grace period, whichever is later."""
        idle = self.clock() - self.settings.grace
        return max(self.max_event_time, idle) if self.max_event_time else idle

    def is_closed(self, start: datetime, watermark: datetime) -> bool:
        return watermark >= window_end(start, self.settings.size_seconds) + self.settings.grace

    # --- recovery ----------------------------------------------------------------------------
    async def recover(self, partitions: Sequence[int]) -> None:
        store = self.sink.store
        size = self.settings.size_seconds
        open_rows = await store.query(
            "SELECT DISTINCT tenant_id, window_start FROM usage_windows FINAL "
            "WHERE window_seconds = {size:UInt32} AND partial",
            parameters={"size": size},
        )
        self.open_windows.update((row[0], as_utc(row[1])) for row in open_rows.result_rows)
        since = await self._last_pass_started(partitions)
        if since is None:
            return
        changed = await store.query(
            "SELECT DISTINCT tenant_id, toDateTime64(toStartOfInterval(occurred_at, INTERVAL {size:UInt32} SECOND),"
            " 3, 'UTC') FROM usage_events WHERE ingested_at >= {since:DateTime64(6, 'UTC')}",
            parameters={"size": size, "since": since - RECOVERY_MARGIN},
        )
        self.dirty.update((row[0], as_utc(row[1])) for row in changed.result_rows)
        log.info("window recovery: %d open windows, %d to recompute", len(self.open_windows), len(self.dirty))

    async def _last_pass_started(self, partitions: Sequence[int]) -> datetime | None:
        if not partitions:
            return None
        result = await self.sink.store.query(
            "SELECT partition, started_at FROM window_passes FINAL "
            "WHERE consumer_group = {group:String} AND partition IN {partitions:Array(UInt32)}",
            parameters={"group": self.settings.consumer_group, "partitions": list(partitions)},
        )
        found: dict[int, datetime] = {row[0]: row[1] for row in result.result_rows}
        if len(found) < len(partitions):
            # A partition never passed here: recompute everything ingested recently.
            return datetime(1970, 1, 1, tzinfo=UTC)
        return as_utc(min(found.values()))

    # --- the pass ----------------------------------------------------------------------------
    def _next_version(self) -> int:
        self.last_version = max(time.time_ns() // 1000, self.last_version + 1)
        return self.last_version

    async def run_pass(self, partitions: Sequence[int] = ()) -> list[WindowAggregate]:
        started_at = min(self.clock(), self.in_flight_since or self.clock())
        watermark = self.watermark()
        closing = {key for key in self.open_windows if self.is_closed(key[1], watermark)}
        keys, self.dirty = self.dirty | closing, set()
        emitted: list[WindowAggregate] = []
        try:
            ordered = sorted(keys)
            for offset in range(0, len(ordered), KEYS_PER_QUERY):
                emitted += await self._emit(ordered[offset : offset + KEYS_PER_QUERY], watermark)
        except BaseException:
            self.dirty |= keys  # nothing is lost: the next pass tries again
            raise
        if partitions:
            await self.sink.insert_until_stored(
                "window_passes",
                [[self.settings.consumer_group, partition, started_at] for partition in partitions],
                ("consumer_group", "partition", "started_at"),
            )
        self.passes += 1
        self.emitted += len(emitted)
        return emitted

    async def _emit(self, keys: list[WindowKey], watermark: datetime) -> list[WindowAggregate]:
        store, size = self.sink.store, self.settings.size_seconds
        tenants = sorted({tenant for tenant, _ in keys})
        low = min(start for _, start in keys)
        high = window_end(max(start for _, start in keys), size)
        result = await store.query(
            aggregate_sql(self.settings.dimensions),
            parameters={"size": size, "tenants": tenants, "low": low, "high": high, "keys": keys},
        )
        groups = rows_to_groups(result.result_rows, self.settings.dimensions)
        previous = await store.query(
            "SELECT tenant_id, window_start, group_key, provider, model, dimensions FROM usage_windows FINAL "
            "WHERE window_seconds = {size:UInt32} AND tenant_id IN {tenants:Array(String)} "
            "AND (tenant_id, window_start) IN {keys:Array(Tuple(String, DateTime64(3, 'UTC')))} AND requests > 0",
            parameters={"size": size, "tenants": tenants, "keys": keys},
        )
        previous_groups: dict[WindowKey, dict[str, tuple[str, str, dict[str, str]]]] = {}
        for tenant, start, key, provider, model, dims in previous.result_rows:
            previous_groups.setdefault((tenant, as_utc(start)), {})[key] = (provider, model, dict(dims))

        version, emitted_at = self._next_version(), self.clock()
        aggregates: list[WindowAggregate] = []
        for key in keys:
            tenant, start = key
            partial = not self.is_closed(start, watermark)
            window_groups = bound_groups(groups.get(key, []), self.settings.max_groups)
            aggregates += aggregates_for_window(
                tenant, start, size, window_groups, previous_groups.get(key, {}), partial, version, emitted_at
            )
            if partial:
                self.open_windows.add(key)
            else:
                self.open_windows.discard(key)
        if not aggregates:
            return []
        await self.sink.insert_until_stored(
            "usage_windows", [[getattr(a, c) for c in WINDOW_COLUMNS] for a in aggregates], WINDOW_COLUMNS
        )
        await self._refresh_rollups(keys, version)
        await self.publish(aggregates)
        return aggregates

    async def _refresh_rollups(self, keys: list[WindowKey], version: int) -> None:
        tenants = sorted({tenant for tenant, _ in keys})
        hours = sorted({(t, s.replace(minute=0, second=0, microsecond=0)) for t, s in keys})
        days = sorted({(t, s.date()) for t, s in keys})
        store = self.sink.store
        await store.command(
            HOUR_ROLLUP_SQL,
            {"size": self.settings.size_seconds, "tenants": tenants, "keys": hours, "version": version},
        )
        await store.command(DAY_ROLLUP_SQL, {"tenants": tenants, "keys": days, "version": version})
