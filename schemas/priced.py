"""What the ingest agent produces: an event with canonical tokens and exact cost."""

from decimal import Decimal
from enum import StrEnum
from typing import Literal, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, model_validator

from schemas.events import EventAttributes
from schemas.money import MONEY_CONTEXT, NonNegativeUsd, Usd
from schemas.usage import TokenUsage


class TrackingType(StrEnum):
    """Exactly one per event, in this order of preference."""

    PROVIDER_COST = "provider_cost"
    """The provider or SDK reported a dollar cost; it is the cost of record."""
    TOKENS = "tokens"
    """Priced from the price book."""
    UNPRICED = "unpriced"
    """No reported cost and the model is not in the price book: cost is null, never $0."""


class CostBreakdown(BaseModel):
    """Token-priced cost per token type; the parts sum to ``total`` exactly.

    ``input`` is uncached input, ``output`` is output other than reasoning; reasoning is
    its own line (at the reasoning rate where the model prices it apart, else the output
    rate); ``other`` is what falls outside these (audio, per-request fees).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    input: NonNegativeUsd = Decimal(0)
    cache_read: NonNegativeUsd = Decimal(0)
    cache_write: NonNegativeUsd = Decimal(0)
    output: NonNegativeUsd = Decimal(0)
    reasoning: NonNegativeUsd = Decimal(0)
    other: NonNegativeUsd = Decimal(0)
    total: NonNegativeUsd = Decimal(0)

    @model_validator(mode="after")
    def _parts_sum_to_total(self) -> Self:
        parts = MONEY_CONTEXT.add(self.input, self.cache_read)
        for part in (self.cache_write, self.output, self.reasoning, self.other):
            parts = MONEY_CONTEXT.add(parts, part)
        if parts != self.total:
            raise ValueError(f"cost parts sum to {parts}, not to total {self.total}")
        return self


class PricedUsageEvent(BaseModel):
    model_config = ConfigDict(extra="forbid")

    event_id: str
    tenant_id: str
    occurred_at: AwareDatetime
    ingested_at: AwareDatetime
    provider: str
    api_flavor: str
    model: str
    """The model id as the caller sent it (or as the response named it)."""
    resolved_model: str | None
    """The price book's id for the model, after normalisation; null when unpriced."""
    tokens: TokenUsage
    token_cost: CostBreakdown | None
    """Cost from the price book; null when the model has no price."""
    provider_cost_usd: NonNegativeUsd | None
    total_cost: NonNegativeUsd | None
    """Cost of record: the provider's cost, else the token cost, else null (unpriced)."""
    cost_drift_usd: Usd | None
    """provider_cost_usd - token_cost.total when both exist."""
    cache_savings_usd: Usd | None = None
    """What cache reads saved: their tokens at the uncached input rate of the model (and
    tier) in force, minus their cache-read cost; null when unpriced."""
    tracking_type: TrackingType
    priced: bool
    currency: Literal["USD"] = "USD"
    price_source: str | None
    """Where the rates came from: ``genai-prices``, ``operator`` or ``tenant:<id>``."""
    price_version: str | None
    """Version of that source (data snapshot, override file revision) that priced it."""
    attributes: EventAttributes
