-- Tumbling-window aggregates per tenant and group, versioned.
-- A window is re-emitted (higher version) whenever its events change: late events,
-- corrections, a restart. ReplacingMergeTree keeps the highest version per
-- (tenant, size, start, group); a group that left a window is re-emitted with zero
-- counts, so `FROM usage_windows FINAL` is always the current content.
CREATE TABLE IF NOT EXISTS usage_windows
(
    window_id          String,
    group_key          String,
    tenant_id          LowCardinality(String),
    window_start       DateTime64(3, 'UTC'),
    window_end         DateTime64(3, 'UTC'),
    window_seconds     UInt32,
    provider           LowCardinality(String),
    model              LowCardinality(String),
    dimensions         Map(String, String),
    requests           UInt64,
    priced_requests    UInt64,
    unpriced_requests  UInt64,
    input_tokens       UInt64,
    cache_read_tokens  UInt64,
    cache_write_tokens UInt64,
    output_tokens      UInt64,
    reasoning_tokens   UInt64,
    input_cost         Decimal(38, 18),
    cache_read_cost    Decimal(38, 18),
    cache_write_cost   Decimal(38, 18),
    output_cost        Decimal(38, 18),
    reasoning_cost     Decimal(38, 18),
    other_cost         Decimal(38, 18),
    token_cost         Decimal(38, 18),
    provider_cost      Decimal(38, 18),
    total_cost         Decimal(38, 18),
    first_event_at     DateTime64(3, 'UTC'),
    last_event_at      DateTime64(3, 'UTC'),
    partial            Bool,
    version            UInt64,
    emitted_at         DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(window_start)
ORDER BY (tenant_id, window_seconds, window_start, group_key);

-- When each recompute pass began: after a crash, windows with events ingested since the
-- last completed pass began are recomputed, so no stored event misses its window.
CREATE TABLE IF NOT EXISTS window_passes
(
    consumer_group String,
    partition      UInt32,
    started_at     DateTime64(6, 'UTC')
)
ENGINE = ReplacingMergeTree(started_at)
ORDER BY (consumer_group, partition);

-- Hour and day rollups of the current window content, recomputed by the worker for the
-- hours and days whose windows changed (INSERT ... SELECT from usage_windows FINAL), and
-- versioned like the windows. A plain Summing MV would add every re-emitted version of a
-- window on top of the previous ones; recomputing from the current versions cannot.
CREATE TABLE IF NOT EXISTS usage_rollup_hour
(
    tenant_id          LowCardinality(String),
    hour               DateTime('UTC'),
    group_key          String,
    provider           LowCardinality(String),
    model              LowCardinality(String),
    dimensions         Map(String, String),
    requests           UInt64,
    priced_requests    UInt64,
    unpriced_requests  UInt64,
    input_tokens       UInt64,
    cache_read_tokens  UInt64,
    cache_write_tokens UInt64,
    output_tokens      UInt64,
    reasoning_tokens   UInt64,
    input_cost         Decimal(38, 18),
    cache_read_cost    Decimal(38, 18),
    cache_write_cost   Decimal(38, 18),
    output_cost        Decimal(38, 18),
    reasoning_cost     Decimal(38, 18),
    other_cost         Decimal(38, 18),
    token_cost         Decimal(38, 18),
    provider_cost      Decimal(38, 18),
    total_cost         Decimal(38, 18),
    first_event_at     DateTime64(3, 'UTC'),
    last_event_at      DateTime64(3, 'UTC'),
    version            UInt64
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(hour)
ORDER BY (tenant_id, hour, group_key);

CREATE TABLE IF NOT EXISTS usage_rollup_day
(
    tenant_id          LowCardinality(String),
    day                Date,
    group_key          String,
    provider           LowCardinality(String),
    model              LowCardinality(String),
    dimensions         Map(String, String),
    requests           UInt64,
    priced_requests    UInt64,
    unpriced_requests  UInt64,
    input_tokens       UInt64,
    cache_read_tokens  UInt64,
    cache_write_tokens UInt64,
    output_tokens      UInt64,
    reasoning_tokens   UInt64,
    input_cost         Decimal(38, 18),
    cache_read_cost    Decimal(38, 18),
    cache_write_cost   Decimal(38, 18),
    output_cost        Decimal(38, 18),
    reasoning_cost     Decimal(38, 18),
    other_cost         Decimal(38, 18),
    token_cost         Decimal(38, 18),
    provider_cost      Decimal(38, 18),
    total_cost         Decimal(38, 18),
    first_event_at     DateTime64(3, 'UTC'),
    last_event_at      DateTime64(3, 'UTC'),
    version            UInt64
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(day)
ORDER BY (tenant_id, day, group_key);
