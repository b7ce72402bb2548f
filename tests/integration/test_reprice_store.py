"""Re-pricing against the real ClickHouse engine (chDB), without a worker: stored events
priced with one catalog, a price change lands, `reprice` writes corrected rows, windows
and rollups, and a worker state that held the old figures is repaired by its next
reconciliation. Expected costs come from the rates stated here."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest

from schemas.windows import WindowAggregate
from stream.budgets.registry import BudgetRegistry
from stream.dedup import EventIds
from stream.ingest.agent import store_and_apply
from stream.ingest.decode import SourceMessage
from stream.ingest.pipeline import process_messages
from stream.pricing import Overrides, PriceBook
from stream.reconcile import reconcile
from stream.reprice.run import RepriceRequest
from stream.reprice.worker import reprice_direct
from stream.sinks.clickhouse import ClickHouseSink
from stream.state.held import StreamState, WindowSettings
from stream.store.client import ClickHouseStore
from stream.store.migrate import migrate

MODEL = "reprice-test-model"
CHANGE = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
T0 = CHANGE - timedelta(minutes=2)
MILLION = Decimal(1_000_000)
# The price list: $3 / $15 per MTok (input / output) until the change, $1.50 / $7.50 after.
OLD = (Decimal(3), Decimal(15))
NEW = (Decimal("1.5"), Decimal("7.5"))


def book(document: dict[str, Any], revision: str) -> PriceBook:
    return PriceBook(Overrides.parse(document, revision))


BEFORE = book({"overrides": [
    {"provider": "openai", "model": MODEL, "effective_from": "2026-01-01T00:00:00Z",
     "rates": {"input": "3", "output": "15"}},
]}, "rev-a")  # fmt: skip
AFTER = book({"overrides": [
    {"provider": "openai", "model": MODEL, "effective_from": "2026-01-01T00:00:00Z",
     "effective_until": "2026-05-04T10:00:00Z", "rates": {"input": "3", "output": "15"}},
    {"provider": "openai", "model": MODEL, "effective_from": "2026-05-04T10:00:00Z",
     "rates": {"input": "1.5", "output": "7.5"}},
]}, "rev-b")  # fmt: skip


def cost(input_tokens: int, output: int, rates: tuple[Decimal, Decimal]) -> Decimal:
    return (input_tokens * rates[0] + output * rates[1]) / MILLION


def raw(event_id: str, tenant: str, at: datetime, input_tokens: int, output: int, model: str = MODEL) -> bytes:
    return orjson.dumps({
        "event_id": event_id, "tenant_id": tenant, "occurred_at": at.isoformat(), "provider": "openai",
        "model": model, "usage": {"input_tokens": input_tokens, "output_tokens": output},
        "attributes": {"feature": "chat"},
    })  # fmt: skip


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class Harness:
    def __init__(self, path: Path) -> None:
        self.store = ClickHouseStore(f"chdb://{path}")
        migrate(self.store)
        self.sink = ClickHouseSink(self.store, max_backoff=0.05)
        self.clock = Clock(T0 + timedelta(minutes=5))

        async def publish(aggregates: list[WindowAggregate]) -> None:
            return None

        self.settings = WindowSettings(size_seconds=60, grace=timedelta(minutes=5), dimensions=["feature"],
                                       max_groups=50, consumer_group="test")  # fmt: skip
        self.state = StreamState(self.settings, self.sink, BudgetRegistry([]), publish, clock=self.clock)

    async def ingest(self, messages: list[bytes]) -> None:
        source = [SourceMessage(m, None, "raw", 0, n) for n, m in enumerate(messages)]
        result = process_messages(source, BEFORE, datetime.now(UTC))
        assert not result.dead
        await store_and_apply(self.sink, EventIds(self.sink), self.state, result.priced, [], {0: len(messages) - 1})
        await self.state.emit()

    def one(self, sql: str, **parameters: Any) -> Any:
        return self.store.query_sync(sql, parameters).result_rows[0]

    def total(self, table: str, tenant: str) -> tuple[Decimal, int]:
        count = "count()" if table == "usage_events" else "sum(requests)"
        cost_sum, n = self.one(f"SELECT sum(total_cost), {count} FROM {table} FINAL WHERE tenant_id = {{t:String}}",
                               t=tenant)  # fmt: skip
        return Decimal(cost_sum), int(n)

    async def reprice(self, **request: Any) -> Any:
        return await reprice_direct(self.sink, AFTER, RepriceRequest(**request), size_seconds=60,
                                    dimensions=["feature"], max_groups=50, grace_seconds=300)  # fmt: skip


@pytest.fixture
def h(tmp_path: Path) -> Iterator[Harness]:
    opened = Harness(tmp_path)
    yield opened
    opened.store.close()


async def test_reprice_corrects_events_windows_and_rollups_once_and_reconciliation_repairs_held_state(
    h: Harness,
) -> None:
    before = [(f"b{n}", T0 + timedelta(seconds=10 * n), 1000 + 10 * n, 200 + n) for n in range(6)]
    after = [(f"a{n}", CHANGE + timedelta(seconds=30 + 10 * n), 2000 + 10 * n, 300 + n) for n in range(6)]
    other = [(f"o{n}", CHANGE + timedelta(seconds=40), 500, 50) for n in range(3)]
    await h.ingest([raw(i, "rp-a", at, inp, out) for i, at, inp, out in before + after]
                   + [raw(i, "rp-b", at, inp, out) for i, at, inp, out in other])  # fmt: skip

    old_a = sum((cost(inp, out, OLD) for _, _, inp, out in before + after), Decimal(0))
    new_a = sum((cost(inp, out, OLD) for _, _, inp, out in before), Decimal(0)) + sum(
        (cost(inp, out, NEW) for _, _, inp, out in after), Decimal(0))
    other_total = 3 * cost(500, 50, OLD)
    assert h.total("usage_events", "rp-a") == (old_a, 12)
    assert h.total("usage_windows", "rp-a") == (old_a, 12)
    rows_before = h.one("SELECT count() FROM usage_events")[0]

    # A dry run says what would change and writes nothing.
    dry = await h.reprice(since=T0 - timedelta(hours=1), tenant="rp-a", dry_run=True)
    assert (dry.events, dry.changed) == (12, 12)  # cost changed for 6; all 12 now carry rev-b's version
    assert h.one("SELECT count() FROM usage_events")[0] == rows_before
    assert h.one("SELECT count() FROM reprice_runs")[0] == 0

    report = await h.reprice(since=T0 - timedelta(hours=1), tenant="rp-a")
    (group,) = report.groups.values()
    assert (group.tenant_id, group.model, group.events, group.changed) == ("rp-a", MODEL, 12, 12)
    assert (group.old_total, group.new_total) == (old_a, new_a)
    assert group.old_prices == {"operator rev-a@2026-01-01T00:00:00Z"}
    assert group.new_prices == {"operator rev-b@2026-01-01T00:00:00Z", "operator rev-b@2026-05-04T10:00:00Z"}
    assert report.windows_refreshed == 3  # 09:58 before the change; 10:00 and 10:01 after

    # events: the corrected rows win, each event once, each at the rate in force at its time
    assert h.total("usage_events", "rp-a") == (new_a, 12)
    for event_id, _, inp, out in after:
        total, version = h.one("SELECT total_cost, price_version FROM usage_events FINAL "
                               "WHERE tenant_id = 'rp-a' AND event_id = {e:String}", e=event_id)  # fmt: skip
        assert (total, version) == (cost(inp, out, NEW), "rev-b@2026-05-04T10:00:00Z")
    assert h.total("usage_events", "rp-b") == (other_total, 3)  # another tenant: untouched
    # windows and rollups carry the new price exactly
    assert h.total("usage_windows", "rp-a") == (new_a, 12)
    assert h.total("usage_rollup_hour", "rp-a") == (new_a, 12)
    assert h.total("usage_rollup_day", "rp-a") == (new_a, 12)
    assert h.total("usage_rollup_day", "rp-b") == (other_total, 3)
    # the audit row
    audit = h.store.query_sync("SELECT tenant_id, model, events, changed, old_total, new_total, new_prices "
                               "FROM reprice_runs FINAL").result_rows  # fmt: skip
    assert audit == [("rp-a", MODEL, 12, 12, old_a, new_a,
                      ["operator rev-b@2026-01-01T00:00:00Z", "operator rev-b@2026-05-04T10:00:00Z"])]

    # The worker state held the old figures: its next reconciliation finds and repairs them.
    drift = await reconcile(h.state)
    assert {w.tenant_id for w in drift.windows} == {"rp-a"}
    assert sum((w.cost_drift for w in drift.windows), Decimal(0)) == old_a - new_a
    await h.state.emit()
    assert (await reconcile(h.state)).clean
    assert h.total("usage_windows", "rp-a") == (new_a, 12)
    assert h.total("usage_rollup_day", "rp-a") == (new_a, 12)

    # A second run finds nothing to change and writes no event row.
    rows_after = h.one("SELECT count() FROM usage_events")[0]
    again = await h.reprice(since=T0 - timedelta(hours=1), tenant="rp-a")
    assert (again.events, again.changed) == (12, 0)
    assert h.one("SELECT count() FROM usage_events")[0] == rows_after
    assert h.total("usage_windows", "rp-a") == (new_a, 12)
