-- The deduplication key: one row per (tenant_id, event_id), the first delivery's. The
-- worker looks a batch's ids up here by primary key (cost per batch, not per stored
-- event); usage_events keeps its time-ordered key for reports. `fingerprint` is no longer
-- written (0): a later delivery is compared with its first delivery in usage_events. It
-- stays so that workers of an earlier version, which read 0 as "content unknown", run
-- beside upgraded ones.
CREATE TABLE IF NOT EXISTS event_ids
(
    tenant_id       LowCardinality(String),
    event_id        String,
    occurred_at     DateTime64(3, 'UTC'),
    fingerprint     UInt64,
    kafka_partition UInt32,
    kafka_offset    UInt64,
    ingested_at     DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree
ORDER BY (tenant_id, event_id)
SETTINGS index_granularity = 1024;

-- Deliveries of an event_id already counted whose content differs from the first: never
-- merged, recorded with the fields that differ.
CREATE TABLE IF NOT EXISTS duplicate_events
(
    tenant_id       LowCardinality(String),
    event_id        String,
    differing       Array(String),
    first_occurred_at DateTime64(3, 'UTC'),
    occurred_at     DateTime64(3, 'UTC'),
    kafka_partition UInt32,
    kafka_offset    UInt64,
    seen_at         DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(seen_at)
ORDER BY (tenant_id, event_id, kafka_partition, kafka_offset);

-- The worker's state per raw-topic partition (open windows, running budget spend,
-- watermark), checkpointed with the offset it covers. A new owner of the partition loads
-- it and replays only the events stored after that offset.
CREATE TABLE IF NOT EXISTS worker_state
(
    consumer_group String,
    partition      UInt32,
    kafka_offset   Int64,
    saved_at       DateTime64(6, 'UTC'),
    layout         String,
    state          String CODEC(ZSTD(3)),
    version        UInt64
)
ENGINE = ReplacingMergeTree(version)
ORDER BY (consumer_group, partition);

-- Breaches published, kept until their period is over: which breaches already fired
-- does not depend on the breach topic's retention.
CREATE TABLE IF NOT EXISTS budget_breaches
(
    breach_id     String,
    budget_id     String,
    tenant_id     LowCardinality(String),
    kind          LowCardinality(String),
    severity      LowCardinality(String),
    period_start  DateTime64(3, 'UTC'),
    period_end    DateTime64(3, 'UTC'),
    spend_usd     Decimal(38, 18),
    limit_usd     Decimal(38, 18),
    crossed_at    Nullable(DateTime64(3, 'UTC')),
    emitted_at    DateTime64(3, 'UTC'),
    breach        String
)
ENGINE = ReplacingMergeTree
ORDER BY (tenant_id, budget_id, breach_id)
TTL toDateTime(period_end) + INTERVAL 7 DAY;

-- Recovery replays a partition's events stored after its checkpoint.
ALTER TABLE usage_events ADD INDEX IF NOT EXISTS kafka_offset_minmax kafka_offset TYPE minmax GRANULARITY 4;
