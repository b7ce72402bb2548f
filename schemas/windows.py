"""Tumbling-window aggregates per tenant, as published and stored."""

from decimal import Decimal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from schemas.money import NonNegativeUsd, Usd


class WindowAggregate(BaseModel):
    """One group (provider, model, configured dimensions) inside one tenant's window.

    A window is emitted again whenever its content changes (late events, corrections):
    ``version`` grows, and the rows of the highest version of a window are its current
    content. ``window_id`` and ``group_key`` are deterministic, so a worker that is killed
    and restarted re-emits the same identities.
    """

    model_config = ConfigDict(extra="forbid")

    window_id: str
    group_key: str
    tenant_id: str
    window_start: AwareDatetime
    window_end: AwareDatetime
    window_seconds: int
    provider: str
    model: str
    dimensions: dict[str, str] = Field(default_factory=dict)
    requests: int
    priced_requests: int
    unpriced_requests: int
    input_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    output_tokens: int
    reasoning_tokens: int
    input_cost: NonNegativeUsd = Decimal(0)
    cache_read_cost: NonNegativeUsd = Decimal(0)
    cache_write_cost: NonNegativeUsd = Decimal(0)
    output_cost: NonNegativeUsd = Decimal(0)
    reasoning_cost: NonNegativeUsd = Decimal(0)
    other_cost: NonNegativeUsd = Decimal(0)
    token_cost: NonNegativeUsd = Decimal(0)
    provider_cost: NonNegativeUsd = Decimal(0)
    total_cost: NonNegativeUsd = Decimal(0)
    """Cost of record of the priced requests (unpriced requests add nothing here and are
    counted in ``unpriced_requests``)."""
    cache_savings: Usd = Decimal(0)
    """What cache reads saved versus the uncached input rate (see PricedUsageEvent)."""
    latency_ms_sum: int = 0
    latency_requests: int = 0
    """Sum of ``latency_ms`` over the requests that reported one, and how many did."""
    first_event_at: AwareDatetime
    last_event_at: AwareDatetime
    partial: bool
    """True while the window is still open (watermark before its end plus grace)."""
    version: int
    emitted_at: AwareDatetime
