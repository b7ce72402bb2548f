"""Hour and day rollups, recomputed from the current window versions.

Columns are named on both sides of each INSERT ... SELECT, so columns added by later
migrations (which ALTER appends) can never shift into the wrong place.

A rollup row's version is the sum of the versions of the rows it sums. Window versions
only grow, whichever worker emits them, so rollup versions only grow too, and the same
window content gives the same rollup version on any worker (no wall clock involved).
Rollups written before windows were versioned this way carry microsecond timestamps as
versions (below 2**51); sums are offset by 2**62 so every new row supersedes them.
"""

from stream.store.rows import MEASURE_NAMES as SUMMED

_VERSION_BASE = 1 << 62
_SUMMED_COLUMNS = ", ".join(SUMMED)
_SUMS = ", ".join(f"sum({name})" for name in SUMMED)
_SPAN = """
    if(sum(requests) > 0, minIf(first_event_at, requests > 0), min(first_event_at)),
    if(sum(requests) > 0, maxIf(last_event_at, requests > 0), max(last_event_at))
"""

HOUR_ROLLUP_SQL = f"""
    INSERT INTO usage_rollup_hour (tenant_id, hour, group_key, provider, model, dimensions, {_SUMMED_COLUMNS},
                                   first_event_at, last_event_at, version)
    SELECT tenant_id, toStartOfHour(window_start) AS hour, group_key,
           any(provider), any(model), any(dimensions), {_SUMS}, {_SPAN}, {_VERSION_BASE} + sum(version)
    FROM usage_windows FINAL
    WHERE window_seconds = {{size:UInt32}} AND tenant_id IN {{tenants:Array(String)}}
      AND (tenant_id, toStartOfHour(window_start)) IN {{keys:Array(Tuple(String, DateTime('UTC')))}}
    GROUP BY tenant_id, hour, group_key
"""

DAY_ROLLUP_SQL = f"""
    INSERT INTO usage_rollup_day (tenant_id, day, group_key, provider, model, dimensions, {_SUMMED_COLUMNS},
                                  first_event_at, last_event_at, version)
    SELECT tenant_id, toDate(hour) AS day, group_key,
           any(provider), any(model), any(dimensions), {_SUMS}, {_SPAN},
           {_VERSION_BASE} + sum(version % {_VERSION_BASE})
    FROM usage_rollup_hour FINAL
    WHERE tenant_id IN {{tenants:Array(String)}}
      AND (tenant_id, toDate(hour)) IN {{keys:Array(Tuple(String, Date))}}
    GROUP BY tenant_id, day, group_key
"""
