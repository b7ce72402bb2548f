"""The price book (genai-prices + overrides), compiled rates, and pricing an event."""

from stream.pricing.book import PriceBook, Quote, ResolvedPrice
from stream.pricing.event import price_event
from stream.pricing.overrides import Overrides, OverridesError
from stream.pricing.rates import CompiledRates

__all__ = ["CompiledRates", "Overrides", "OverridesError", "PriceBook", "Quote", "ResolvedPrice", "price_event"]
