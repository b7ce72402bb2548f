"""A model's price compiled to flat per-unit rates, and applying it to canonical tokens.

genai-prices' ``calc_price`` re-resolves units, validates and decomposes usage on every
call (~65-115 us). Here a model price is compiled once: its priced units, most specific
first, each with the indexes of its priced descendants, its rate (or long-context tiers)
and the cost line it belongs to. Pricing an event is then a handful of Decimal
multiplications, with the same leaf decomposition and arithmetic as genai-prices, so
the totals agree to the last digit (proven by a property test).
"""

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

from genai_prices.decompose import is_descendant_or_self
from genai_prices.types import ModelPrice, TieredPrices, _collect_resolved_model_prices
from genai_prices.units import UnitDef, _get_registry

from schemas import CostBreakdown, TokenUsage
from schemas.money import COST_QUANTUM, COST_SCALE, MONEY_CONTEXT

INPUT, CACHE_READ, CACHE_WRITE, OUTPUT, REASONING, OTHER = (
    "input", "cache_read", "cache_write", "output", "reasoning", "other"
)
_ZERO = Decimal(0)


def usage_counts(tokens: TokenUsage) -> dict[str, int]:
    """Canonical tokens in genai-prices' usage keys. Cache writes that are not 1-hour
    writes are 5-minute writes (the providers' default TTL)."""
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
    }


def cost_line(unit: UnitDef) -> str:
    dims = unit.dimensions
    token_type, modality = dims.get("token_type"), dims.get("modality")
    if dims.get("family") != "tokens" or modality not in (None, "text"):
        return OTHER
    if token_type == "cache_read":
        return CACHE_READ
    if token_type == "cache_write":
        return CACHE_WRITE
    if token_type == "reasoning":
        return REASONING
    if token_type is None:
        return INPUT if dims.get("direction") == "input" else OUTPUT
    return OTHER


@dataclass(frozen=True, slots=True)
class PricedUnit:
    usage_key: str
    price_key: str
    line: str
    per: int
    rate: Decimal
    tiers: tuple[tuple[int, Decimal], ...]
    """Long-context tiers, highest threshold first: (input tokens above which, rate)."""
    descendants: tuple[int, ...]
    """Indexes (in CompiledRates.units) of priced units whose usage is part of this one's."""

    def rate_for(self, total_input_tokens: int) -> Decimal:
        for start, price in self.tiers:
            if total_input_tokens > start:
                return price
        return self.rate


@dataclass(frozen=True, slots=True)
class CompiledRates:
    units: tuple[PricedUnit, ...]
    """Most specific first, so descendants' leaves are known before their ancestors'."""
    output_index: int | None = None
    """The output unit, where reasoning tokens are billed when the model has no
    reasoning rate of its own."""

    def per_million(self) -> dict[str, Decimal]:
        """Base rates by price key, as published (for display and diffs)."""
        return {unit.price_key: unit.rate for unit in self.units}

    def price(self, tokens: TokenUsage, multiplier: Decimal | None = None) -> CostBreakdown:
        counts = usage_counts(tokens)
        leaves: list[int] = []
        lines = dict.fromkeys((INPUT, CACHE_READ, CACHE_WRITE, OUTPUT, REASONING, OTHER), _ZERO)
        total_input = tokens.input_tokens
        for unit in self.units:
            if unit.usage_key == "requests":
                leaf = 1
            else:
                leaf = counts.get(unit.usage_key, 0)
                for index in unit.descendants:
                    leaf -= leaves[index]
                if leaf < 0:
                    raise ValueError(f"usage for {unit.usage_key} is smaller than its parts")
            leaves.append(leaf)
            if leaf:
                # same operations, in the same order, as genai-prices' calc_unit_price
                cost = unit.rate_for(total_input) * Decimal(leaf) / unit.per
                if multiplier is not None:
                    cost = MONEY_CONTEXT.multiply(cost, multiplier)
                lines[unit.line] += cost
        if self.output_index is not None and tokens.reasoning_tokens:
            # Reasoning billed at the output rate still gets its own line.
            unit = self.units[self.output_index]
            reasoning = min(tokens.reasoning_tokens, leaves[self.output_index])
            share = unit.rate_for(total_input) * Decimal(reasoning) / unit.per
            if multiplier is not None:
                share = MONEY_CONTEXT.multiply(share, multiplier)
            lines[OUTPUT] -= share
            lines[REASONING] += share
        return breakdown(lines)


def breakdown(lines: dict[str, Decimal]) -> CostBreakdown:
    """Lines at the cost scale; the total is their sum, so the parts always add up.

    Rates published per million tokens give at most ~12 decimal places, so quantizing
    changes nothing for them; a multiplier (discount, markup) can produce more, which is
    rounded half-even per line, at 18 places.
    """
    for name, value in lines.items():
        if value.as_tuple().exponent < -COST_SCALE:  # type: ignore[operator]
            lines[name] = value.quantize(COST_QUANTUM, rounding=ROUND_HALF_EVEN, context=MONEY_CONTEXT)
    total = _ZERO
    for value in lines.values():
        total = MONEY_CONTEXT.add(total, value)
    return CostBreakdown(**lines, total=total)


def compile_units(resolved: Iterable[tuple[UnitDef, Decimal | TieredPrices]]) -> CompiledRates:
    ordered = sorted(resolved, key=lambda pair: (-len(pair[0].dimensions), pair[0].usage_key))
    units: list[PricedUnit] = []
    for index, (unit, price) in enumerate(ordered):
        descendants = tuple(
            other for other in range(index)
            if ordered[other][0] is not unit and is_descendant_or_self(unit, ordered[other][0])
        )
        if isinstance(price, TieredPrices):
            base = price.base
            tiers = tuple(sorted(((tier.start, tier.price) for tier in price.tiers), reverse=True))
        else:
            base, tiers = price, ()
        units.append(PricedUnit(unit.usage_key, unit.price_key, cost_line(unit), unit.per, base, tiers, descendants))
    has_reasoning_rate = any(unit.line == REASONING for unit in units)
    output = next((index for index, unit in enumerate(units) if unit.usage_key == "output_tokens"), None)
    return CompiledRates(tuple(units), None if has_reasoning_rate else output)


def compile_model_price(model_price: ModelPrice) -> CompiledRates:
    return compile_units(_collect_resolved_model_prices(model_price, _get_registry()))


def compile_per_million(rates: dict[str, Decimal]) -> CompiledRates:
    """Rates given by price key (``input_mtok``, ``cache_read_mtok``, ...), e.g. an override."""
    registry = _get_registry()
    return compile_units((registry.unit_for_price_key(key), value) for key, value in rates.items())
