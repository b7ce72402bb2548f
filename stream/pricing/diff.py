"""What changed between two price books at one instant, rate by rate (``costream prices diff``)."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from stream.pricing import genai
from stream.pricing.book import PriceBook
from stream.pricing.overrides import Override, in_force


class ChangeKind(StrEnum):
    ADDED = "added"
    REMOVED = "removed"
    CHANGED = "changed"


@dataclass(frozen=True, slots=True)
class RateChange:
    kind: ChangeKind
    source: str
    """``genai-prices``, ``operator`` or ``tenant:<id>``."""
    provider: str
    """genai-prices' provider id, an override's provider, or ``*`` for an override of any provider."""
    model: str
    """genai-prices' model id or an override's model pattern."""
    rate: str
    """``input``, ``cache_read``, ... (``input>200000`` for a long-context tier), or ``multiplier``."""
    old: Decimal | None
    new: Decimal | None


Key = tuple[str, str, str, str]


def diff_books(old: PriceBook, new: PriceBook, at: datetime) -> list[RateChange]:
    """Every rate added, removed or changed at ``at``, sorted by source, provider, model, rate.
    genai-prices' rates are compared only when the books use different data snapshots."""
    before, after = dict(_listing(old, at)), dict(_listing(new, at))
    if old.snapshot is new.snapshot:
        before = {key: value for key, value in before.items() if key[0] != genai.SOURCE}
        after = {key: value for key, value in after.items() if key[0] != genai.SOURCE}
    changes = []
    for key in sorted(before.keys() | after.keys()):
        was, now = before.get(key), after.get(key)
        if was == now:
            continue
        kind = ChangeKind.ADDED if was is None else ChangeKind.REMOVED if now is None else ChangeKind.CHANGED
        changes.append(RateChange(kind, *key, was, now))
    return changes


def _listing(book: PriceBook, at: datetime) -> Iterator[tuple[Key, Decimal]]:
    if book.snapshot is not None:
        for provider, info in book.genai_models():
            rates = book.compiled(info.get_prices(at))
            if rates is not None:
                for name, value in rates.describe():
                    yield (genai.SOURCE, provider.id, info.id, name), value
    layers: dict[tuple[str | None, str | None, str], list[Override]] = {}
    for override in book.overrides.entries:
        entry = override.entry
        layers.setdefault((entry.tenant_id, entry.provider, entry.model), []).append(override)
    for overrides in layers.values():
        current = in_force(tuple(overrides), at)
        if current is None:
            continue
        entry = current.entry
        where = (entry.source, entry.provider or "*", entry.model)
        if current.rates is not None:
            for name, value in current.rates.describe():
                yield (*where, name), value
        elif entry.multiplier is not None:
            yield (*where, "multiplier"), entry.multiplier
