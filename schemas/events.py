"""What producers publish to the raw topic: one event, or a batch of them."""

from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from schemas.limits import (
    EARLIEST_OCCURRED_AT,
    LATEST_OCCURRED_AT,
    MAX_EVENT_COST_USD,
    MAX_EVENTS_PER_BATCH,
    MAX_ID_CHARS,
    MAX_LABEL_CHARS,
    MAX_TAGS_PER_EVENT,
)  # fmt: skip
from schemas.money import NonNegativeUsd
from schemas.usage import TokenUsage

Identifier = Annotated[str, StringConstraints(min_length=1, max_length=MAX_ID_CHARS, strip_whitespace=True)]
Label = Annotated[str, StringConstraints(max_length=MAX_LABEL_CHARS)]
EventCost = Annotated[NonNegativeUsd, Field(le=MAX_EVENT_COST_USD)]
OccurredAt = Annotated[AwareDatetime, Field(ge=EARLIEST_OCCURRED_AT, le=LATEST_OCCURRED_AT)]

__all__ = ["MAX_EVENTS_PER_BATCH", "EventAttributes", "RawUsageEvent", "UsageBatch"]


class EventAttributes(BaseModel):
    """Who and what the usage is for; every field is optional and becomes a report dimension."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    feature: Label | None = None
    user_id: Label | None = None
    agent: Label | None = None
    operation: Label | None = None
    session_id: Label | None = None
    request_id: Label | None = None
    api_key_id: Label | None = None
    latency_ms: Annotated[int, Field(ge=0, strict=True)] | None = None
    tags: dict[Label, Label] = Field(default_factory=dict, max_length=MAX_TAGS_PER_EVENT)


class RawUsageEvent(BaseModel):
    """One LLM call's usage as the producer saw it.

    ``response`` is the provider's own JSON (a response body, a list of stream chunks or
    events, ``{"chunks": [...]}`` / ``{"events": [...]}``, or just its usage object), or a
    captured stream as text (server-sent events with ``data:`` lines, or JSON Lines). A
    producer that already counts tokens in the canonical convention sends ``usage``
    instead (provider ``generic`` or any provider).
    """

    model_config = ConfigDict(extra="forbid")

    event_id: Identifier
    tenant_id: Identifier
    occurred_at: OccurredAt
    provider: Identifier
    api_flavor: Identifier = "default"
    model: Identifier | None = None
    response: dict[str, Any] | list[Any] | str | None = None
    usage: TokenUsage | None = None
    provider_cost_usd: EventCost | None = None
    attributes: EventAttributes = Field(default_factory=EventAttributes)


class UsageBatch(BaseModel):
    """Many events in one Kafka message: how a producer gets past per-message overhead."""

    model_config = ConfigDict(extra="forbid")

    events: list[Any] = Field(min_length=1, max_length=MAX_EVENTS_PER_BATCH)
    """Each item is validated as a RawUsageEvent on its own, so one bad event in a batch
    dead-letters alone instead of taking its neighbours with it."""
