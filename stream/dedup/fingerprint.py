"""What makes two deliveries of an event_id the same event (pure).

The compared fields are the event's inputs (time, provider, model, tokens, reported cost,
attributes), read through the one definition of the ``usage_events`` row, so a change of
field order, of price data or of ingestion time is not a difference.
"""

import hashlib
from collections.abc import Callable, Sequence
from typing import Any

import msgspec

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
    if isinstance(value, dict):
        return repr(sorted(value.items()))
    if hasattr(value, "isoformat"):
        return str(value.isoformat(timespec="milliseconds"))
    if value is None:  # an absent attribute is stored as ""
        return ""
    return format(value.normalize(), "f") if hasattr(value, "as_tuple") else str(value)


_TIME = COMPARED_COLUMNS.index("occurred_at")
_COST = COMPARED_COLUMNS.index("provider_cost")
_TAGS = COMPARED_COLUMNS.index("tags")
_LABELS = tuple(COMPARED_COLUMNS.index(name) for name in (
    "feature", "agent", "operation", "user_id", "session_id", "request_id", "api_key_id",
))  # fmt: skip
# msgpack of the values (Decimals as strings) is a canonical byte form at a fraction of the
# cost of formatting each value as text: the hash is paid for every event of every batch.
_pack = msgspec.msgpack.Encoder(decimal_format="string").encode


def fingerprint_of(values: Sequence[Any]) -> int:
    canonical = list(values)
    at, cost, tags = canonical[_TIME], canonical[_COST], canonical[_TAGS]
    # at the store's precision (milliseconds): an event read back from usage_events, as
    # recovery does, must give the fingerprint its first delivery gave
    canonical[_TIME] = at.replace(microsecond=at.microsecond - at.microsecond % 1000)
    if cost is not None:
        canonical[_COST] = cost.normalize()  # "1.50" and "1.5" are one amount
    canonical[_TAGS] = sorted(tags.items()) if tags else None  # tag order is not content
    for index in _LABELS:  # absent and "" are one attribute (the store keeps "" for both)
        canonical[index] = canonical[index] or None
    return int.from_bytes(hashlib.blake2b(_pack(canonical), digest_size=8).digest(), "big")


def fingerprint(record: PricedRecord) -> int:
    return fingerprint_of(compared_values(record))


def differing_fields(first: Sequence[Any], later: Sequence[Any]) -> list[str]:
    """Names of the compared fields whose values differ between two deliveries."""
    return [name for name, a, b in zip(COMPARED_COLUMNS, first, later, strict=True) if _text(a) != _text(b)]
