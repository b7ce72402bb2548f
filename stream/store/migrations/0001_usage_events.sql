-- One row per priced (or unpriced) usage event.
-- ReplacingMergeTree on (tenant_id, occurred_at, event_id): a redelivered message or a
-- producer resending an event_id writes a row with the same sorting key, and merges (or
-- FINAL / the `final` setting at query time) keep exactly one. Reports read with FINAL.
CREATE TABLE IF NOT EXISTS usage_events
(
    event_id              String,
    tenant_id             LowCardinality(String),
    occurred_at           DateTime64(3, 'UTC'),
    ingested_at           DateTime64(3, 'UTC'),
    provider              LowCardinality(String),
    api_flavor            LowCardinality(String),
    model                 LowCardinality(String),
    resolved_model        LowCardinality(Nullable(String)),
    tracking_type         Enum8('provider_cost' = 1, 'tokens' = 2, 'unpriced' = 3),
    priced                Bool,
    input_tokens          UInt64,
    cache_read_tokens     UInt64,
    cache_write_tokens    UInt64,
    cache_write_1h_tokens UInt64,
    output_tokens         UInt64,
    reasoning_tokens      UInt64,
    input_audio_tokens    UInt64,
    output_audio_tokens   UInt64,
    input_cost            Nullable(Decimal(38, 18)),
    cache_read_cost       Nullable(Decimal(38, 18)),
    cache_write_cost      Nullable(Decimal(38, 18)),
    output_cost           Nullable(Decimal(38, 18)),
    reasoning_cost        Nullable(Decimal(38, 18)),
    other_cost            Nullable(Decimal(38, 18)),
    token_cost            Nullable(Decimal(38, 18)),
    provider_cost         Nullable(Decimal(38, 18)),
    total_cost            Nullable(Decimal(38, 18)),
    cost_drift            Nullable(Decimal(38, 18)),
    currency              LowCardinality(String),
    price_source          LowCardinality(Nullable(String)),
    price_version         LowCardinality(Nullable(String)),
    feature               LowCardinality(String),
    agent                 LowCardinality(String),
    operation             LowCardinality(String),
    user_id               String,
    session_id            String,
    request_id            String,
    api_key_id            String,
    latency_ms            Nullable(UInt32),
    tags                  Map(String, String),
    kafka_partition       UInt32,
    kafka_offset          UInt64
)
ENGINE = ReplacingMergeTree(ingested_at)
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (tenant_id, occurred_at, event_id);

-- What the worker refused, with the reason: `in = priced + unpriced + dead letters`
-- can be checked in SQL. Keyed by source position, so redelivery keeps one row.
CREATE TABLE IF NOT EXISTS dead_letters
(
    topic            LowCardinality(String),
    partition        UInt32,
    offset           UInt64,
    batch_index      Int32,
    event_id         Nullable(String),
    tenant_id        Nullable(String),
    error_type       LowCardinality(String),
    error            String,
    original_b64     String,
    dead_lettered_at DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(dead_lettered_at)
PARTITION BY toYYYYMM(dead_lettered_at)
ORDER BY (topic, partition, offset, batch_index);
