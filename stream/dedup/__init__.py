"""Deduplication by (tenant_id, event_id): the first delivery of an event is counted,
every later one is dropped, and one with other content is recorded with what differs."""

from stream.dedup.ids import Conflict, DedupResult, EventIds

__all__ = ["Conflict", "DedupResult", "EventIds"]
