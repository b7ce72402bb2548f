"""The schema and the sink against the real ClickHouse engine (chDB)."""

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from schemas import CostBreakdown, EventAttributes, PricedUsageEvent, TokenUsage, TrackingType
from schemas.money import MONEY_CONTEXT
from stream.ingest.decode import SourceMessage
from stream.ingest.records import PricedRecord
from stream.sinks.clickhouse import ClickHouseSink
from stream.store.client import INLINE_QUERY_SETTINGS, ClickHouseStore, inline_table
from stream.store.migrate import available_migrations, migrate
from stream.store.rows import EVENT_COLUMNS, priced_record_from_row


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClickHouseStore]:
    # chDB serves one data path per process at a time: every test store is closed after use.
    path: Path = tmp_path_factory.mktemp("chdb")
    opened = ClickHouseStore(f"chdb://{path}")
    migrate(opened)
    yield opened
    opened.close()


def test_migrations_are_versioned_and_idempotent(store: ClickHouseStore) -> None:
    assert migrate(store) == []
    rows = store.query_sync("SELECT version FROM schema_migrations FINAL ORDER BY version").result_rows
    versions = [row[0] for row in rows]
    assert versions == [m.version for m in available_migrations()]
    columns = dict(store.query_sync("SELECT name, type FROM system.columns WHERE table = 'usage_events'").result_rows)
    assert columns["total_cost"] == "Nullable(Decimal(38, 18))"
    engine = store.query_sync("SELECT engine, partition_key FROM system.tables WHERE name = 'usage_events'")
    assert engine.result_rows[0] == ("ReplacingMergeTree", "toYYYYMM(occurred_at)")


def priced(event_id: str, tenant: str, total: Decimal | None) -> PricedRecord:
    breakdown = None if total is None else CostBreakdown(input=total, total=total)
    event = PricedUsageEvent(
        event_id=event_id, tenant_id=tenant, occurred_at=datetime(2026, 11, 20, 10, tzinfo=UTC),
        ingested_at=datetime.now(UTC), provider="openai", api_flavor="chat", model="m",
        resolved_model="m" if total is not None else None, tokens=TokenUsage(input_tokens=7),
        token_cost=breakdown, provider_cost_usd=None, total_cost=total, cost_drift_usd=None,
        tracking_type=TrackingType.TOKENS if total is not None else TrackingType.UNPRICED,
        priced=total is not None, price_source=None, price_version=None,
        attributes=EventAttributes(feature="f", tags={"team": "x"}),
    )
    return PricedRecord(event, SourceMessage(b"", None, "raw", 0, 1))


async def test_exact_decimals_round_trip_and_duplicates_collapse(store: ClickHouseStore) -> None:
    sink = ClickHouseSink(store)
    tiny = Decimal("0.000000000000000001")
    big = Decimal("12345678901234567890.123456789012345678")
    records = [priced("a", "t-exact", tiny), priced("b", "t-exact", big), priced("c", "t-exact", None)]
    await sink.store_batch(records, [])
    await sink.store_batch(records[:2], [])  # redelivered
    result = store.query_sync(
        "SELECT count(), sum(total_cost), countIf(total_cost IS NULL) FROM usage_events "
        "WHERE tenant_id = {t:String}", {"t": "t-exact"}, {"final": 1},
    )
    assert result.result_rows == [(3, MONEY_CONTEXT.add(tiny, big), 1)]


async def test_the_sink_retries_until_the_store_takes_the_rows(store: ClickHouseStore) -> None:
    failures = 3

    async def flaky(table: str) -> None:
        nonlocal failures
        if failures:
            failures -= 1
            raise ConnectionError("store is down")

    sink = ClickHouseSink(store, max_backoff=0.05, fault=flaky)
    await sink.store_batch([priced("r1", "t-retry", Decimal("1.5"))], [])
    assert sink.failed_attempts == 3
    rows = store.query_sync("SELECT count() FROM usage_events WHERE tenant_id = 't-retry'").result_rows
    assert rows == [(1,)]


async def test_a_refused_user_query_leaves_the_writer_able_to_write(store: ClickHouseStore) -> None:
    with pytest.raises(Exception, match=r"(?i)readonly"):
        store.query_readonly_sync("DROP TABLE usage_events")
    with pytest.raises(Exception, match=r"(?i)readonly"):
        store.query_readonly_sync("INSERT INTO usage_events (event_id) VALUES ('x')")
    await ClickHouseSink(store).store_batch([priced("w1", "t-writer", Decimal("2"))], [])
    assert store.query_readonly_sync(
        "SELECT count() FROM usage_events WHERE tenant_id = 't-writer'"
    ).result_rows == [(1,)]


async def test_every_column_of_a_stored_event_reads_back_as_written(store: ClickHouseStore) -> None:
    record = priced("rt-1", "t-roundtrip", Decimal("0.000150000000000001"))
    event = record.event.model_copy(update={
        "occurred_at": datetime(2026, 11, 20, 10, 0, 0, 123987, tzinfo=UTC),  # kept to the millisecond
        "attributes": EventAttributes(feature="it's \\ a\nfeature", latency_ms=42, tags={"b": "2", "a": "1"}),
    })
    unpriced = priced("rt-2", "t-roundtrip", None)
    await ClickHouseSink(store).store_batch([PricedRecord(event, record.source), unpriced], [])
    rows = store.query_sync(
        f"SELECT {', '.join(EVENT_COLUMNS)} FROM usage_events FINAL WHERE tenant_id = 't-roundtrip' ORDER BY event_id"
    )
    first, second = (priced_record_from_row(dict(zip(EVENT_COLUMNS, row, strict=True))) for row in rows.result_rows)
    assert first.event.occurred_at == datetime(2026, 11, 20, 10, 0, 0, 123000, tzinfo=UTC)
    assert first.event.total_cost == Decimal("0.000150000000000001")
    assert first.event.token_cost is not None and first.event.token_cost.input == Decimal("0.000150000000000001")
    assert first.event.attributes.feature == "it's \\ a\nfeature"
    assert first.event.attributes.user_id is None  # absent: stored as "", read back as absent
    assert first.event.attributes.latency_ms == 42
    assert first.event.attributes.tags == {"a": "1", "b": "2"}
    assert first.event.tracking_type is TrackingType.TOKENS and first.event.tokens.input_tokens == 7
    assert second.event.token_cost is None and second.event.total_cost is None
    assert second.event.tracking_type is TrackingType.UNPRICED and not second.event.priced


def test_an_inline_table_carries_any_string(store: ClickHouseStore) -> None:
    rows = [("t", "it's"), ("t", "back\\slash"), ("t", "nul\x00x"), ("t", "new\nline"), ("t", "x$rows$y"),
            ("t", "ü€"), ("t", "{id:String}")]  # fmt: skip
    result = store.query_sync(f"SELECT * FROM {inline_table('a String, b String', rows)}",
                              settings=INLINE_QUERY_SETTINGS)  # fmt: skip
    assert result.result_rows == rows


async def test_rows_the_store_refuses_are_isolated_and_the_rest_is_stored(store: ClickHouseStore) -> None:
    store.command_sync("ALTER TABLE usage_events ADD CONSTRAINT IF NOT EXISTS no_refused_model "
                       "CHECK model != 'refused-model'")  # fmt: skip
    try:
        records = [priced(f"bis-{n}", "t-bisect", Decimal("1")) for n in range(7)]
        bad = {2, 5}
        records = [PricedRecord(r.event.model_copy(update={"model": "refused-model"}), r.source) if n in bad else r
                   for n, r in enumerate(records)]  # fmt: skip
        refused = await ClickHouseSink(store).store_batch(records, [])
        assert sorted(r.record.event.event_id for r in refused) == ["bis-2", "bis-5"]
        assert all("no_refused_model" in r.reason for r in refused)
        stored = store.query_sync("SELECT event_id FROM usage_events FINAL WHERE tenant_id = 't-bisect' ORDER BY 1")
        assert [row[0] for row in stored.result_rows] == ["bis-0", "bis-1", "bis-3", "bis-4", "bis-6"]
    finally:
        store.command_sync("ALTER TABLE usage_events DROP CONSTRAINT IF EXISTS no_refused_model")


def test_errors_about_the_rows_are_permanent_and_outages_are_not(store: ClickHouseStore) -> None:
    from clickhouse_connect.driver.exceptions import DatabaseError, OperationalError

    from stream.store.errors import is_permanent

    with pytest.raises(Exception) as refused:
        store.command_sync("SELECT CAST('not a number' AS UInt32)")
    assert is_permanent(refused.value)
    assert not is_permanent(OperationalError("Error HTTPConnectionPool: connection refused"))
    assert not is_permanent(DatabaseError("Code: 252. DB::Exception: Too many parts (300). (TOO_MANY_PARTS)"))
    assert not is_permanent(ConnectionError("fault file exists"))
