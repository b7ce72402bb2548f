-- One row per re-pricing run (`costream reprice`) and (tenant, provider, model) it read:
-- when, over which period and filters, the catalog that priced it (its layers' versions),
-- the price sources and versions the events had before and have after, and the totals
-- before and after. Dry runs write nothing here.
CREATE TABLE IF NOT EXISTS reprice_runs
(
    run_id        String,
    ran_at        DateTime64(3, 'UTC'),
    since         DateTime64(3, 'UTC'),
    until         Nullable(DateTime64(3, 'UTC')),
    tenant_filter String,
    model_filter  String,
    catalog       String,
    tenant_id     LowCardinality(String),
    provider      LowCardinality(String),
    model         LowCardinality(String),
    old_prices    Array(String),
    new_prices    Array(String),
    events        UInt64,
    changed       UInt64,
    old_unpriced  UInt64,
    new_unpriced  UInt64,
    old_total     Decimal(38, 18),
    new_total     Decimal(38, 18)
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(ran_at)
ORDER BY (tenant_id, run_id, provider, model);
