"""Hour and day rollups, recomputed from the current window versions."""

_SUMS = """
    sum(requests), sum(priced_requests), sum(unpriced_requests),
    sum(input_tokens), sum(cache_read_tokens), sum(cache_write_tokens), sum(output_tokens), sum(reasoning_tokens),
    sum(input_cost), sum(cache_read_cost), sum(cache_write_cost), sum(output_cost), sum(reasoning_cost),
    sum(other_cost), sum(token_cost), sum(provider_cost), sum(total_cost),
    if(sum(requests) > 0, minIf(first_event_at, requests > 0), min(first_event_at)),
    if(sum(requests) > 0, maxIf(last_event_at, requests > 0), max(last_event_at))
"""

HOUR_ROLLUP_SQL = f"""
    INSERT INTO usage_rollup_hour
    SELECT tenant_id, toStartOfHour(window_start) AS hour, group_key,
           any(provider), any(model), any(dimensions), {_SUMS}, {{version:UInt64}}
    FROM usage_windows FINAL
    WHERE window_seconds = {{size:UInt32}} AND tenant_id IN {{tenants:Array(String)}}
      AND (tenant_id, toStartOfHour(window_start)) IN {{keys:Array(Tuple(String, DateTime('UTC')))}}
    GROUP BY tenant_id, hour, group_key
"""

DAY_ROLLUP_SQL = f"""
    INSERT INTO usage_rollup_day
    SELECT tenant_id, toDate(hour) AS day, group_key,
           any(provider), any(model), any(dimensions), {_SUMS}, {{version:UInt64}}
    FROM usage_rollup_hour FINAL
    WHERE tenant_id IN {{tenants:Array(String)}}
      AND (tenant_id, toDate(hour)) IN {{keys:Array(Tuple(String, Date))}}
    GROUP BY tenant_id, day, group_key
"""
