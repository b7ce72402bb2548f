-- A later delivery of a counted event_id is now compared with its stored first delivery
-- in usage_events (read by that table's key, per repeat), not through a hash of every
-- event's content kept for the day it is redelivered: the hash cost every event a third
-- of the hot path.
ALTER TABLE event_ids DROP COLUMN IF EXISTS fingerprint;
