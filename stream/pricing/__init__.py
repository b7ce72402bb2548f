"""The price book (genai-prices + overrides), compiled rates, and pricing an event."""

from stream.pricing.book import PriceBook, Quote, ResolvedPrice
from stream.pricing.diff import ChangeKind, RateChange, diff_books
from stream.pricing.event import price_event
from stream.pricing.overrides import Overrides, OverridesError
from stream.pricing.quote import price_tokens
from stream.pricing.rates import CompiledRates

__all__ = [
    "ChangeKind",
    "CompiledRates",
    "Overrides",
    "OverridesError",
    "PriceBook",
    "Quote",
    "RateChange",
    "ResolvedPrice",
    "diff_books",
    "price_event",
    "price_tokens",
]
