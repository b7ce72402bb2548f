"""What canonicalisation returns."""

from dataclasses import dataclass
from decimal import Decimal

from schemas.usage import TokenUsage


@dataclass(frozen=True, slots=True)
class ExtractedUsage:
    tokens: TokenUsage
    model: str | None
    """The model the response names, if any."""
    reported_cost_usd: Decimal | None
    """A dollar cost the response itself reports (OpenRouter's usage.cost)."""
