"""Recomputing window aggregates from the deduplicated event store.

Windows are derived from ``usage_events FINAL`` rather than accumulated event by event:
the store has already collapsed redelivered messages and repeated event_ids, so window
totals equal event totals by construction, under crashes, replays and duplicates, with
no per-event dedupe state in the worker. The worker only tracks *which* windows changed.
"""

import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from schemas.windows import WindowAggregate
from stream.store.client import as_utc
from stream.store.rows import MEASURE_NAMES, MEASURES, MONEY_MEASURES
from stream.windows.keys import group_key, window_end, window_id

OTHER = "other"

COLUMN_DIMENSIONS = ("feature", "agent", "operation", "user_id", "api_key_id", "session_id", "request_id")
_TAG_DIMENSION = re.compile(r"^tags\.([A-Za-z0-9_.-]{1,64})$")

SUMMED = MEASURE_NAMES
_MEASURE_SQL = ", ".join(measure.over_events for measure in MEASURES)
_MONEY = MONEY_MEASURES


def dimension_expression(name: str) -> str:
    """SQL for one configured dimension; only known names get here (no user text in SQL)."""
    if name in COLUMN_DIMENSIONS:
        return name
    if match := _TAG_DIMENSION.match(name):
        return f"tags['{match.group(1)}']"
    raise ValueError(f"unknown window dimension '{name}': use one of {', '.join(COLUMN_DIMENSIONS)} or tags.<key>")


def aggregate_sql(dimensions: Sequence[str]) -> str:
    dims = "".join(f", {dimension_expression(d)} AS dim_{i}" for i, d in enumerate(dimensions))
    dim_names = "".join(f", dim_{i}" for i in range(len(dimensions)))
    return f"""
        SELECT tenant_id, toStartOfInterval(occurred_at, INTERVAL {{size:UInt32}} SECOND) AS start,
               provider, ifNull(resolved_model, model) AS model_key{dims},
               {_MEASURE_SQL},
               min(occurred_at), max(occurred_at)
        FROM usage_events FINAL
        WHERE tenant_id IN {{tenants:Array(String)}}
          AND occurred_at >= {{low:DateTime64(3, 'UTC')}} AND occurred_at < {{high:DateTime64(3, 'UTC')}}
          AND (tenant_id, toDateTime64(start, 3, 'UTC')) IN {{keys:Array(Tuple(String, DateTime64(3, 'UTC')))}}
        GROUP BY tenant_id, start, provider, model_key{dim_names}
    """


def bound_groups(rows: list[dict[str, Any]], max_groups: int) -> list[dict[str, Any]]:
    """Keep the ``max_groups - 1`` biggest groups of a window; fold the rest into one
    ``other`` group, so one tenant with unbounded feature values cannot explode state.
    Deterministic: ranked by cost, then requests, then key."""
    if len(rows) <= max_groups:
        return rows
    ranked = sorted(rows, key=lambda r: (-r["total_cost"], -r["requests"], r["group_key"]))
    kept, folded = ranked[: max_groups - 1], ranked[max_groups - 1 :]
    other: dict[str, Any] = {
        "provider": OTHER, "model": OTHER, "dimensions": {name: OTHER for name in folded[0]["dimensions"]},
    }  # fmt: skip
    for name in SUMMED:
        other[name] = sum((row[name] for row in folded), start=Decimal(0) if name in _MONEY else 0)
    other["first_event_at"] = min(row["first_event_at"] for row in folded)
    other["last_event_at"] = max(row["last_event_at"] for row in folded)
    other["group_key"] = group_key(OTHER, OTHER, other["dimensions"])
    return [*kept, other]


def rows_to_groups(
    result_rows: Iterable[Sequence[Any]], dimensions: Sequence[str]
) -> dict[tuple[str, datetime], list[dict[str, Any]]]:
    """Query rows -> groups per (tenant, window start)."""
    windows: dict[tuple[str, datetime], list[dict[str, Any]]] = {}
    width = len(dimensions)
    for row in result_rows:
        tenant, provider, model = row[0], row[2], row[3]
        start = as_utc(row[1])
        dims = {name: str(value) for name, value in zip(dimensions, row[4 : 4 + width], strict=True)}
        values = row[4 + width :]
        group: dict[str, Any] = {"provider": provider, "model": model, "dimensions": dims}
        group.update(zip(SUMMED, values[: len(SUMMED)], strict=True))
        group["first_event_at"] = as_utc(values[len(SUMMED)])
        group["last_event_at"] = as_utc(values[len(SUMMED) + 1])
        group["group_key"] = group_key(provider, model, dims)
        windows.setdefault((tenant, start), []).append(group)
    return windows


def aggregates_for_window(
    tenant_id: str,
    start: datetime,
    size_seconds: int,
    groups: list[dict[str, Any]],
    previous_groups: dict[str, tuple[str, str, dict[str, str]]],
    partial: bool,
    version: int,
    emitted_at: datetime,
) -> list[WindowAggregate]:
    """The window's current groups, plus zeroed rows for groups it no longer has
    (``previous_groups``: group_key -> provider, model, dimensions of the stored version),
    so the highest version of every (window, group) row is the window's current content."""
    end = window_end(start, size_seconds)
    identity = window_id(tenant_id, start, size_seconds)
    out = [
        WindowAggregate(
            window_id=identity, tenant_id=tenant_id, window_start=start, window_end=end,
            window_seconds=size_seconds, partial=partial, version=version, emitted_at=emitted_at, **group,
        )
        for group in groups
    ]
    current = {group["group_key"] for group in groups}
    for gone in sorted(previous_groups.keys() - current):
        provider, model, dims = previous_groups[gone]
        out.append(
            WindowAggregate(
                window_id=identity, group_key=gone, tenant_id=tenant_id, window_start=start, window_end=end,
                window_seconds=size_seconds, provider=provider, model=model, dimensions=dims,
                requests=0, priced_requests=0, unpriced_requests=0, input_tokens=0, cache_read_tokens=0,
                cache_write_tokens=0, output_tokens=0, reasoning_tokens=0, first_event_at=start, last_event_at=start,
                partial=partial, version=version, emitted_at=emitted_at,
            )
        )
    return out
