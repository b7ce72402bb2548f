"""Computing window groups from the deduplicated event store.

The worker updates the windows it holds per new event (:mod:`stream.windows.state`);
this SQL computes a window from ``usage_events FINAL`` when the worker does not hold it
(a late event for a closed window) and when reconciliation checks the held ones.
"""

import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from stream.store.client import as_utc
from stream.store.rows import MEASURE_NAMES, MEASURES
from stream.windows.keys import group_key

COLUMN_DIMENSIONS = ("feature", "agent", "operation", "user_id", "api_key_id", "session_id", "request_id")
_TAG_DIMENSION = re.compile(r"^tags\.([A-Za-z0-9_.-]{1,64})$")

_MEASURE_SQL = ", ".join(measure.over_events for measure in MEASURES)


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
        group.update(zip(MEASURE_NAMES, values[: len(MEASURE_NAMES)], strict=True))
        group["first_event_at"] = as_utc(values[len(MEASURE_NAMES)])
        group["last_event_at"] = as_utc(values[len(MEASURE_NAMES) + 1])
        group["group_key"] = group_key(provider, model, dims)
        windows.setdefault((tenant, start), []).append(group)
    return windows
