"""Tumbling event-time windows per tenant, derived from the deduplicated event store."""
