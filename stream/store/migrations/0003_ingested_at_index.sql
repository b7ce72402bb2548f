-- Window recovery after a restart selects events by ingestion time, which is not in the
-- sorting key; a min-max skip index lets it read only the recent granules.
ALTER TABLE usage_events ADD INDEX IF NOT EXISTS ingested_at_minmax ingested_at TYPE minmax GRANULARITY 4;
