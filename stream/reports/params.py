"""What a report is asked for: period, grouping, filters (validated, never SQL)."""

import re
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator


class Dimension(StrEnum):
    """What a report can group by. Only these names reach SQL, each mapped to a fixed
    expression (see ``sources``); user text only ever travels as query parameters."""

    TENANT = "tenant"
    PROVIDER = "provider"
    MODEL = "model"
    TRACKING_TYPE = "tracking_type"
    FEATURE = "feature"
    AGENT = "agent"
    OPERATION = "operation"
    USER = "user"
    API_KEY = "api_key"
    SESSION = "session"
    DAY = "day"
    HOUR = "hour"
    MINUTE = "minute"


TIME_DIMENSIONS = frozenset({Dimension.DAY, Dimension.HOUR, Dimension.MINUTE})

FILTERS = ("provider", "model", "feature", "agent", "operation", "user", "api_key", "session", "request")
"""Equality filters a report accepts besides tenant and period."""

_RELATIVE = re.compile(r"^(\d{1,4})([dh])$")


def parse_instant(text: str, now: datetime | None = None) -> datetime:
    """``2026-05-01``, ``2026-05-01T12:00:00Z`` (naive means UTC), ``7d`` (start of the UTC
    day 7 days ago), ``24h`` (start of the hour 24 hours ago), ``today``, ``month``."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    value = text.strip().lower()
    if value == "today":
        return now.replace(hour=0, minute=0, second=0, microsecond=0)
    if value == "month":
        return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    if match := _RELATIVE.match(value):
        amount, unit = int(match.group(1)), match.group(2)
        if unit == "d":
            return now.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=amount)
        return now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=amount)
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"'{text}' is not a time: use 2026-05-01, 2026-05-01T12:00:00Z, 7d, 24h, today or month"
        ) from None
    if isinstance(parsed, date) and len(text.strip()) == 10:
        parsed = datetime(parsed.year, parsed.month, parsed.day)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


class ReportParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    tenant: str | None = Field(default=None, min_length=1, max_length=256)
    since: AwareDatetime | None = None
    """Inclusive start (event time); each report has a default."""
    until: AwareDatetime | None = None
    """Exclusive end (event time); none means up to now."""
    by: tuple[Dimension, ...] = ()
    limit: int | None = Field(default=None, ge=1, le=100_000)
    provider: str | None = Field(default=None, max_length=512)
    model: str | None = Field(default=None, max_length=512)
    feature: str | None = Field(default=None, max_length=512)
    agent: str | None = Field(default=None, max_length=512)
    operation: str | None = Field(default=None, max_length=512)
    user: str | None = Field(default=None, max_length=512)
    api_key: str | None = Field(default=None, max_length=512)
    session: str | None = Field(default=None, max_length=512)
    request: str | None = Field(default=None, max_length=512)

    @field_validator("since", "until", mode="before")
    @classmethod
    def _instant(cls, value: Any) -> Any:
        return parse_instant(value) if isinstance(value, str) else value

    @field_validator("by", mode="before")
    @classmethod
    def _dimensions(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [part for part in value.split(",") if part.strip()]
        if isinstance(value, list | tuple):
            return tuple(str(part).strip() for part in value)
        return value

    @field_validator("by")
    @classmethod
    def _distinct(cls, value: tuple[Dimension, ...]) -> tuple[Dimension, ...]:
        if len(set(value)) != len(value):
            raise ValueError("lists a dimension twice")
        if len(value) > 4:
            raise ValueError("at most 4 dimensions")
        if len(set(value) & TIME_DIMENSIONS) > 1:
            raise ValueError("group by one of day, hour or minute")
        return value

    @model_validator(mode="after")
    def _period(self) -> Self:
        if self.since is not None and self.until is not None and self.since >= self.until:
            raise ValueError("since must be before until")
        return self

    def filters(self) -> dict[str, str]:
        return {name: value for name in FILTERS if (value := getattr(self, name)) is not None}
