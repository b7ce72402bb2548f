"""Windows and rollups in ClickHouse: loading a window the worker does not hold, writing
emitted versions and refreshing the hour and day rollups they fall in."""

from collections.abc import Sequence
from functools import partial

from schemas.windows import WindowAggregate
from stream.retry import retry_until_done
from stream.sinks.clickhouse import ClickHouseSink
from stream.store.client import as_utc
from stream.windows.compute import aggregate_sql, rows_to_groups
from stream.windows.keys import window_end
from stream.windows.rollups import DAY_ROLLUP_SQL, HOUR_ROLLUP_SQL
from stream.windows.state import Window, WindowKey, fold_groups, groups_from_rows

WINDOW_COLUMNS = tuple(WindowAggregate.model_fields)
KEYS_PER_QUERY = 2000


async def load_windows(
    sink: ClickHouseSink, keys: Sequence[WindowKey], size: int, dimensions: Sequence[str], max_groups: int
) -> dict[WindowKey, Window]:
    """The current content of these windows, computed from the stored events (so it holds
    every event stored so far, the caller's batch included), with the version and the
    groups of their last stored emission."""
    loaded: dict[WindowKey, Window] = {}
    ordered = sorted(set(keys))
    for offset in range(0, len(ordered), KEYS_PER_QUERY):
        chunk = ordered[offset : offset + KEYS_PER_QUERY]
        loaded.update(await _load(sink, chunk, size, dimensions, max_groups))
    return loaded


async def _load(
    sink: ClickHouseSink, keys: list[WindowKey], size: int, dimensions: Sequence[str], max_groups: int
) -> dict[WindowKey, Window]:
    store = sink.store
    tenants = sorted({tenant for tenant, _ in keys})
    low, high = min(start for _, start in keys), window_end(max(start for _, start in keys), size)
    result = await store.query_consistent(
        aggregate_sql(dimensions),
        {"size": size, "tenants": tenants, "low": low, "high": high, "keys": keys},
    )
    groups = rows_to_groups(result.result_rows, dimensions)
    previous = await store.query_consistent(
        "SELECT tenant_id, window_start, group_key, provider, model, dimensions, version, requests "
        "FROM usage_windows FINAL WHERE window_seconds = {size:UInt32} AND tenant_id IN {tenants:Array(String)} "
        "AND (tenant_id, window_start) IN {keys:Array(Tuple(String, DateTime64(3, 'UTC')))}",
        {"size": size, "tenants": tenants, "keys": keys},
    )
    windows = {key: Window(key[0], key[1]) for key in keys}
    for tenant, start, key, provider, model, dims, version, requests in previous.result_rows:
        window = windows[(tenant, as_utc(start))]
        window.version = max(window.version, int(version))
        if requests:
            window.emitted[key] = (provider, model, dict(dims))
    for key, window in windows.items():
        window.groups = fold_groups(groups_from_rows(groups.get(key, [])), max_groups, dimensions)
        window.version += 1
    return windows


async def store_aggregates(sink: ClickHouseSink, aggregates: list[WindowAggregate], size: int) -> None:
    """Write emitted window rows, then the rollups of the hours and days they fall in."""
    if not aggregates:
        return
    await sink.insert_until_stored(
        "usage_windows", [[getattr(a, c) for c in WINDOW_COLUMNS] for a in aggregates], WINDOW_COLUMNS
    )
    keys = {(a.tenant_id, a.window_start) for a in aggregates}
    tenants = sorted({tenant for tenant, _ in keys})
    hours = sorted({(t, s.replace(minute=0, second=0, microsecond=0)) for t, s in keys})
    days = sorted({(t, s.date()) for t, s in keys})
    hour = partial(sink.store.command, HOUR_ROLLUP_SQL, {"size": size, "tenants": tenants, "keys": hours})
    await retry_until_done(hour, "refreshing hour rollups", sink.max_backoff)
    day = partial(sink.store.command, DAY_ROLLUP_SQL, {"tenants": tenants, "keys": days})
    await retry_until_done(day, "refreshing day rollups", sink.max_backoff)

