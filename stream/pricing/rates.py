"""A model's price compiled to flat per-token rates.

genai-prices stores a price as a bag of price keys that its ``calc_price`` resolves,
validates and decomposes into leaf usages on every call. Here that work happens once per
price: the keys that canonical tokens can carry are folded into one flat rate per token
type, following the same leaf rules (a token type without its own rate is billed at the
rate of the type it is part of: cache reads and writes at the input rate, reasoning at
the output rate, ...). Long-context tiers become alternative flat rate sets, chosen by
total input tokens.

Rates are USD per million tokens (``per_request``: USD per request), as published.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from decimal import Decimal

from genai_prices.types import ModelPrice, TieredPrices

from schemas.money import COST_SCALE, MONEY_CONTEXT

PER_MILLION_SCALE = -6
RATE_NAMES = (
    "input", "cache_read", "cache_write_5m", "cache_write_1h", "output",
    "reasoning", "input_audio", "output_audio", "per_request",
)  # fmt: skip
"""The flat rates, in the order ``CompiledRates.per_token`` holds them."""

SUPPORTED_PRICE_KEYS = frozenset({
    "input_mtok", "cache_read_mtok", "cache_write_mtok", "cache_write_5m_mtok", "cache_write_1h_mtok",
    "output_mtok", "output_reasoning_mtok", "input_audio_mtok", "output_audio_mtok", "requests_kcount",
})  # fmt: skip
"""genai-prices price keys for what canonical tokens count. Other keys (images, web
searches, audio seconds, ...) price usage that TokenUsage cannot carry, so they add
nothing, exactly as they add nothing in calc_price when their usage is absent."""

_ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class CompiledRates:
    """Flat rates in force for one model at one price period."""

    input: Decimal
    cache_read: Decimal
    cache_write_5m: Decimal
    cache_write_1h: Decimal
    output: Decimal
    reasoning: Decimal | None = None
    """None: reasoning is billed at the output rate (still on its own cost line)."""
    input_audio: Decimal | None = None
    """None: input audio is billed as ordinary input."""
    output_audio: Decimal | None = None
    """None: output audio is billed as ordinary output."""
    per_request: Decimal | None = None
    tiers: tuple[tuple[int, "CompiledRates"], ...] = ()
    """Long-context tiers, highest threshold first: when total input tokens exceed the
    threshold, every token of the request is billed at that tier's rates."""
    per_token: tuple[Decimal, ...] = field(init=False, repr=False, compare=False)
    """The rates per single token (per request for ``per_request``), in RATE_NAMES order."""
    exact: bool = field(init=False, repr=False, compare=False)
    """Whether every rate times a token count fits the cost scale, so no line needs rounding."""
    small: bool = field(init=False, repr=False, compare=False)
    """Whether every per-token (per-request) rate is below $1: with ``exact``, such a rate
    has at most 18 digits, so its product with any token count (at most 9 digits) and the
    sum of the lines are exact in Python's default 28-digit decimal context."""

    def __post_init__(self) -> None:
        per_token = tuple(
            _ZERO if rate is None else rate if name == "per_request" else rate.scaleb(PER_MILLION_SCALE, MONEY_CONTEXT)
            for name, rate in zip(RATE_NAMES, self.rates(), strict=True)
        )
        object.__setattr__(self, "per_token", per_token)
        exact = all(-rate.as_tuple().exponent <= COST_SCALE for rate in per_token)  # type: ignore[operator]
        object.__setattr__(self, "exact", exact and all(tier.exact for _, tier in self.tiers))
        small = all(not rate or rate.adjusted() < 0 for rate in per_token)
        object.__setattr__(self, "small", small and all(tier.small for _, tier in self.tiers))

    def rates(self) -> tuple[Decimal | None, ...]:
        return tuple(getattr(self, name) for name in RATE_NAMES)

    def for_input(self, input_tokens: int) -> "CompiledRates":
        for threshold, tier in self.tiers:
            if input_tokens > threshold:
                return tier
        return self

    def scaled(self, multiplier: Decimal) -> "CompiledRates":
        """Every rate times ``multiplier`` (a negotiated discount, a chargeback markup)."""

        def times(rate: Decimal) -> Decimal:
            return MONEY_CONTEXT.multiply(rate, multiplier)

        def maybe(rate: Decimal | None) -> Decimal | None:
            return None if rate is None else times(rate)

        return CompiledRates(
            input=times(self.input), cache_read=times(self.cache_read), cache_write_5m=times(self.cache_write_5m),
            cache_write_1h=times(self.cache_write_1h), output=times(self.output), reasoning=maybe(self.reasoning),
            input_audio=maybe(self.input_audio), output_audio=maybe(self.output_audio),
            per_request=maybe(self.per_request),
            tiers=tuple((threshold, tier.scaled(multiplier)) for threshold, tier in self.tiers),
        )

    def per_million(self) -> dict[str, Decimal]:
        return dict(self.describe())

    def describe(self) -> Iterator[tuple[str, Decimal]]:
        """(name, rate) for every rate that is set, tiers as ``input>200000``, for display and diffs."""
        for name, rate in zip(RATE_NAMES, self.rates(), strict=True):
            if rate is not None:
                yield name, rate
        for threshold, tier in reversed(self.tiers):
            for name, rate in tier.describe():
                yield f"{name}>{threshold}", rate


def compile_rates(price_of: Callable[[str], Decimal | None]) -> CompiledRates:
    """Flat rates from per-key prices (``input_mtok``, ``cache_write_1h_mtok``, ...), with
    genai-prices' leaf rules for keys that are absent."""
    input_rate = price_of("input_mtok") or _ZERO
    cache_write = price_of("cache_write_mtok")
    output_rate = price_of("output_mtok") or _ZERO
    requests = price_of("requests_kcount")
    return CompiledRates(
        input=input_rate,
        cache_read=_first(price_of("cache_read_mtok"), input_rate),
        cache_write_5m=_first(price_of("cache_write_5m_mtok"), cache_write, input_rate),
        cache_write_1h=_first(price_of("cache_write_1h_mtok"), cache_write, input_rate),
        output=output_rate,
        reasoning=price_of("output_reasoning_mtok"),
        input_audio=price_of("input_audio_mtok"),
        output_audio=price_of("output_audio_mtok"),
        per_request=None if requests is None else requests.scaleb(-3, MONEY_CONTEXT),
    )


def compile_model_price(model_price: ModelPrice) -> CompiledRates | None:
    """A genai-prices price as flat rates; None when it prices nothing canonical tokens count
    (e.g. only document pages or audio seconds): such a model is unpriced here, not $0."""
    values: dict[str, Decimal | TieredPrices] = {}
    for key in SUPPORTED_PRICE_KEYS:
        value = getattr(model_price, key, None)
        if isinstance(value, Decimal | TieredPrices):
            values[key] = value
    if not values:
        return None
    thresholds = sorted({tier.start for value in values.values() if isinstance(value, TieredPrices)
                         for tier in value.tiers})

    def flat_at(threshold: int | None) -> CompiledRates:
        def price_of(key: str) -> Decimal | None:
            value = values.get(key)
            if not isinstance(value, TieredPrices):
                return value
            price = value.base
            for tier in value.tiers:  # ascending; the highest tier whose start is passed applies
                if threshold is not None and tier.start <= threshold:
                    price = tier.price
            return price

        return compile_rates(price_of)

    tiers = tuple((threshold, flat_at(threshold)) for threshold in reversed(thresholds))
    return replace(flat_at(None), tiers=tiers)


def _first(*rates: Decimal | None) -> Decimal:
    for rate in rates:
        if rate is not None:
            return rate
    return _ZERO
