"""The genai-prices side of the book: its data snapshot, its version, its model matching,
and canonical tokens in its usage keys."""

from datetime import UTC, date, datetime

import genai_prices
from genai_prices import Usage, data_snapshot
from genai_prices.data_snapshot import DataSnapshot, find_provider_by_id
from genai_prices.types import ModelInfo, ModelPrice, Provider, StartDateConstraint, TimeOfDateConstraint

from schemas import TokenUsage
from stream.canonical import canonical_provider
from stream.pricing.normalize import lookup_variants

SOURCE = "genai-prices"


def current_snapshot() -> DataSnapshot:
    return data_snapshot.get_snapshot()


def snapshot_version(snapshot: DataSnapshot) -> str:
    """The bundled data is versioned by the package; an auto-updated snapshot also by when it was fetched."""
    version = genai_prices.__version__
    if snapshot.from_auto_update:
        return f"{version}+{snapshot.timestamp.astimezone(UTC):%Y%m%dT%H%M%SZ}"
    return version


def genai_provider_id(snapshot: DataSnapshot, provider: str) -> str | None:
    """genai-prices' id for a provider (through the canonical alias table); None for
    ``generic`` or a provider it does not know, whose models are then found by id alone."""
    candidate = canonical_provider(provider) or provider.strip().lower()
    if candidate == "generic":
        return None
    found = find_provider_by_id(snapshot.providers, candidate)
    return found.id if found is not None else None


def find_model(snapshot: DataSnapshot, provider: str, model: str) -> tuple[Provider, ModelInfo] | None:
    """genai-prices' own matching on the id as sent, then on normalised variants of it."""
    provider_id = genai_provider_id(snapshot, provider)
    for variant in lookup_variants(model):
        try:
            return snapshot.find_provider_model(variant, None, provider_id, None)
        except LookupError:
            continue
    return None


def start_dates(info: ModelInfo) -> tuple[datetime, ...]:
    """The instants at which the model's dated prices start (UTC midnight of each start date,
    as genai-prices compares the event's UTC date)."""
    if isinstance(info.prices, ModelPrice):
        return ()
    return tuple(sorted({
        datetime(c.constraint.start_date.year, c.constraint.start_date.month, c.constraint.start_date.day, tzinfo=UTC)
        for c in info.prices if isinstance(c.constraint, StartDateConstraint)
    }))


def time_of_day_cuts(info: ModelInfo) -> tuple[float, ...]:
    """Seconds after UTC midnight at which a time-of-day price (an off-peak discount) starts
    or ends; empty when the price does not depend on the time of day."""
    if isinstance(info.prices, ModelPrice):
        return ()
    cuts: set[float] = set()
    for conditional in info.prices:
        if isinstance(conditional.constraint, TimeOfDateConstraint):
            for moment in (conditional.constraint.start_time, conditional.constraint.end_time):
                utc = datetime.combine(date(1970, 1, 1), moment, moment.tzinfo or UTC).astimezone(UTC)
                cuts.add(utc.hour * 3600 + utc.minute * 60 + utc.second + utc.microsecond / 1e6)
    return tuple(sorted(cuts))


def usage_counts(tokens: TokenUsage) -> dict[str, int]:
    """Canonical tokens in genai-prices' usage keys; both use the inclusive convention.

    Every key is given explicitly: genai-prices refuses to infer a joint key such as
    ``cache_audio_read_tokens`` when both of its parents are reported, and canonical
    usage does not say how much audio was cached, so that is 0 (audio is uncached)."""
    return {
        "input_tokens": tokens.input_tokens,
        "cache_read_tokens": tokens.cache_read_tokens,
        "cache_write_tokens": tokens.cache_write_tokens,
        "cache_write_5m_tokens": tokens.cache_write_tokens - tokens.cache_write_1h_tokens,
        "cache_write_1h_tokens": tokens.cache_write_1h_tokens,
        "output_tokens": tokens.output_tokens,
        "output_reasoning_tokens": tokens.reasoning_tokens,
        "input_audio_tokens": tokens.input_audio_tokens,
        "output_audio_tokens": tokens.output_audio_tokens,
        "cache_audio_read_tokens": 0,
    }


def genai_usage(tokens: TokenUsage) -> Usage:
    return Usage(**usage_counts(tokens))
