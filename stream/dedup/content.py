"""What makes two deliveries of an event_id the same event (pure).

The compared fields are the event's inputs (time, provider, model, tokens, reported cost,
attributes), read through the one definition of the ``usage_events`` row, so a change of
field order, of price data or of ingestion time is not a difference. Each is compared at
the store's precision and in its canonical form, so an event read back from
``usage_events`` is the same as its first delivery.
"""

from collections.abc import Callable, Sequence
from typing import Any

from stream.ingest.records import PricedRecord
from stream.store.rows import fields_of

COMPARED_COLUMNS: tuple[str, ...] = (
    "occurred_at", "provider", "api_flavor", "model",
    "input_tokens", "cache_read_tokens", "cache_write_tokens", "cache_write_1h_tokens",
    "output_tokens", "reasoning_tokens", "input_audio_tokens", "output_audio_tokens", "provider_cost",
    "feature", "agent", "operation", "user_id", "session_id", "request_id", "api_key_id", "latency_ms", "tags",
)  # fmt: skip
compared_values: Callable[[PricedRecord], tuple[Any, ...]] = fields_of(COMPARED_COLUMNS)
"""The compared fields of a record, in :data:`COMPARED_COLUMNS` order (one C call)."""


def _text(value: Any) -> str:
    if isinstance(value, dict):  # tag order is not content; no tags and {} are one
        return repr(sorted(value.items())) if value else ""
    if hasattr(value, "isoformat"):  # the store keeps milliseconds
        return str(value.isoformat(timespec="milliseconds"))
    if value is None:  # an absent attribute is stored as ""
        return ""
    return format(value.normalize(), "f") if hasattr(value, "as_tuple") else str(value)  # "1.50" is "1.5"


def differing_fields(first: Sequence[Any], later: Sequence[Any]) -> list[str]:
    """Names of the compared fields whose values differ between two deliveries."""
    return [name for name, a, b in zip(COMPARED_COLUMNS, first, later, strict=True) if _text(a) != _text(b)]
