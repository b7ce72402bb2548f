"""What canonicalisation returns."""

from dataclasses import dataclass
from decimal import Decimal

from schemas.usage import TokenUsage


@dataclass(slots=True)  # not frozen: one per event, and a frozen dataclass costs three times as much
class ExtractedUsage:
    tokens: TokenUsage
    model: str | None
    """The model the response names, if any."""
    reported_cost_usd: Decimal | None
    """A dollar cost the response itself reports (OpenRouter's usage.cost)."""
