"""Windows and dedup against the real ClickHouse engine (chDB), driven batch by batch
with a controlled clock, through the same steps as the ingest agent: totals reconcile
with events under duplicates, re-stamped retries, late events, cardinality limits and a
crash between storing events and emitting their windows."""

import random
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import orjson
import pytest

from schemas import CostBreakdown, EventAttributes, PricedUsageEvent, TokenUsage, TrackingType
from schemas.windows import WindowAggregate
from stream.budgets.registry import BudgetRegistry
from stream.dedup import DedupResult, EventIds
from stream.ingest.agent import recover_partitions, store_and_apply
from stream.ingest.decode import SourceMessage
from stream.ingest.records import PricedRecord
from stream.sinks.clickhouse import ClickHouseSink
from stream.state.held import StreamState, WindowSettings
from stream.store.client import ClickHouseStore
from stream.store.migrate import migrate
from stream.store.rows import MEASURE_NAMES

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
        self.ids = EventIds(self.sink)
        self.state = self.new_state()
        self.offset = 0

    def new_state(self) -> StreamState:
        async def publish(aggregates: list[WindowAggregate]) -> None:
            self.published.extend(aggregates)

        settings = WindowSettings(size_seconds=60, grace=timedelta(minutes=5), dimensions=["feature"],
                                  max_groups=self.max_groups, consumer_group="test")
        return StreamState(settings, self.sink, BudgetRegistry([]), publish, clock=self.clock)

    async def ingest(self, events: list[PricedUsageEvent]) -> DedupResult:
        """One batch from partition 0, at the next offsets."""
        records = [PricedRecord(e, SourceMessage(b"", None, "raw", 0, self.offset + n)) for n, e in enumerate(events)]
        self.offset += len(events)
        dedup = (await store_and_apply(self.sink, self.ids, self.state, records, [], {0: self.offset - 1})).dedup
        return dedup

    async def redeliver(self, events: list[PricedUsageEvent], first_offset: int) -> DedupResult:
        records = [PricedRecord(e, SourceMessage(b"", None, "raw", 0, first_offset + n)) for n, e in enumerate(events)]
        dedup = (await store_and_apply(self.sink, self.ids, self.state, records, [], {0: first_offset})).dedup
        return dedup

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
    duplicates = rng.sample(events[:200], 60)
    await h.ingest(events[:200])
    second = await h.ingest(duplicates + events[200:])  # a producer resending, and a redelivery
    assert len(second.new) == 200 and second.repeated == 60 and not second.conflicts
    h.clock.now = T0 + timedelta(minutes=3)
    first = await h.state.emit()
    assert first and all(a.partial for a in first)
    expected = expected_totals(events)
    for tenant, totals in expected.items():
        assert h.totals("usage_windows", tenant) == totals
        assert h.totals("usage_events", tenant) == totals

    # Time passes beyond end + grace: windows close without new events, state empties.
    h.clock.now = T0 + timedelta(minutes=20)
    closed = await h.state.emit()
    assert closed and not any(a.partial for a in closed)
    assert h.state.resident_windows() == {}

    # A late event for a closed window: stored, its window loaded from the store and
    # emitted again with a higher version, holding every event once.
    late = priced_event(random.Random(5), "late-1", "acme", T0 + timedelta(seconds=30), "chat")
    late = late.model_copy(update={"total_cost": Decimal("1.5"), "priced": True,
                                   "token_cost": CostBreakdown(input=Decimal("1.5"), total=Decimal("1.5"))})
    await h.ingest([late])
    corrected = await h.state.emit()
    assert {a.window_start for a in corrected} == {T0}
    assert min(a.version for a in corrected) > max(
        a.version for a in closed if (a.tenant_id, a.window_start) == ("acme", T0))
    expected = expected_totals([*events, late])
    assert h.totals("usage_windows", "acme") == expected["acme"]

    # A checkpoint, then a batch stored and applied; the worker dies before emitting it.
    await h.state.checkpoint(0.0, force=True)
    crashed = [priced_event(rng, f"c{n}", "globex", T0 + timedelta(minutes=30, seconds=n), "chat")
               for n in range(25)]
    crash_offset = h.offset
    await h.ingest(crashed)
    h.state = h.new_state()
    tail, _ = await recover_partitions(h.state, h.ids, [0])
    assert h.state.recovered_events == 25  # the tail after the checkpoint, nothing older
    # a worker taking over publishes them again: the tail encodes as priced events
    from stream.ingest.encode import encode_priced_event

    assert sorted(orjson.loads(encode_priced_event(r.event))["event_id"] for r in tail) == sorted(
        e.event_id for e in crashed)
    assert h.state.partitions[0].offset == h.offset - 1  # and the state says it holds it
    # killed again right after a checkpoint of the recovered state: nothing replays twice
    await h.state.checkpoint(0.0, force=True)
    h.state = h.new_state()
    await recover_partitions(h.state, h.ids, [0])
    assert h.state.recovered_events == 0
    # the uncommitted batch is delivered again: every event is a repeat, nothing counts twice
    again = await h.redeliver(crashed, crash_offset)
    assert not again.new and again.repeated == 25
    await h.state.emit()
    expected = expected_totals([*events, late, *crashed])
    assert h.totals("usage_windows", "globex") == expected["globex"]

    # Rollups agree with the events too.
    for tenant, (cost, count) in expected.items():
        assert h.totals("usage_rollup_hour", tenant) == (cost, count)
        assert h.totals("usage_rollup_day", tenant) == (cost, count)


def acme_event(event_id: str, at: datetime, cost: str) -> PricedUsageEvent:
    """A priced event of tenant acme that costs ``cost`` USD."""
    event = priced_event(random.Random(event_id), event_id, "acme", at, "chat")
    return event.model_copy(update={"total_cost": Decimal(cost), "priced": True,
                                    "token_cost": CostBreakdown(input=Decimal(cost), total=Decimal(cost))})


async def test_a_late_event_while_its_window_closes_is_held_and_emitted_again(h: Harness) -> None:
    # Batches go on while an emission is stored: a late event for a window whose final
    # rows are on their way to the store is added to the held window, which stays held.
    await h.ingest([acme_event("on-time", T0 + timedelta(seconds=5), "0.25")])
    h.clock.now = T0 + timedelta(minutes=20)
    closing = h.state.take_emissions()
    assert [(a.window_start, a.partial, a.requests) for a in closing.rows] == [(T0, False, 1)]
    loaded = h.state.windows_loaded
    await h.ingest([acme_event("late", T0 + timedelta(seconds=50), "1.5")])
    assert h.state.windows_loaded == loaded  # added to the window held, not read from the store
    await h.state.store_emission(closing)
    h.state.settle(closing)
    assert list(h.state.resident_windows()) == [("acme", T0)]
    final = await h.state.emit()
    assert [(a.partial, a.requests) for a in final] == [(False, 2)]
    assert final[0].version > closing.rows[0].version
    assert h.totals("usage_windows", "acme") == (Decimal("1.75"), 2)
    assert h.state.resident_windows() == {}  # closed and unchanged since: it leaves the state


async def test_an_emission_that_fails_leaves_its_windows_to_the_next(h: Harness, tmp_path: Path) -> None:
    import asyncio

    from stream.sinks.clickhouse import fault_while_file_exists

    await h.ingest([acme_event("a", T0 + timedelta(seconds=5), "0.5"),
                    acme_event("b", T0 + timedelta(seconds=70), "2")])
    outage = tmp_path / "outage"
    outage.touch()
    h.sink.fault = fault_while_file_exists(outage)
    emission = h.state.take_emissions()
    assert len(emission.rows) == 2 and not h.state.partitions[0].dirty
    storing = asyncio.ensure_future(h.state.store_emission(emission))
    await asyncio.sleep(0.3)  # retrying through the outage
    storing.cancel()  # the worker stops
    with pytest.raises(asyncio.CancelledError):
        await storing
    assert h.state.partitions[0].dirty == {("acme", T0), ("acme", T0 + timedelta(minutes=1))}
    outage.unlink()
    again = await h.state.emit()
    assert sorted(a.total_cost for a in again) == [Decimal("0.5"), Decimal("2")]
    assert h.totals("usage_windows", "acme") == (Decimal("2.5"), 2)


async def test_a_retry_with_a_restamped_time_counts_once_and_is_recorded(h: Harness) -> None:
    rng = random.Random(8)
    first = priced_event(rng, "retry-1", "acme", T0 + timedelta(seconds=10), "chat")
    await h.ingest([first])
    # the producer's retry: same event_id, a new occurred_at in the next minute
    retry = first.model_copy(update={"occurred_at": T0 + timedelta(minutes=1, seconds=5)})
    result = await h.ingest([retry])
    assert not result.new and [c.differing for c in result.conflicts] == [["occurred_at"]]
    await h.state.emit()
    assert h.totals("usage_events", "acme") == (first.total_cost or Decimal(0), 1)
    assert h.totals("usage_windows", "acme") == (first.total_cost or Decimal(0), 1)
    recorded = h.store.query_sync("SELECT event_id, differing FROM duplicate_events FINAL").result_rows
    assert recorded == [("retry-1", ["occurred_at"])]
    # the same event in two batches, field order aside, is a plain repeat
    assert (await h.ingest([first])).repeated == 1


async def test_groups_beyond_the_limit_fold_into_other_without_losing_money(h: Harness) -> None:
    rng = random.Random(3)
    h.max_groups = 3
    h.state = h.new_state()
    events = [priced_event(rng, f"g{n}", "noisy", T0 + timedelta(seconds=n % 50), f"feature-{n % 9}")
              for n in range(90)]
    await h.ingest(events[:10])  # the window is loaded from the store, then updated per event
    await h.ingest(events[10:])
    emitted = await h.state.emit()
    assert len({a.group_key for a in emitted}) <= 3
    assert "other" in {a.dimensions["feature"] for a in emitted}
    assert {(a.provider, a.model) for a in emitted} == {("openai", "gpt-4o")}  # folding keeps them
    assert h.totals("usage_windows", "noisy") == expected_totals(events)["noisy"]


async def test_reconciliation_finds_and_repairs_what_the_state_missed(h: Harness) -> None:
    from schemas.budgets import Budget
    from stream.reconcile import reconcile

    budget = Budget(id="acme-day", tenant_id="acme", period="day", limit_usd=Decimal(1000))
    h.state.registry.put(budget)
    rng = random.Random(21)
    events = [priced_event(rng, f"r{n}", "acme", T0 + timedelta(seconds=n), "chat") for n in range(20)]
    await h.ingest(events[:10])
    await h.ingest(events[10:])
    clean = await reconcile(h.state)
    assert clean.clean and clean.windows_checked == 1 and clean.budget_periods_checked == 1

    # another writer stores an event of the same window and day behind the worker's back
    stray = priced_event(rng, "stray", "acme", T0 + timedelta(seconds=40), "chat")
    stray = stray.model_copy(update={"total_cost": Decimal("2.25"), "priced": True,
                                     "token_cost": CostBreakdown(input=Decimal("2.25"), total=Decimal("2.25"))})
    await h.sink.store_batch([PricedRecord(stray, SourceMessage(b"", None, "raw", 0, 999))], [])
    found = await reconcile(h.state)
    assert [(w.tenant_id, w.window_start) for w in found.windows] == [("acme", T0)]
    assert found.windows[0].measures["requests"] == (20, 21)
    assert found.windows[0].cost_drift == Decimal("-2.25")
    assert [(b.budget_id, b.spend_drift) for b in found.budgets] == [("acme-day", Decimal("-2.25"))]
    assert found.drift_usd == Decimal("4.50")
    assert found.by_tenant()["acme"]["budget_periods"] == 1
    # repaired: the store's figures are held now, and emitted
    assert (await reconcile(h.state)).clean
    await h.state.emit()
    assert h.totals("usage_windows", "acme") == expected_totals([*events, stray])["acme"]


async def test_an_event_read_back_from_the_store_has_its_first_deliverys_content(h: Harness) -> None:
    from stream.dedup.content import compared_values, differing_fields
    from stream.state.checkpoint import stored_after

    rng = random.Random(4)
    event = priced_event(rng, "fp-1", "acme", T0 + timedelta(seconds=1, microseconds=123_456), "chat")
    event = event.model_copy(update={"attributes": EventAttributes(feature="chat", latency_ms=812,
                                                                   tags={"b": "2", "a": "1"})})
    await h.ingest([event])
    (stored,) = (await stored_after(h.store, {0: (-1, T0 - timedelta(days=1))}))[0]
    first = PricedRecord(event, SourceMessage(b"", None, "raw", 0, 0))
    assert stored.event.occurred_at != event.occurred_at  # milliseconds in the store
    assert differing_fields(compared_values(stored), compared_values(first)) == []
    # a redelivery after recovery registered the stored form is a plain repeat
    assert (await h.redeliver([event], 0)).repeated == 1


async def test_partitions_taken_over_at_once_each_resume_from_their_own_checkpoint(h: Harness) -> None:
    rng = random.Random(14)
    offsets = {0: 0, 1: 0, 2: 0}

    async def batch(partition: int, count: int) -> list[PricedUsageEvent]:
        events = [priced_event(rng, f"p{partition}-{offsets[partition] + n}", f"tenant-{partition}",
                               T0 + timedelta(seconds=n), "chat") for n in range(count)]
        records = [PricedRecord(e, SourceMessage(b"", None, "raw", partition, offsets[partition] + n))
                   for n, e in enumerate(events)]
        offsets[partition] += count
        await store_and_apply(h.sink, h.ids, h.state, records, [], {partition: offsets[partition] - 1})
        return events

    for partition, before in ((0, 4), (1, 9), (2, 2)):
        await batch(partition, before)
    await h.state.checkpoint(0.0, force=True)
    after = {0: await batch(0, 3), 1: [], 2: await batch(2, 5)}  # stored, not checkpointed
    h.state = h.new_state()
    tail, _ = await recover_partitions(h.state, h.ids, [0, 1, 2, 3])  # 3: no checkpoint at all
    assert [r.event.event_id for r in tail] == [e.event_id for e in after[0] + after[2]]
    assert {p: s.offset for p, s in h.state.partitions.items()} == {0: 6, 1: 8, 2: 6, 3: -1}
    assert h.state.recovered_events == 8
    for partition, count in ((0, 7), (1, 9), (2, 7)):
        (window,) = [w for (tenant, _), w in h.state.resident_windows().items() if tenant == f"tenant-{partition}"]
        assert window.totals()[MEASURE_NAMES.index("requests")] == count


async def test_a_checkpoint_past_the_topics_end_is_set_aside(h: Harness) -> None:
    """The embedded broker lost its topics (restarted): offsets start again at 0."""
    rng = random.Random(9)
    await h.ingest([priced_event(rng, f"t{n}", "acme", T0 + timedelta(seconds=n), "chat") for n in range(30)])
    await h.state.checkpoint(0.0, force=True)
    h.state = h.new_state()
    await recover_partitions(h.state, h.ids, [0], {0: 5})  # 29 > 2 x 5
    assert h.state.partitions[0].offset == -1 and not h.state.partitions[0].windows
    h.state = h.new_state()
    await recover_partitions(h.state, h.ids, [0], {0: 27})  # a broker's end trailing a little: it holds
    assert h.state.partitions[0].offset == 29 and h.state.partitions[0].windows


async def test_the_same_event_id_of_another_tenant_is_another_event(h: Harness) -> None:
    rng = random.Random(12)
    await h.ingest([priced_event(rng, "shared-id", "acme", T0, "chat")])
    other = await h.ingest([priced_event(rng, "shared-id", "globex", T0, "chat")])
    assert len(other.new) == 1 and not other.repeated and not other.conflicts


async def test_a_store_failing_the_lookups_is_retried_and_loses_nothing(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(13)
    events = [priced_event(rng, f"l{n}", "acme", T0 + timedelta(seconds=n), "chat") for n in range(5)]
    await h.ingest(events[:2])
    failed: list[str] = []

    def failing_once(method: str) -> object:
        real = getattr(h.store, method)

        async def call(*args: object, **kwargs: object) -> object:
            if method not in failed:  # the store is down for the first call of each kind
                failed.append(method)
                raise ConnectionError(f"{method}: the store is down")
            return await real(*args, **kwargs)

        return call

    monkeypatch.setattr(h.store, "query_rows", failing_once("query_rows"))  # the id lookup
    monkeypatch.setattr(h.store, "query_consistent", failing_once("query_consistent"))  # first deliveries
    restamped = events[0].model_copy(update={"occurred_at": T0 + timedelta(minutes=5)})
    result = await h.ingest([events[1], restamped, *events[2:]])
    assert failed == ["query_rows", "query_consistent"]
    assert [r.event.event_id for r in result.new] == ["l2", "l3", "l4"]
    assert result.repeated == 1 and [c.differing for c in result.conflicts] == [["occurred_at"]]
    assert h.totals("usage_events", "acme")[1] == 5


async def test_windows_missing_on_several_partitions_are_loaded_at_once_each_partition_its_own(
    h: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new owner's first batch, on two partitions: the windows neither holds are read
    from the store in one load, holding what was stored before plus this batch, and a
    tenant whose events came on both partitions gets a window object per partition."""
    rng = random.Random(14)
    before = [priced_event(rng, f"b{n}", "acme", T0 + timedelta(seconds=n), "chat") for n in range(4)]
    await h.ingest(before)
    h.state = h.new_state()  # another worker takes over: it holds no window yet
    loads: list[str] = []
    real = h.store.query_consistent

    async def counting(sql: str, *args: object, **kwargs: object) -> object:
        if "FROM usage_windows FINAL" in sql:
            loads.append(sql)
        return await real(sql, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(h.store, "query_consistent", counting)
    batch = [
        (0, priced_event(rng, "a1", "acme", T0 + timedelta(seconds=10), "chat")),
        (1, priced_event(rng, "g1", "globex", T0 + timedelta(seconds=11), "chat")),
        (1, priced_event(rng, "g2", "globex", T0 + timedelta(seconds=12), "search")),
        (0, priced_event(rng, "g3", "globex", T0 + timedelta(seconds=13), "chat")),
    ]
    records = [PricedRecord(e, SourceMessage(b"", None, "raw", p, 100 + n)) for n, (p, e) in enumerate(batch)]
    await store_and_apply(h.sink, h.ids, h.state, records, [], {0: 103, 1: 102})
    assert len(loads) == 1, "one load for the windows of both partitions"
    start = T0.replace(second=0)  # the 60 s window holding all of these
    total = MEASURE_NAMES.index("total_cost")
    acme = h.state.partitions[0].windows[("acme", start)]
    expected_acme = sum((e.total_cost or Decimal(0) for e in [*before, batch[0][1]]), Decimal(0))
    assert acme.totals()[total] == expected_acme and acme.totals()[0] == 5
    globex = [h.state.partitions[p].windows[("globex", start)] for p in (0, 1)]
    assert globex[0] is not globex[1]
