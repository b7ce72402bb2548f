"""Budgets, and what enforcement publishes: breaches and the latest status per budget."""

from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from schemas.money import NonNegativeUsd, Percent

BudgetId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")]
SCOPE_ATTRIBUTES = ("feature", "user_id", "api_key_id", "agent", "operation")


class Period(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


class Severity(StrEnum):
    WARN = "warn"
    BLOCK = "block"


class Threshold(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    percent: Annotated[Percent, Field(gt=0, le=1000)]
    severity: Severity


DEFAULT_THRESHOLDS = (
    Threshold(percent=Decimal(50), severity=Severity.WARN),
    Threshold(percent=Decimal(80), severity=Severity.WARN),
    Threshold(percent=Decimal(100), severity=Severity.BLOCK),
)


class BudgetScope(BaseModel):
    """The whole tenant, or the tenant's usage with one attribute equal to one value."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    attribute: Literal["feature", "user_id", "api_key_id", "agent", "operation"] | None = None
    value: Annotated[str, StringConstraints(min_length=1, max_length=512)] | None = None

    @model_validator(mode="after")
    def _both_or_neither(self) -> Self:
        if (self.attribute is None) != (self.value is None):
            raise ValueError("scope needs both attribute and value, or neither (whole tenant)")
        return self


class Budget(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: BudgetId
    tenant_id: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    scope: BudgetScope = Field(default_factory=BudgetScope)
    period: Period
    timezone: str = "UTC"
    """IANA zone in which calendar periods start (e.g. Europe/Paris)."""
    limit_usd: Annotated[NonNegativeUsd, Field(gt=0)]
    thresholds: tuple[Threshold, ...] = DEFAULT_THRESHOLDS

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone '{value}' (use an IANA name such as Europe/Paris)") from None
        return value

    @field_validator("thresholds")
    @classmethod
    def _ordered_thresholds(cls, value: tuple[Threshold, ...]) -> tuple[Threshold, ...]:
        if not value:
            raise ValueError("at least one threshold is needed")
        percents = [threshold.percent for threshold in value]
        if len(set(percents)) != len(percents):
            raise ValueError("thresholds repeat a percent")
        return tuple(sorted(value, key=lambda threshold: threshold.percent))


class BreachKind(StrEnum):
    THRESHOLD = "threshold"
    """Spend crossed a threshold of the limit."""
    PROJECTED = "projected"
    """At the current rate, spend will cross the limit before the period ends."""
    UNPRICED_USAGE = "unpriced_usage"
    """Usage of a model with no price counts toward nothing: spend may be under-reported."""


class BudgetBreach(BaseModel):
    model_config = ConfigDict(extra="forbid")

    breach_id: str
    """Deterministic: the same (budget, period, kind, threshold or model) always gives the
    same id, so a consumer can deduplicate even across producer retries."""
    kind: BreachKind
    budget_id: str
    tenant_id: str
    scope: BudgetScope
    period: Period
    period_start: AwareDatetime
    period_end: AwareDatetime
    threshold_percent: Percent | None
    severity: Severity
    limit_usd: NonNegativeUsd
    spend_usd: NonNegativeUsd
    """Spend of the period when the crossing was seen."""
    projected_spend_usd: NonNegativeUsd | None = None
    unpriced_model: str | None = None
    unpriced_requests: int = 0
    triggering_event_id: str | None
    crossed_at: AwareDatetime | None
    """Event time of the triggering event."""
    emitted_at: AwareDatetime


class BudgetState(StrEnum):
    OK = "ok"
    WARN = "warn"
    BLOCKED = "blocked"


class BudgetStatus(BaseModel):
    """Latest state of a budget, on a compacted topic keyed by budget id."""

    model_config = ConfigDict(extra="forbid")

    budget_id: str
    tenant_id: str
    scope: BudgetScope
    state: BudgetState
    period: Period
    period_start: AwareDatetime
    period_end: AwareDatetime
    spend_usd: NonNegativeUsd
    limit_usd: NonNegativeUsd
    percent_used: Percent
    unpriced_requests: int
    updated_at: AwareDatetime
