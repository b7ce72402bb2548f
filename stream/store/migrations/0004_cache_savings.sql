-- What cache reads saved versus the uncached input rate, priced when the event is priced
-- (the rate in force at the event's time, tenant overrides included); null when unpriced.
ALTER TABLE usage_events ADD COLUMN IF NOT EXISTS cache_savings Nullable(Decimal(38, 18)) AFTER cost_drift;

-- The same savings, and latency sums for average latency, in windows and rollups, so
-- cache and efficiency reports read aggregates rather than every event.
ALTER TABLE usage_windows
    ADD COLUMN IF NOT EXISTS cache_savings Decimal(38, 18) AFTER total_cost,
    ADD COLUMN IF NOT EXISTS latency_ms_sum UInt64 AFTER cache_savings,
    ADD COLUMN IF NOT EXISTS latency_requests UInt64 AFTER latency_ms_sum;

ALTER TABLE usage_rollup_hour
    ADD COLUMN IF NOT EXISTS cache_savings Decimal(38, 18) AFTER total_cost,
    ADD COLUMN IF NOT EXISTS latency_ms_sum UInt64 AFTER cache_savings,
    ADD COLUMN IF NOT EXISTS latency_requests UInt64 AFTER latency_ms_sum;

ALTER TABLE usage_rollup_day
    ADD COLUMN IF NOT EXISTS cache_savings Decimal(38, 18) AFTER total_cost,
    ADD COLUMN IF NOT EXISTS latency_ms_sum UInt64 AFTER cache_savings,
    ADD COLUMN IF NOT EXISTS latency_requests UInt64 AFTER latency_ms_sum;
