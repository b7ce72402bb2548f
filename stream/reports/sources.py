"""Where a report reads from: the day or hour rollups when they hold everything it asks
for, else the events themselves.

Rollups answer in time proportional to tenants x groups x days rather than to events, so
reports over months of traffic stay fast. They hold provider, model, the configured
window dimensions and the summed measures, per UTC hour or day; a report that groups or
filters by anything else (tracking type, session, request id, an unconfigured
dimension), or whose period does not fall on hour boundaries, reads ``usage_events``.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from stream.reports.params import Dimension, ReportParams
from stream.store import rows


class Source(StrEnum):
    DAY = "usage_rollup_day"
    HOUR = "usage_rollup_hour"
    EVENTS = "usage_events"


# Window dimension (as configured in COSTREAM_WINDOW_DIMENSIONS) for each report name.
_WINDOW_DIMENSION = {
    "feature": "feature", "agent": "agent", "operation": "operation", "user": "user_id",
    "api_key": "api_key_id", "session": "session_id", "request": "request_id",
}  # fmt: skip

_EVENT_EXPRESSIONS = {
    "tenant": "tenant_id",
    "provider": "provider",
    "model": "ifNull(resolved_model, model)",
    "tracking_type": "toString(tracking_type)",
    "feature": "feature",
    "agent": "agent",
    "operation": "operation",
    "user": "user_id",
    "api_key": "api_key_id",
    "session": "session_id",
    "request": "request_id",
    "day": "toDate(occurred_at)",
    "hour": "toStartOfHour(occurred_at)",
    "minute": "toStartOfMinute(occurred_at)",
}

# Report name of a summed measure whose column in stream.store.rows is named otherwise.
_REPORT_NAME = {"total_cost": "cost"}


def report_name(measure: rows.Measure) -> str:
    """The name reports give a measure (and its JSON/CSV column)."""
    return _REPORT_NAME.get(measure.name, measure.name)


# report name -> (on events, on rollups); rollups hold the windows' sums under the column names.
MEASURES: dict[str, tuple[str, str]] = {
    report_name(measure): (measure.over_events, f"sum({measure.name})") for measure in rows.MEASURES
}


@dataclass(frozen=True, slots=True)
class SourcePlan:
    source: Source
    window_dimensions: tuple[str, ...]

    @property
    def table(self) -> str:
        return f"{self.source.value} FINAL"

    def expression(self, name: str) -> str:
        """SQL for a dimension or filter name; names come from a closed set, never from input."""
        if self.source is Source.EVENTS:
            return _EVENT_EXPRESSIONS[name]
        if name in ("tenant", "provider", "model"):
            return {"tenant": "tenant_id"}.get(name, name)
        if name == "day":
            return "day" if self.source is Source.DAY else "toDate(hour)"
        if name == "hour":
            return "hour"
        return f"dimensions['{_WINDOW_DIMENSION[name]}']"

    def measure(self, name: str) -> str:
        on_events, on_rollups = MEASURES[name]
        return on_events if self.source is Source.EVENTS else on_rollups

    def period(self, params: ReportParams) -> tuple[list[str], dict[str, datetime]]:
        """WHERE clauses and parameters bounding the period."""
        clauses: list[str] = []
        values: dict[str, datetime] = {}
        column, cast = {
            Source.EVENTS: ("occurred_at", "{%s:DateTime64(3, 'UTC')}"),
            Source.HOUR: ("hour", "{%s:DateTime('UTC')}"),
            Source.DAY: ("day", "toDate({%s:DateTime('UTC')})"),
        }[self.source]
        if params.since is not None:
            clauses.append(f"{column} >= {cast % 'since'}")
            values["since"] = params.since
        if params.until is not None:
            clauses.append(f"{column} < {cast % 'until'}")
            values["until"] = params.until
        return clauses, values


def _aligned(instant: datetime | None, seconds: int) -> bool:
    return instant is None or (instant.timestamp() % seconds == 0)


def choose_source(
    params: ReportParams, dimensions: Sequence[Dimension], measures: Sequence[str], window_dimensions: Sequence[str]
) -> SourcePlan:
    """The cheapest source that answers exactly."""
    configured = set(window_dimensions)
    names = [str(d) for d in dimensions] + list(params.filters())
    on_rollups = all(
        name in ("tenant", "provider", "model", "day", "hour") or _WINDOW_DIMENSION.get(name) in configured
        for name in names
    )
    if on_rollups and all(MEASURES[m][1] for m in measures):
        if Dimension.HOUR not in dimensions and _aligned(params.since, 86_400) and _aligned(params.until, 86_400):
            return SourcePlan(Source.DAY, tuple(window_dimensions))
        if _aligned(params.since, 3_600) and _aligned(params.until, 3_600):
            return SourcePlan(Source.HOUR, tuple(window_dimensions))
    return SourcePlan(Source.EVENTS, tuple(window_dimensions))
