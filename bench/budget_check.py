"""What one batch pays to check a budget, against how many events the budget's period
already holds (10k to 10M), in chDB.

The events of one tenant are generated in the engine (``INSERT ... SELECT FROM numbers``)
over the current month up to a minute ago, from raw-topic partition 0, with their ids in
``event_ids`` as the worker would have registered them. For each size:

- old: one ``period_spend`` over the whole period, which every batch used to pay per
  touched budget (best of several repeats), as generated (the month in several parts) and
  again after ``OPTIMIZE ... FINAL`` (one part: what ``FINAL`` costs least over);
- new: a fresh ``StreamState`` and ``BudgetEnforcer`` over that store; one warm-up batch
  seeds the period's spend from the store (once per period held), then each batch of 100
  new priced events of the tenant goes through ``store_and_apply`` as in the worker and the
  enforcer checks the budget from the running spend. Reported: ``state.apply`` plus
  ``enforcer.check`` (the budget work), and the whole ``store_and_apply`` plus check (with
  dedup lookup and inserts), best and median of the batches.

The budget is monthly with a limit no batch reaches, so no breach fires: a breach adds a
publish and one insert to the batch that crosses it, whatever the period holds.
"""

import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from rich.table import Table

from schemas import CostBreakdown, EventAttributes, PricedUsageEvent, TokenUsage, TrackingType
from schemas.budgets import Budget, BudgetBreach, BudgetStatus
from schemas.windows import WindowAggregate
from stream.budgets.enforcer import BudgetEnforcer
from stream.budgets.periods import period_bounds
from stream.budgets.registry import BudgetRegistry
from stream.budgets.running import BudgetTouch
from stream.budgets.spend import period_spend
from stream.dedup import EventIds
from stream.ingest.agent import store_and_apply
from stream.ingest.decode import SourceMessage
from stream.ingest.records import PricedRecord
from stream.sinks.clickhouse import ClickHouseSink
from stream.state.held import StreamState, WindowSettings
from stream.store.client import ClickHouseStore
from stream.store.migrate import migrate

SIZES = (10_000, 100_000, 1_000_000, 10_000_000)
TENANT = "budget-bench"
BATCH = 100
BATCHES = 20
OLD_REPEATS = 5

GENERATE = """
INSERT INTO usage_events (event_id, tenant_id, occurred_at, ingested_at, provider, api_flavor, model, resolved_model,
    tracking_type, priced, input_tokens, cache_read_tokens, output_tokens, input_cost, cache_read_cost, output_cost,
    token_cost, total_cost, currency, price_source, feature, session_id, request_id, latency_ms, kafka_partition,
    kafka_offset)
SELECT concat('h', toString(number)), {tenant:String},
       {start:DateTime64(3, 'UTC')} + toIntervalMillisecond((number * 7919) % {span_ms:UInt64}),
       now64(3), 'openai', 'chat', concat('model-', toString(number % 20)),
       concat('openai/model-', toString(number % 20)), 'tokens', true,
       1000 + number % 5000, (number % 3) * 100, 100 + number % 700,
       toDecimal128((1000 + number % 5000 - (number % 3) * 100) * 0.00000015, 18) AS input_part,
       toDecimal128((number % 3) * 100 * 0.000000075, 18) AS cache_part,
       toDecimal128((100 + number % 700) * 0.0000006, 18) AS output_part,
       input_part + cache_part + output_part, input_part + cache_part + output_part,
       'USD', 'genai-prices', concat('feature-', toString(number % 7)), concat('s-', toString(number % 100000)),
       concat('r-', toString(number)), toUInt32(200 + number % 3000), 0, number
FROM numbers({first:UInt64}, {count:UInt64})
"""

REGISTER = """
INSERT INTO event_ids (tenant_id, event_id, occurred_at, kafka_partition, kafka_offset, ingested_at)
SELECT tenant_id, event_id, occurred_at, kafka_partition, kafka_offset, ingested_at FROM usage_events
WHERE tenant_id = {tenant:String} AND kafka_offset >= {first:UInt64} AND kafka_offset < {last:UInt64}
"""


def label(events: int) -> str:
    if events % 1_000_000 == 0:
        return f"{events // 1_000_000}M"
    return f"{events // 1000}k" if events % 1000 == 0 else str(events)


def sizes_up_to(largest: int) -> list[int]:
    """The sizes measured when the run is capped at ``largest`` events (``--report-events``)."""
    chosen = [size for size in SIZES if size <= largest]
    if largest not in chosen and largest > 0:
        chosen.append(largest)
    return chosen


def priced_event(rng: random.Random, event_id: str, at: datetime) -> PricedUsageEvent:
    parts = [Decimal(rng.randint(0, 10**9)) / Decimal(10**12) for _ in range(4)]
    breakdown = CostBreakdown(input=parts[0], cache_read=parts[1], output=parts[2], reasoning=parts[3],
                              total=sum(parts, Decimal(0)))
    return PricedUsageEvent(
        event_id=event_id, tenant_id=TENANT, occurred_at=at, ingested_at=datetime.now(UTC), provider="openai",
        api_flavor="chat", model="gpt-4o", resolved_model="gpt-4o",
        tokens=TokenUsage(input_tokens=100, cache_read_tokens=20, output_tokens=30, reasoning_tokens=5),
        token_cost=breakdown, provider_cost_usd=None, total_cost=breakdown.total, cost_drift_usd=None,
        tracking_type=TrackingType.TOKENS, priced=True, price_source="genai-prices", price_version=None,
        attributes=EventAttributes(feature="bench"),
    )


@dataclass
class TimedState(StreamState):
    """The worker's state, timing each ``apply`` (the part of ``store_and_apply`` after the inserts)."""

    apply_seconds: list[float] = field(default_factory=list)

    async def apply(self, records: Sequence[PricedRecord]) -> list[BudgetTouch]:
        started = time.perf_counter()
        touches = await super().apply(records)
        self.apply_seconds.append(time.perf_counter() - started)
        return touches


@dataclass
class Batches:
    sink: ClickHouseSink
    offset: int
    rng: random.Random = field(default_factory=lambda: random.Random(11))
    sent: int = 0

    def next(self) -> list[PricedRecord]:
        now = datetime.now(UTC)
        records = []
        for n in range(BATCH):
            event = priced_event(self.rng, f"new-{self.sent}", now)
            records.append(PricedRecord(event, SourceMessage(b"", None, "raw", 0, self.offset + n)))
            self.sent += 1
        self.offset += BATCH
        return records


async def old_cost(store: ClickHouseStore, budget: Budget) -> float:
    """Seconds of one ``period_spend`` over the budget's current period, best of repeats."""
    start, end = period_bounds(datetime.now(UTC), budget.period, budget.timezone)
    best = float("inf")
    for _ in range(OLD_REPEATS):
        started = time.perf_counter()
        await period_spend(store, budget, start, end)
        best = min(best, time.perf_counter() - started)
    return best


async def measure(store: ClickHouseStore, budget: Budget, batches: Batches) -> dict[str, float]:
    start, end = period_bounds(datetime.now(UTC), budget.period, budget.timezone)
    old = await old_cost(store, budget)

    sink = batches.sink
    registry = BudgetRegistry([budget])
    breaches: list[BudgetBreach] = []
    statuses: list[BudgetStatus] = []
    windows: list[WindowAggregate] = []

    async def collect_breach(breach: BudgetBreach) -> None:
        breaches.append(breach)

    async def collect_status(status: BudgetStatus) -> None:
        statuses.append(status)

    async def collect_windows(rows: list[WindowAggregate]) -> None:
        windows.extend(rows)

    settings = WindowSettings(size_seconds=60, grace=timedelta(minutes=5), dimensions=["feature"], max_groups=50,
                              consumer_group="bench")
    state = TimedState(settings, sink, registry, collect_windows)
    enforcer = BudgetEnforcer(registry, sink, collect_breach, collect_status)
    enforcer.ready.set()
    ids = EventIds(sink)

    async def one_batch() -> tuple[float, float, list[BudgetTouch]]:
        records = batches.next()
        started = time.perf_counter()
        touches = (await store_and_apply(sink, ids, state, records, [], {0: batches.offset - 1})).touches
        stored = time.perf_counter()
        await enforcer.check(touches, state.spend_of)
        checked = time.perf_counter()
        return state.apply_seconds[-1] + (checked - stored), checked - started, touches

    seed_apply_check, seed_batch, touches = await one_batch()  # seeds the period's spend (once per period held)
    assert state.spend_seeded == 1 and touches, "the warm-up batch did not seed the budget's spend"
    apply_check, whole = [], []
    for _ in range(BATCHES):
        part, total, touches = await one_batch()
        apply_check.append(part)
        whole.append(total)
    assert state.spend_seeded == 1, "a later batch read the spend from the store again"
    assert not breaches, "the bench budget is not meant to be crossed"
    stored = await period_spend(store, budget, start, end)
    held = state.spend_of(touches[0])
    assert held.spend == stored.spend, f"running spend {held.spend} != stored spend {stored.spend}"
    return {
        "old_ms": old * 1000,
        "new_apply_check_ms": min(apply_check) * 1000,
        "new_apply_check_median_ms": statistics.median(apply_check) * 1000,
        "new_store_and_apply_ms": min(whole) * 1000,
        "new_store_and_apply_median_ms": statistics.median(whole) * 1000,
        "seed_batch_ms": seed_batch * 1000,
        "seed_apply_check_ms": seed_apply_check * 1000,
    }


async def _run(store: ClickHouseStore, sizes: Sequence[int]) -> dict[str, float]:
    figures: dict[str, float] = {}
    now = datetime.now(UTC)
    budget = Budget.model_validate({"id": "budget-bench-month", "tenant_id": TENANT, "period": "month",
                                    "limit_usd": "1000000000"})
    start, _ = period_bounds(now, budget.period, budget.timezone)
    span_ms = max(int((now - start - timedelta(minutes=1)).total_seconds() * 1000), 1000)
    sink = ClickHouseSink(store, max_backoff=0.5)
    batches = Batches(sink, offset=max(sizes))
    generated, generate_s = 0, 0.0
    for size in sizes:
        began = time.perf_counter()
        params = {"tenant": TENANT, "start": start, "span_ms": span_ms, "first": generated, "count": size - generated}
        store.command_sync(GENERATE, params)
        store.command_sync(REGISTER, {"tenant": TENANT, "first": generated, "last": size})
        generate_s += time.perf_counter() - began
        generated = size
        for name, value in (await measure(store, budget, batches)).items():
            figures[f"budget_check_{name}_at_{label(size)}"] = value
        # FINAL costs more over parts not merged yet; the same query once the month is one part:
        store.command_sync("OPTIMIZE TABLE usage_events FINAL")
        figures[f"budget_check_old_merged_ms_at_{label(size)}"] = await old_cost(store, budget) * 1000
    first, top = label(sizes[0]), label(sizes[-1])
    figures["budget_check_events_largest"] = float(sizes[-1])
    figures["budget_check_generate_s"] = generate_s
    figures["budget_check_new_ratio_largest_to_smallest"] = (
        figures[f"budget_check_new_apply_check_ms_at_{top}"] / figures[f"budget_check_new_apply_check_ms_at_{first}"]
    )
    figures["budget_check_old_ratio_largest_to_smallest"] = (
        figures[f"budget_check_old_ms_at_{top}"] / figures[f"budget_check_old_ms_at_{first}"]
    )
    return figures


def run(largest: int = SIZES[-1]) -> dict[str, float]:
    sizes = sizes_up_to(largest)
    if not sizes:
        return {}
    with tempfile.TemporaryDirectory() as folder:
        store = ClickHouseStore(f"chdb://{Path(folder) / 'clickhouse'}")
        try:
            migrate(store)
            return asyncio.run(_run(store, sizes))
        finally:
            store.close()


def table(figures: dict[str, float]) -> Table:
    out = Table(title=f"budget check per batch of {BATCH} events (one monthly budget, best of {BATCHES} batches)",
                header_style="bold")
    for column in ("events in period", "old: period_spend ms", "old, merged ms", "new: apply + check ms",
                   "new: whole batch ms"):
        out.add_column(column, justify="right")
    for size in sizes_up_to(int(figures["budget_check_events_largest"])):
        key = label(size)
        out.add_row(f"{size:,}", f"{figures[f'budget_check_old_ms_at_{key}']:,.2f}",
                    f"{figures[f'budget_check_old_merged_ms_at_{key}']:,.2f}",
                    f"{figures[f'budget_check_new_apply_check_ms_at_{key}']:,.3f}",
                    f"{figures[f'budget_check_new_store_and_apply_ms_at_{key}']:,.2f}")
    return out


def main() -> None:
    """``python -m bench.budget_check [LARGEST]``: this figure alone, merged into
    ``bench/results/bench.json`` (the other figures there are kept)."""
    from rich.console import Console

    from bench.run import RESULTS

    largest = int(sys.argv[1]) if len(sys.argv) > 1 else SIZES[-1]
    figures = run(largest)
    console = Console()
    console.print(table(figures))
    for key, value in figures.items():
        console.print(f"{key}: {value:,.3f}")
    out = RESULTS / "bench.json"
    results = json.loads(out.read_text()) if out.exists() else {}
    results.update(figures)
    results["budget_check_measured_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    RESULTS.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, default=str))
    console.print(f"written {out}")


if __name__ == "__main__":
    main()
