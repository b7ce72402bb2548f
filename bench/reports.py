"""Report queries over 10 million synthetic events in chDB.

The events are generated in the engine (INSERT ... SELECT FROM numbers), 500 tenants x 20
models over 90 days; the day rollup is filled from them with the same grouping the
worker's window passes produce (one row per tenant, day and group). Each report is timed
through ``run_report_sync``, best of three.
"""

import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from stream.reports import ReportParams, run_report_sync
from stream.store.client import ClickHouseStore
from stream.store.migrate import migrate

EVENTS = 10_000_000

GENERATE = """
INSERT INTO usage_events (event_id, tenant_id, occurred_at, ingested_at, provider, api_flavor, model, resolved_model,
    tracking_type, priced, input_tokens, cache_read_tokens, output_tokens, input_cost, cache_read_cost, output_cost,
    token_cost, total_cost, cache_savings, currency, feature, session_id, request_id, latency_ms)
SELECT concat('e', toString(number)), concat('tenant-', toString(number % 500)),
       toDateTime64('2026-08-01 00:00:00', 3, 'UTC') + toIntervalSecond(intDiv(number * 7776000, {events:UInt64})),
       now64(3), 'openai', 'chat', concat('model-', toString(number % 20)),
       concat('openai/model-', toString(number % 20)),
       'tokens', true, 1000 + number % 5000, (number % 3) * 100, 100 + number % 700,
       toDecimal128((1000 + number % 5000 - (number % 3) * 100) * 0.00000015, 18),
       toDecimal128((number % 3) * 100 * 0.000000075, 18), toDecimal128((100 + number % 700) * 0.0000006, 18),
       toDecimal128(0, 18), toDecimal128(0, 18), toDecimal128((number % 3) * 100 * 0.000000075, 18),
       'USD', concat('feature-', toString(number % 7)), concat('s-', toString(number % 100000)),
       concat('r-', toString(number)), toUInt32(200 + number % 3000)
FROM numbers({events:UInt64})
"""

TOTALS = "ALTER TABLE usage_events UPDATE token_cost = input_cost + cache_read_cost + output_cost, " \
         "total_cost = input_cost + cache_read_cost + output_cost WHERE 1 SETTINGS mutations_sync = 1"

ROLLUP = """
INSERT INTO usage_rollup_day (tenant_id, day, group_key, provider, model, dimensions, requests, priced_requests,
    input_tokens, cache_read_tokens, output_tokens, input_cost, cache_read_cost, output_cost, token_cost, total_cost,
    cache_savings, latency_ms_sum, latency_requests, first_event_at, last_event_at, version)
SELECT tenant_id, toDate(occurred_at) AS day, concat(model, '|', feature) AS g, 'openai', any(resolved_model),
       map('feature', feature), count(), count(), sum(input_tokens), sum(cache_read_tokens), sum(output_tokens),
       sum(input_cost), sum(cache_read_cost), sum(output_cost), sum(token_cost), sum(total_cost), sum(cache_savings),
       sum(latency_ms), count(), min(occurred_at), max(occurred_at), 1
FROM usage_events GROUP BY tenant_id, day, g, feature
"""

QUERIES: list[tuple[str, str, dict[str, object]]] = [
    ("cost by tenant (30 days)", "cost", {"by": ["tenant"], "since": "2026-10-01", "until": "2026-10-31"}),
    ("cost by tenant, model, day", "cost", {"by": ["tenant", "model", "day"], "since": "2026-08-01",
                                            "until": "2026-10-30", "limit": 100_000}),
    ("one tenant by model and day", "cost", {"tenant": "tenant-7", "by": ["model", "day"], "since": "2026-08-01",
                                             "until": "2026-10-30"}),
    ("cache report by tenant and model", "cache", {"by": ["tenant", "model"], "since": "2026-08-01",
                                                   "until": "2026-10-30", "limit": 100_000}),
    ("per-request drill-down (tenant, session)", "requests", {"tenant": "tenant-7", "session": "s-507"}),
    ("per-request drill-down (tenant, request id)", "requests", {"tenant": "tenant-7", "request": "r-4007"}),
]


def run(events: int = EVENTS) -> dict[str, float]:
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as folder:
        store = ClickHouseStore(f"chdb://{Path(folder) / 'clickhouse'}")
        try:
            migrate(store)
            started = time.perf_counter()
            store.command_sync(GENERATE, {"events": events})
            store.command_sync(TOTALS)
            store.command_sync(ROLLUP)
            figures["reports_rows_generated"] = float(events)
            figures["reports_generate_s"] = time.perf_counter() - started
            for title, name, params in QUERIES:
                parsed = ReportParams.model_validate(params)
                best = float("inf")
                for _ in range(3):
                    t0 = time.perf_counter()
                    result = run_report_sync(store, name, parsed)
                    best = min(best, time.perf_counter() - t0)
                assert result.rows, f"{title}: no rows"
                figures[f"report_ms: {title} ({result.source})"] = best * 1000
        finally:
            store.close()
    figures["reports_measured_at"] = datetime.now(UTC).timestamp()
    return figures
