"""The price book: genai-prices data, under operator overrides, under tenant overrides.

Prices are resolved at the event's ``occurred_at``, never at "now": genai-prices' dated
prices (``ConditionalPrice`` with start dates or times of day) and the overrides'
``effective_from``/``effective_until`` are all evaluated at event time, so re-running
old events gives their historical cost. Lookups and compiled rates are cached per
model and per price object, so the hot path does no parsing or decomposition.
"""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import genai_prices
from genai_prices import data_snapshot
from genai_prices.types import ModelInfo, ModelPrice, Provider

from schemas import CostBreakdown, TokenUsage
from schemas.money import MONEY_CONTEXT
from stream.canonical import canonical_provider
from stream.pricing.normalize import lookup_variants
from stream.pricing.overrides import Overrides
from stream.pricing.rates import CompiledRates, compile_model_price

GENAI_SOURCE = "genai-prices"
GENAI_VERSION = genai_prices.__version__


@dataclass(frozen=True, slots=True)
class Quote:
    resolved_model: str
    breakdown: CostBreakdown
    price_source: str
    price_version: str


@dataclass(frozen=True, slots=True)
class ResolvedPrice:
    """The rates in force for one (provider, model, tenant) at one instant."""

    resolved_model: str
    rates: CompiledRates
    multiplier: Decimal | None
    price_source: str
    price_version: str


@dataclass
class PriceBook:
    overrides: Overrides = field(default_factory=Overrides.empty)
    overrides_file: Path | None = None
    _models: dict[tuple[str, str], tuple[Provider, ModelInfo] | None] = field(default_factory=dict)
    _compiled: dict[int, tuple[ModelPrice, CompiledRates]] = field(default_factory=dict)
    _variants: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def load(cls, overrides_file: Path | None = None) -> "PriceBook":
        overrides = Overrides.load(overrides_file) if overrides_file else Overrides.empty()
        return cls(overrides, overrides_file)

    def reload(self) -> "PriceBook":
        return PriceBook.load(self.overrides_file)

    # --- lookup -----------------------------------------------------------------------------
    def variants(self, model: str) -> list[str]:
        found = self._variants.get(model)
        if found is None:
            found = self._variants[model] = lookup_variants(model)
        return found

    def find_model(self, provider: str, model: str) -> tuple[Provider, ModelInfo] | None:
        key = (provider, model)
        if key in self._models:
            return self._models[key]
        provider_id = canonical_provider(provider)
        genai_provider = None if provider_id in (None, "generic") else provider_id
        snapshot = data_snapshot.get_snapshot()
        found: tuple[Provider, ModelInfo] | None = None
        for candidate_provider in dict.fromkeys((genai_provider, None)):
            for variant in self.variants(model):
                try:
                    found = snapshot.find_provider_model(variant, None, candidate_provider, None)
                    break
                except LookupError:
                    continue
            if found is not None:
                break
        self._models[key] = found
        return found

    def _genai_rates(self, provider: str, model: str, at: datetime) -> ResolvedPrice | None:
        found = self.find_model(provider, model)
        if found is None:
            return None
        genai_provider, info = found
        model_price = info.get_prices(at)
        cached = self._compiled.get(id(model_price))
        if cached is None or cached[0] is not model_price:
            cached = self._compiled[id(model_price)] = (model_price, compile_model_price(model_price))
        return ResolvedPrice(f"{genai_provider.id}/{info.id}", cached[1], None, GENAI_SOURCE, GENAI_VERSION)

    def resolve(self, provider: str, model: str, at: datetime, tenant_id: str | None = None) -> ResolvedPrice | None:
        price = self._genai_rates(provider, model, at)
        if not self.overrides.entries:
            return price
        provider_id = canonical_provider(provider) or provider.lower()
        variants = self.variants(model)
        layers = [(None, "operator")] + ([(tenant_id, f"tenant:{tenant_id}")] if tenant_id else [])
        for tenant, source in layers:
            found = self.overrides.find(tenant, provider_id, variants, at)
            if found is None or (tenant is None and found[1].tenant_id is not None):
                continue
            if tenant is not None and found[1].tenant_id != tenant:
                continue
            index, entry = found
            version = f"{self.overrides.revision}@{entry.effective_from.isoformat()}"
            if entry.rates is not None:
                price = ResolvedPrice(model.lower(), self.overrides.compiled[index], None, source, version)
            elif price is not None and entry.multiplier is not None:
                multiplier = entry.multiplier if price.multiplier is None else MONEY_CONTEXT.multiply(
                    price.multiplier, entry.multiplier)
                price = ResolvedPrice(price.resolved_model, price.rates, multiplier, source, version)
        return price

    # --- pricing ----------------------------------------------------------------------------
    def quote(
        self, provider: str, model: str, tokens: TokenUsage, occurred_at: datetime, tenant_id: str | None = None
    ) -> Quote | None:
        """The token cost of one event, or None when the model has no price (never $0)."""
        price = self.resolve(provider, model, occurred_at, tenant_id)
        if price is None:
            return None
        return Quote(price.resolved_model, price.rates.price(tokens, price.multiplier), price.price_source,
                     price.price_version)

    def rates(
        self, provider: str, model: str, occurred_at: datetime, tenant_id: str | None = None
    ) -> ResolvedPrice | None:
        return self.resolve(provider, model, occurred_at, tenant_id)
