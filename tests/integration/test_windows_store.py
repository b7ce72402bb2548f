"""Window aggregation against the real ClickHouse engine (chDB), driven pass by pass
with a controlled clock: totals reconcile with events under duplicates, late events,
cardinality limits and a crash between storing events and emitting their windows."""

import random
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from stream.windows.tracker import WindowSettings, WindowTracker

from schemas import CostBreakdown, EventAttributes, PricedUsageEvent, TokenUsage, TrackingType
from schemas.windows import WindowAggregate
from stream.ingest.decode import SourceMessage
from stream.ingest.records import PricedRecord
from stream.sinks.clickhouse import ClickHouseSink
from stream.store.client import ClickHouseStore
from stream.store.migrate import migrate

T0 = datetime(2026, 5, 4, 9, 58, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def priced_event(rng: random.Random, event_id: str, tenant: str, at: datetime, feature: str) -> PricedUsageEvent:
    priced = rng.random() > 0.1
    # costs with up to 12 decimal places, as per-token rates produce
    parts = [Decimal(rng.randint(0, 10**9)) / Decimal(10**12) for _ in range(4)]
    breakdown = CostBreakdown(input=parts[0], cache_read=parts[1], output=parts[2], reasoning=parts[3],
                              total=sum(parts, Decimal(0))) if priced else None
    return PricedUsageEvent(
        event_id=event_id, tenant_id=tenant, occurred_at=at, ingested_at=datetime.now(UTC), provider="openai",
        api_flavor="chat", model="gpt-4o", resolved_model="gpt-4o" if priced else None,
        tokens=TokenUsage(input_tokens=100, cache_read_tokens=20, output_tokens=30, reasoning_tokens=5),
        token_cost=breakdown, provider_cost_usd=None, total_cost=breakdown.total if breakdown else None,
        cost_drift_usd=None, tracking_type=TrackingType.TOKENS if priced else TrackingType.UNPRICED,
        priced=priced, price_source="genai-prices" if priced else None, price_version=None,
        attributes=EventAttributes(feature=feature),
    )


class Harness:
    def __init__(self, path: Path, max_groups: int = 50) -> None:
        self.store = ClickHouseStore(f"chdb://{path}")
        migrate(self.store)
        self.sink = ClickHouseSink(self.store, max_backoff=0.05)
        self.clock = Clock(T0)
        self.published: list[WindowAggregate] = []
        self.max_groups = max_groups
        self.tracker = self.new_tracker()

    def new_tracker(self) -> WindowTracker:
        async def publish(aggregates: list[WindowAggregate]) -> None:
            self.published.extend(aggregates)

        settings = WindowSettings(size_seconds=60, grace=timedelta(minutes=5), dimensions=["feature"],
                                  max_groups=self.max_groups, consumer_group="test")
        return WindowTracker(settings, self.sink, publish, clock=self.clock)

    async def ingest(self, events: list[PricedUsageEvent], note: bool = True) -> None:
        records = [PricedRecord(e, SourceMessage(b"", None, "raw", 0, n)) for n, e in enumerate(events)]
        self.tracker.begin_batch(datetime.now(UTC))
        await self.sink.store_batch(records, [])
        if note:
            self.tracker.note(events)

    def totals(self, table: str, tenant: str) -> tuple[Decimal, int]:
        column = "requests" if table != "usage_events" else "1"
        rows = self.store.query_sync(
            f"SELECT sum(total_cost), sum({column}) FROM {table} FINAL WHERE tenant_id = {{t:String}}",
            {"t": tenant},
        ).result_rows
        cost, count = rows[0]
        return Decimal(cost or 0), int(count or 0)


def expected_totals(events: list[PricedUsageEvent]) -> dict[str, tuple[Decimal, int]]:
    unique = {e.event_id: e for e in events}
    totals: dict[str, list[object]] = defaultdict(lambda: [Decimal(0), 0])
    for event in unique.values():
        entry = totals[event.tenant_id]
        entry[0] = Decimal(entry[0]) + (event.total_cost or Decimal(0))  # type: ignore[arg-type]
        entry[1] = int(entry[1]) + 1  # type: ignore[call-overload]
    return {tenant: (Decimal(c), int(n)) for tenant, (c, n) in totals.items()}  # type: ignore[call-overload]


@pytest.fixture
def h(tmp_path: Path) -> Iterator[Harness]:
    # chDB serves one data path per process at a time: close it whatever the test did.
    opened = Harness(tmp_path)
    yield opened
    opened.store.close()


async def test_windows_reconcile_with_events_through_duplicates_late_events_and_a_crash(h: Harness) -> None:
    rng = random.Random(11)
    events = [
        priced_event(rng, f"e{n}", rng.choice(["acme", "globex"]), T0 + timedelta(seconds=rng.randint(0, 300)),
                     rng.choice(["chat", "search", "summarize"]))
        for n in range(400)
    ]
    duplicates = rng.sample(events, 60)
    await h.ingest(events[:200])
    await h.ingest(duplicates + events[200:])  # a producer resending, and a redelivery
    h.clock.now = T0 + timedelta(minutes=3)
    first = await h.tracker.run_pass([0])
    assert first and all(a.partial for a in first if a.window_start >= T0 + timedelta(minutes=0))
    expected = expected_totals(events)
    for tenant, totals in expected.items():
        assert h.totals("usage_windows", tenant) == totals
        assert h.totals("usage_events", tenant) == totals

    # Time passes beyond end + grace: windows close without new events, state empties.
    h.clock.now = T0 + timedelta(minutes=20)
    closed = await h.tracker.run_pass([0])
    assert closed and not any(a.partial for a in closed)
    assert h.tracker.open_windows == set()
    assert h.tracker.dirty == set()

    # A late event for a closed window: stored, and its window is re-emitted, higher version.
    late = priced_event(random.Random(5), "late-1", "acme", T0 + timedelta(seconds=30), "chat")
    late = late.model_copy(update={"total_cost": Decimal("1.5"), "priced": True,
                                   "token_cost": CostBreakdown(input=Decimal("1.5"), total=Decimal("1.5"))})
    await h.ingest([late])
    corrected = await h.tracker.run_pass([0])
    assert {a.window_start for a in corrected} == {T0}
    assert min(a.version for a in corrected) > max(a.version for a in closed)
    expected = expected_totals([*events, late])
    assert h.totals("usage_windows", "acme") == expected["acme"]

    # Crash: events stored and committed, but the worker dies before their windows are emitted.
    crashed = [priced_event(rng, f"c{n}", "globex", T0 + timedelta(minutes=30, seconds=n), "chat")
               for n in range(25)]
    await h.ingest(crashed, note=False)
    h.tracker = h.new_tracker()
    await h.tracker.recover([0])
    await h.tracker.run_pass([0])
    expected = expected_totals([*events, late, *crashed])
    assert h.totals("usage_windows", "globex") == expected["globex"]

    # Rollups agree with the events too.
    for tenant, (cost, count) in expected.items():
        assert h.totals("usage_rollup_hour", tenant) == (cost, count)
        assert h.totals("usage_rollup_day", tenant) == (cost, count)


async def test_groups_beyond_the_limit_fold_into_other_without_losing_money(h: Harness) -> None:
    rng = random.Random(3)
    h.max_groups = 3
    h.tracker = h.new_tracker()
    events = [priced_event(rng, f"g{n}", "noisy", T0 + timedelta(seconds=n % 50), f"feature-{n % 9}")
              for n in range(90)]
    await h.ingest(events)
    emitted = await h.tracker.run_pass([0])
    assert len({a.group_key for a in emitted}) == 3
    assert "other" in {a.dimensions["feature"] for a in emitted}
    assert h.totals("usage_windows", "noisy") == expected_totals(events)["noisy"]
