-- What cache reads saved versus the uncached input rate, priced when the event is priced
-- (the rate in force at the event's time, tenant overrides included); null when unpriced.
ALTER TABLE usage_events ADD COLUMN IF NOT EXISTS cache_savings Nullable(Decimal(38, 18)) AFTER cost_drift;
