"""Window boundaries and deterministic identities (pure functions)."""

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def window_start(occurred_at: datetime, size_seconds: int) -> datetime:
    """Start of the tumbling window holding ``occurred_at``.

    Windows are aligned to the Unix epoch in UTC, so with any size that divides a day
    they also align to UTC minutes, hours and days. Integer microseconds keep the
    boundary exact (no float rounding at an edge).
    """
    elapsed = occurred_at.astimezone(UTC) - _EPOCH
    micros = (elapsed.days * 86_400 + elapsed.seconds) * 1_000_000 + elapsed.microseconds
    size_micros = size_seconds * 1_000_000
    return _EPOCH + timedelta(microseconds=micros - micros % size_micros)


def window_end(start: datetime, size_seconds: int) -> datetime:
    return start + timedelta(seconds=size_seconds)


def window_id(tenant_id: str, start: datetime, size_seconds: int) -> str:
    text = f"{tenant_id}\x1f{start.astimezone(UTC).isoformat()}\x1f{size_seconds}"
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def group_key(provider: str, model: str, dimensions: Mapping[str, str]) -> str:
    parts = [provider, model, *(f"{name}={dimensions[name]}" for name in sorted(dimensions))]
    return hashlib.blake2b("\x1f".join(parts).encode(), digest_size=12).hexdigest()
