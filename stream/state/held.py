"""The worker's state over the partitions it owns: updated per new event, emitted,
checkpointed and recovered.

Every change goes through one lock, taken by the ingest agent around store-then-apply,
by the window timer to take an emission and to checkpoint, and by reconciliation, so what
the state holds and what the store holds are compared and checkpointed at consistent
points. An emission is stored and published between the two, without the lock, so batches
are not held up by it (a second lock, ``emitting``, keeps emissions and checkpoints in
order).

What the state holds is exact for the events applied to it. What it does not hold (a
window that closed long ago and gets a late event, a budget period it never saw, a new
budget, a partition without checkpoint) is computed from the store the first time a
batch touches it, *after* that batch is stored, so the batch's own events are in it and
are not added again.
"""

import asyncio
import copy
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial

from schemas import PricedUsageEvent
from schemas.budgets import Budget
from schemas.windows import WindowAggregate
from stream.budgets.evaluate import Contribution, PeriodSpend
from stream.budgets.periods import period_bounds
from stream.budgets.registry import BudgetRegistry
from stream.budgets.running import BudgetTouch, RunningSpend, SpendKey, in_scope, merged, spend_key
from stream.budgets.spend import period_spend
from stream.ingest.records import PricedRecord
from stream.retry import retry_until_done
from stream.sinks.clickhouse import ClickHouseSink
from stream.state.checkpoint import layout_of, load_checkpoints, save_checkpoints, stored_after
from stream.state.partition import PartitionState
from stream.turns import in_turns
from stream.windows.keys import window_end, window_start
from stream.windows.state import Group, GroupIdentity, Window, WindowKey, aggregates, group_for
from stream.windows.store import load_windows, store_aggregates

log = logging.getLogger(__name__)

Publish = Callable[[list[WindowAggregate]], Awaitable[None]]

# An event dated further ahead than this does not move the watermark: a producer with a
# wrong clock must not close its partition's windows early.
MAX_CLOCK_SKEW = timedelta(minutes=1)
# Spend of a period is kept this long after the period ends, for late events.
SPEND_RETENTION = timedelta(days=2)


@dataclass(slots=True)
class TakenWindow:
    """A window whose rows an emission carries."""

    partition: int
    key: WindowKey
    window: Window
    emitted_before: dict[str, GroupIdentity]
    """The groups it had emitted before: restored if the emission fails."""
    final_version: int | None
    """The version of its final rows, if it closed; else None."""


@dataclass(slots=True)
class Emission:
    """Window rows taken to be emitted, with the windows they came from."""

    rows: list[WindowAggregate] = field(default_factory=list)
    taken: list[TakenWindow] = field(default_factory=list)


@dataclass
class WindowSettings:
    size_seconds: int
    grace: timedelta
    dimensions: Sequence[str]
    max_groups: int
    consumer_group: str


@dataclass
class StreamState:
    settings: WindowSettings
    sink: ClickHouseSink
    registry: BudgetRegistry
    publish: Publish
    checkpoint_interval: float = 5.0
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    partitions: dict[int, PartitionState] = field(default_factory=dict)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    emitting: asyncio.Lock = field(default_factory=asyncio.Lock)
    """Held by whoever emits windows or checkpoints, taken before ``lock`` (never after)."""
    last_checkpoint: float = 0.0
    windows_loaded: int = 0
    spend_seeded: int = 0
    passes: int = 0
    emitted: int = 0
    checkpoints: int = 0
    recovered_events: int = 0

    @property
    def layout(self) -> str:
        s = self.settings
        return layout_of(s.size_seconds, s.dimensions, s.max_groups)

    # --- ownership ------------------------------------------------------------------------
    def owned(self) -> list[int]:
        return sorted(self.partitions)

    def retain(self, assigned: Iterable[int]) -> None:
        """Forget partitions this worker no longer owns (their next owner recovers them)."""
        keep = set(assigned)
        for partition in list(self.partitions):
            if partition not in keep:
                del self.partitions[partition]

    def forget(self, partitions: Iterable[int]) -> None:
        """Drop what is held for these partitions: it no longer matches an offset (a batch
        was interrupted half applied), so it is recovered again when next needed."""
        for partition in partitions:
            self.partitions.pop(partition, None)

    async def recover(self, partitions: Sequence[int], end_offsets: Mapping[int, int]) -> list[PricedRecord]:
        """Take over partitions: their checkpoints, then the events stored after them (one
        query each for all of them). Returns those events; the caller applies them like a
        batch (and checks budgets).

        ``end_offsets``: each partition's next offset on the broker. A checkpoint far past it
        belongs to a topic that was deleted and created again (the embedded broker keeps
        topics in memory): its offsets say nothing about the new one, so the state starts
        empty and fills from the store as batches touch it (always correct, only slower).
        "Far": Tansu's end offset can trail the last record by a few batches, so only a
        checkpoint at more than twice the end offset counts as another topic's."""
        loaded = await load_checkpoints(self.sink.store, self.settings.consumer_group, partitions, self.layout)
        resumed: dict[int, tuple[int, datetime]] = {}
        for partition in partitions:
            found, end = loaded.get(partition), end_offsets.get(partition)
            if found is not None and end is not None and found[0].offset > 2 * end:
                log.info("partition %d: checkpoint at offset %d is past the topic's end (%d): the topic was created "
                         "again; starting from the store", partition, found[0].offset, end)
                found = None
            if found is None:
                self.partitions[partition] = PartitionState(partition)
                continue
            state, saved_at = found
            self.partitions[partition] = state
            resumed[partition] = state.offset, saved_at
        tails = await stored_after(self.sink.store, resumed)
        for partition, tail in tails.items():
            state = self.partitions[partition]
            self.recovered_events += len(tail)
            log.info("partition %d: checkpoint at offset %d (%d windows, %d budget periods), %d events after it",
                     partition, state.offset, len(state.windows), len(state.spend), len(tail))
        return [record for partition in partitions for record in tails.get(partition, [])]

    # --- per batch ------------------------------------------------------------------------
    def watermark(self, state: PartitionState) -> datetime:
        idle = self.clock() - self.settings.grace
        return max(state.max_event_time, idle) if state.max_event_time else idle

    def is_closed(self, start: datetime, watermark: datetime) -> bool:
        return watermark >= window_end(start, self.settings.size_seconds) + self.settings.grace

    async def apply(self, records: Sequence[PricedRecord]) -> list[BudgetTouch]:
        """Add new (deduplicated, stored) events to the windows and budget periods."""
        size, dims, max_groups = self.settings.size_seconds, self.settings.dimensions, self.settings.max_groups
        horizon = self.clock() + MAX_CLOCK_SKEW
        missing_windows: dict[int, set[WindowKey]] = defaultdict(set)
        missing_spend: dict[tuple[int, SpendKey], BudgetTouch] = {}
        touched: dict[SpendKey, BudgetTouch] = {}
        bounds: dict[tuple[str, str, str], tuple[datetime, datetime]] = {}
        budgets_of: dict[str, list[Budget]] = {}
        span = timedelta(seconds=size)
        start = end = horizon  # the window of the last event: in time order, most events share it
        ordered = sorted(records, key=lambda r: (r.event.occurred_at, r.event.event_id))
        async for _, run in in_turns(ordered):
            by_group: dict[int, tuple[Group, list[PricedUsageEvent]]] = {}  # id of a group -> it, its events here
            for record in run:
                event, partition = record.event, record.source.partition
                state = self.partitions.get(partition)
                if state is None:
                    state = self.partitions[partition] = PartitionState(partition)
                state.changed = True
                occurred = event.occurred_at
                if occurred <= horizon and (state.max_event_time is None or occurred > state.max_event_time):
                    state.max_event_time = occurred
                if not start <= occurred < end:
                    start = window_start(occurred, size)
                    end = start + span
                key = (event.tenant_id, start)
                window = state.windows.get(key)
                if window is None:  # computed from the store below, this batch included
                    missing_windows[partition].add(key)
                else:
                    group = group_for(window, event, dims, max_groups)
                    window.version += 1
                    state.dirty.add(key)
                    if (added := by_group.get(id(group))) is None:
                        by_group[id(group)] = (group, [event])
                    else:
                        added[1].append(event)
                budgets = budgets_of.get(event.tenant_id)
                if budgets is None:
                    budgets = budgets_of[event.tenant_id] = self.registry.for_tenant(event.tenant_id)
                for budget in budgets:
                    if in_scope(budget, event):
                        self._add_spend(state, budget, event, bounds, touched, missing_spend)
            for group, events in by_group.values():  # before the next turn: a run is applied whole
                group.add(events)
        if missing_windows:
            await self._load_windows(missing_windows)
        for (partition, spend_at), touch in missing_spend.items():
            await self._seed_spend(self.partitions[partition], spend_at, touch)
        return sorted(touched.values(), key=lambda t: (t.period_start, t.budget.id))

    def _add_spend(
        self, state: PartitionState, budget: Budget, event: PricedUsageEvent,
        bounds: dict[tuple[str, str, str], tuple[datetime, datetime]], touched: dict[SpendKey, BudgetTouch],
        missing: dict[tuple[int, SpendKey], BudgetTouch],
    ) -> None:  # fmt: skip
        zone = (budget.id, budget.period.value, budget.timezone)
        cached = bounds.get(zone)
        if cached is None or not cached[0] <= event.occurred_at < cached[1]:
            cached = bounds[zone] = period_bounds(event.occurred_at, budget.period, budget.timezone)
        start, end = cached
        key = spend_key(budget, start)
        touch = touched.get(key)
        if touch is None:
            touch = touched[key] = BudgetTouch(budget, start, end)
        touch.contributions.append(Contribution(event.event_id, event.occurred_at, event.total_cost or 0))  # type: ignore[arg-type]
        entry = state.spend.get(key)
        if entry is None:  # seeded from the store below, this batch included
            missing[(state.partition, key)] = touch
        else:
            entry.add(event)

    async def _load_windows(self, missing: dict[int, set[WindowKey]]) -> None:
        """The windows each partition lacks, in one load for all of them: a window's
        content is the same whichever partition asks (at a window boundary every
        partition lacks its tenants' new windows at once)."""
        s = self.settings
        keys = sorted(set().union(*missing.values()))
        loaded = await retry_until_done(
            partial(load_windows, self.sink, keys, s.size_seconds, s.dimensions, s.max_groups),
            "loading windows from the store", self.sink.max_backoff,
        )
        taken: set[WindowKey] = set()
        for partition, window_keys in missing.items():
            state = self.partitions[partition]
            for key in window_keys:
                # a tenant whose events come on two partitions: each holds a window of its own
                state.windows[key] = copy.deepcopy(loaded[key]) if key in taken else loaded[key]
                taken.add(key)
            state.dirty.update(window_keys)
            self.windows_loaded += len(window_keys)

    async def _seed_spend(self, state: PartitionState, key: SpendKey, touch: BudgetTouch) -> None:
        stored = await retry_until_done(
            partial(period_spend, self.sink.store, touch.budget, touch.period_start, touch.period_end, state.partition),
            "reading a budget's spend from the store", self.sink.max_backoff,
        )
        state.spend[key] = RunningSpend(
            touch.period_end, stored.spend, stored.unpriced_by_model, stored.latest_event_at
        )
        self.spend_seeded += 1

    def advance(self, offsets: dict[int, int]) -> None:
        """The messages up to these offsets are done (stored, applied or dead-lettered)."""
        for partition, offset in offsets.items():
            state = self.partitions.get(partition)
            if state is None:
                state = self.partitions[partition] = PartitionState(partition)
            if offset > state.offset:
                state.offset = offset
                state.changed = True

    def spend(self, budget: Budget, period_start: datetime) -> RunningSpend | None:
        key = spend_key(budget, period_start)
        return merged({p: s.spend[key] for p, s in self.partitions.items() if key in s.spend})

    def spend_of(self, touch: BudgetTouch) -> PeriodSpend:
        """The running spend of a touched budget period over the partitions held here."""
        running = self.spend(touch.budget, touch.period_start)
        if running is None:
            return PeriodSpend(touch.period_start, touch.period_end, Decimal(0), {}, None)
        return running.as_period_spend(touch.period_start)

    # --- emitting windows -------------------------------------------------------------------
    def take_emissions(self) -> Emission:
        """Rows of every window changed since its last emission or closed by its partition's
        watermark. A closed window stays held until its rows are stored (:meth:`settle`):
        a late event meanwhile is added to it, not loaded from a store that lacks them."""
        now, size = self.clock(), self.settings.size_seconds
        emission = Emission()
        for partition, state in self.partitions.items():
            watermark = self.watermark(state)
            for key, window in state.windows.items():
                closed = self.is_closed(key[1], watermark)
                if key not in state.dirty and not closed:
                    continue
                if closed:
                    window.version += 1  # closing is a change of content (partial -> final)
                emission.taken.append(TakenWindow(partition, key, window, window.emitted,
                                                  window.version if closed else None))  # fmt: skip
                emission.rows += aggregates(window, size, not closed, now)
                state.changed = True
            state.dirty.clear()
        return emission

    async def store_emission(self, emission: Emission) -> None:
        """Store and publish the rows: I/O only, so the state lock need not be held (batches
        go on meanwhile), but ``emitting`` must be, so emissions land in the order taken and
        no checkpoint is written while one is in flight. If it fails, its windows are
        changed again, for the next emission."""
        try:
            if emission.rows:
                await store_aggregates(self.sink, emission.rows, self.settings.size_seconds)
                await retry_until_done(partial(self.publish, emission.rows), "publishing windows",
                                       self.sink.max_backoff)  # fmt: skip
        except BaseException:
            for taken in emission.taken:
                state = self._holding(taken)
                if state is not None:
                    taken.window.emitted = taken.emitted_before
                    state.dirty.add(taken.key)
            raise
        self.passes += 1
        self.emitted += len(emission.rows)

    def settle(self, emission: Emission) -> None:
        """Once its rows are stored: its closed windows leave the state (a late event loads
        them back from the store), unless a batch changed them since."""
        for taken in emission.taken:
            if taken.final_version is None or taken.window.version != taken.final_version:
                continue
            if (state := self._holding(taken)) is not None:
                del state.windows[taken.key]

    def _holding(self, taken: TakenWindow) -> PartitionState | None:
        """The partition state still holding this very window (not one recovered since)."""
        state = self.partitions.get(taken.partition)
        return state if state is not None and state.windows.get(taken.key) is taken.window else None

    async def emit(self) -> list[WindowAggregate]:
        """Take, store and settle an emission, with the state lock held throughout."""
        emission = self.take_emissions()
        await self.store_emission(emission)
        self.settle(emission)
        return emission.rows

    # --- checkpoints ------------------------------------------------------------------------
    def prune(self) -> None:
        cutoff = self.clock() - SPEND_RETENTION
        for state in self.partitions.values():
            for key in [k for k, v in state.spend.items() if v.period_end < cutoff]:
                del state.spend[key]
                state.changed = True

    async def checkpoint(self, monotonic_now: float, force: bool = False) -> int:
        if not force and monotonic_now - self.last_checkpoint < self.checkpoint_interval:
            return 0
        self.last_checkpoint = monotonic_now
        self.prune()
        changed = [state for state in self.partitions.values() if state.changed]
        if not changed:
            return 0
        await save_checkpoints(self.sink, self.settings.consumer_group, changed, self.layout, self.clock())
        for state in changed:
            state.changed = False
        self.checkpoints += 1
        return len(changed)

    # --- what reconciliation reads ----------------------------------------------------------
    def resident_windows(self) -> dict[WindowKey, Window]:
        return {key: window for state in self.partitions.values() for key, window in state.windows.items()}
