"""The price book: genai-prices data, under costream's curated corrections, under operator
overrides, under tenant overrides (each layer's entries override the layers below them
while they are in force; a multiplier scales the price below it).

Prices are those in force at the event's ``occurred_at``, never "now", so re-pricing
old events gives their historical cost.

Hot path: the first event of a (provider, model, tenant) finds the model once (genai-
prices' matching, then normalised ids) and collects the instants at which its price can
change: genai-prices' start dates and the corrections' and overrides'
``effective_from``/``until``.
Between two such instants (a price period) the price is constant, so it is resolved and
compiled to flat rates once per period and cached under the period's index; an event
then costs a dict lookup, a bisect and a few Decimal multiplications. Models with
time-of-day prices (off-peak discounts) add the active price's index to the key.

A book is immutable in what it prices; its caches only memoise. ``reload`` builds a new
book for the caller to swap in whole.
"""

from bisect import bisect_right
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from genai_prices.data_snapshot import DataSnapshot
from genai_prices.types import ModelInfo, ModelPrice, Provider

from schemas import CostBreakdown, TokenUsage
from stream.canonical import canonical_provider
from stream.pricing import genai
from stream.pricing.corrections import Corrections
from stream.pricing.datafile import PriceData
from stream.pricing.normalize import lookup_variants, same_id_forms
from stream.pricing.overrides import LayerEntry, Overrides, boundaries, in_force
from stream.pricing.quote import breakdown_of, cache_read_savings, price_tokens
from stream.pricing.rates import CompiledRates, compile_model_price

MAX_CACHED_MODELS = 65_536
"""Model ids come from producers; past this many distinct (provider, model, tenant) keys
the least recently used is dropped: the models in use stay resolved while a producer
sending junk ids costs memory for at most this many (each is priced as unpriced)."""

_BEFORE_ALL = datetime(1, 1, 2, tzinfo=UTC)
_DAY = 86_400


@dataclass(slots=True)  # not frozen: one per event, and a frozen dataclass costs three times as much
class Quote:
    resolved_model: str
    """The price book's id of the model, after normalisation (``provider/model`` for genai-prices)."""
    breakdown: CostBreakdown
    price_source: str
    """The layer that priced it: ``genai-prices``, ``corrections``, ``operator`` or ``tenant:<id>``."""
    price_version: str
    """genai-prices' data version, or the corrections' or overrides file's revision and the
    entry's effective_from."""
    cache_savings: Decimal
    """Cache reads at the uncached input rate minus their cache-read cost."""


@dataclass(frozen=True, slots=True)
class ResolvedPrice:
    """The rates in force for one (provider, model, tenant) in one price period."""

    resolved_model: str
    rates: CompiledRates
    price_source: str
    price_version: str


class _Model:
    """What one (provider, model, tenant) resolves to, and its prices per period."""

    __slots__ = ("book", "cuts", "found", "layers", "periods", "resolved_id", "time_of_day")

    def __init__(self, book: "PriceBook", provider: str, model: str, tenant_id: str | None) -> None:
        self.book = book
        self.found = genai.find_model(book.snapshot, provider, model)
        variants = lookup_variants(model)
        names = list(variants)
        if self.found is not None:
            genai_provider, info = self.found
            self.resolved_id = f"{genai_provider.id}/{info.id}"
            names += [info.id.lower(), self.resolved_id.lower()]
        else:
            self.resolved_id = variants[0] if variants else model.strip().lower()
        provider_id = canonical_provider(provider) or provider.strip().lower()
        provider_ids = {provider_id} | ({self.found[0].id} if self.found is not None else set())
        corrections = book.corrections.candidates(provider_ids, names, same_id_forms(model))
        if self.found is None and corrections:
            self.resolved_id = f"{corrections[0].entry.provider_id}/{corrections[0].entry.model.lower()}"
            names.append(self.resolved_id)
        overrides = book.overrides
        self.layers: tuple[tuple[LayerEntry, ...], ...] = tuple(
            layer for layer in (
                corrections,
                overrides.candidates(None, provider_id, names),
                overrides.candidates(tenant_id, provider_id, names) if tenant_id is not None else (),
            ) if layer
        )
        cuts = {cut for layer in self.layers for cut in boundaries(layer)}
        info_or_none = self.found[1] if self.found is not None else None
        self.time_of_day = genai.time_of_day_cuts(info_or_none) if info_or_none is not None else ()
        if info_or_none is not None:
            cuts.update(genai.start_dates(info_or_none))
        self.cuts = tuple(sorted(cuts))
        self.periods: dict[int, ResolvedPrice | None] = {}

    def at(self, at: datetime) -> ResolvedPrice | None:
        period = bisect_right(self.cuts, at)
        if self.time_of_day:
            # Off-peak prices: the day is cut at their start and end times as well.
            slot = bisect_right(self.time_of_day, at.timestamp() % _DAY)
            period = period * (len(self.time_of_day) + 1) + slot
        try:
            return self.periods[period]
        except KeyError:
            price = self.periods[period] = self._resolve(at)
            return price

    def _resolve(self, at: datetime) -> ResolvedPrice | None:
        # Every event of the period shares this result, so resolve at the period's start:
        # nothing changes within it. Time-of-day slots are keyed apart above, so genai-prices'
        # own selection at this event's time holds for the whole slot.
        period = bisect_right(self.cuts, at)
        start = self.cuts[period - 1] if period else _BEFORE_ALL
        price = self._genai_price(at if self.time_of_day else start)
        for layer in self.layers:
            override = in_force(layer, start)
            if override is not None:
                price = self._apply(price, override)
        return price

    def _genai_price(self, at: datetime) -> ResolvedPrice | None:
        if self.found is None:
            return None
        model_price = self.found[1].get_prices(at)
        rates = self.book.compiled(model_price)
        if rates is None:
            return None
        return ResolvedPrice(self.resolved_id, rates, genai.SOURCE, self.book.data.version)

    def _apply(self, below: ResolvedPrice | None, entry: LayerEntry) -> ResolvedPrice | None:
        if entry.rates is not None:
            return ResolvedPrice(self.resolved_id, entry.rates, entry.price_source, entry.version)
        if below is None or entry.multiplier is None:
            return None  # a discount on a model with no price is still no price
        return ResolvedPrice(below.resolved_model, below.rates.scaled(entry.multiplier), entry.price_source,
                             entry.version)


class PriceBook:
    """Token prices by (provider, model, tenant, time). See the module docstring."""

    __slots__ = ("_compiled", "_models", "corrections", "data", "overrides", "overrides_file")

    def __init__(
        self, overrides: Overrides | None = None, overrides_file: Path | None = None,
        snapshot: DataSnapshot | None = None, *, corrections: Corrections | None = None,
        data: PriceData | None = None,
    ) -> None:
        self.overrides = overrides or Overrides.empty()
        self.overrides_file = overrides_file
        self.data = data or (PriceData.of(snapshot) if snapshot is not None else PriceData.bundled())
        self.corrections = Corrections.load() if corrections is None else corrections
        self._models: OrderedDict[tuple[str, str, str | None], _Model] = OrderedDict()
        self._compiled: dict[int, tuple[ModelPrice, CompiledRates | None]] = {}

    @property
    def snapshot(self) -> DataSnapshot:
        return self.data.snapshot

    @property
    def genai_version(self) -> str:
        return self.data.version

    @classmethod
    def load(
        cls, overrides_file: Path | None = None, *, snapshot: DataSnapshot | None = None,
        data: PriceData | None = None, corrections: Corrections | None = None,
    ) -> "PriceBook":
        """genai-prices' data (or ``data``), the shipped corrections, and the overrides file if
        given (raises OverridesError or CorrectionsError if one is invalid)."""
        overrides = Overrides.load(overrides_file) if overrides_file is not None else None
        return cls(overrides, overrides_file, snapshot, corrections=corrections, data=data)

    def reload(self, data: PriceData | None = None) -> "PriceBook":
        """A new book from the overrides file as it is now (and ``data``, else the data in
        force); this one is left as it was."""
        return PriceBook.load(self.overrides_file, data=data or self.data.current(), corrections=self.corrections)

    def resolve(self, provider: str, model: str, at: datetime, tenant_id: str | None = None) -> ResolvedPrice | None:
        """The price in force, with its source; None when nothing prices the model."""
        if at.tzinfo is None:
            at = at.replace(tzinfo=UTC)  # as genai-prices does; events always carry a zone
        key = (provider, model, tenant_id if tenant_id in self.overrides.tenants else None)
        models = self._models
        entry = models.get(key)
        if entry is None:
            if len(models) >= MAX_CACHED_MODELS:
                models.popitem(last=False)
            entry = models[key] = _Model(self, provider, model, key[2])
        else:
            models.move_to_end(key)
        return entry.at(at)

    def quote(
        self,
        provider: str,
        model: str,
        tokens: TokenUsage,
        occurred_at: datetime,
        tenant_id: str | None = None,
        *,
        trusted: bool = False,
    ) -> Quote | None:
        """The token cost of one event; None when the model has no price (never a $0 quote).

        The breakdown is a CostBreakdown; with ``trusted`` (the ingest pipeline) it is the
        :data:`schemas.wire.CostStruct` the book builds, without a pydantic object."""
        price = self.resolve(provider, model, occurred_at, tenant_id)
        if price is None:
            return None
        breakdown = breakdown_of(price.rates, tokens) if trusted else price_tokens(price.rates, tokens)
        savings = cache_read_savings(price.rates, tokens, breakdown)
        return Quote(price.resolved_model, breakdown, price.price_source, price.price_version, savings)

    def rates(
        self, provider: str, model: str, occurred_at: datetime, tenant_id: str | None = None
    ) -> CompiledRates | None:
        """The flat rates in force (with any tenant multiplier applied), for display."""
        price = self.resolve(provider, model, occurred_at, tenant_id)
        return price.rates if price is not None else None

    def compiled(self, model_price: ModelPrice) -> CompiledRates | None:
        """Compiled rates per genai-prices price object (shared by every alias of a model).
        Keyed by identity and holding the object, so an id is never reused while cached."""
        cached = self._compiled.get(id(model_price))
        if cached is None or cached[0] is not model_price:
            cached = self._compiled[id(model_price)] = (model_price, compile_model_price(model_price))
        return cached[1]

    def genai_models(self) -> list[tuple[Provider, ModelInfo]]:
        return [(provider, info) for provider in self.snapshot.providers for info in provider.models]
