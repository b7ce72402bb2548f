"""Every report: what it groups, sums and derives, and the parameterized SQL for it.

One query module for the CLI, the HTTP API, the dashboard and the Grafana dashboard:
each builds its SQL here, so the numbers agree wherever they are read.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from schemas.budgets import Period
from stream.budgets.periods import period_bounds
from stream.reports.params import TIME_DIMENSIONS, Dimension, ReportParams
from stream.reports.sources import MEASURES, Source, SourcePlan, choose_source, report_name
from stream.store import rows

_LINE_COSTS = tuple(f"{line}_cost" for line in rows.COST_LINES)


class Shape(StrEnum):
    GROUPED = "grouped"
    """Sums per group, over rollups when they can answer."""
    EVENTS = "events"
    """One row per priced event (attribution drill-down)."""
    UNPRICED = "unpriced"
    DRIFT = "drift"
    PROJECTION = "projection"


@dataclass(frozen=True, slots=True)
class Report:
    name: str
    title: str
    description: str
    shape: Shape
    measures: tuple[str, ...] = ()
    derived: tuple[str, ...] = ()
    hidden: tuple[str, ...] = ()
    """Measures summed only to derive others (not shown)."""
    default_by: tuple[Dimension, ...] = ()
    default_limit: int = 1000
    default_days: int | None = 30
    """Default period: since the start of the UTC day this many days ago (None: all time)."""
    share: bool = False
    """Add each group's share of the period's total cost."""
    allows_by: bool = True

    def __post_init__(self) -> None:
        unknown = [m for m in self.measures + self.hidden if m not in MEASURES]
        if unknown:  # a measure renamed or dropped in stream.store.rows fails here, at import
            raise ValueError(f"report '{self.name}' sums unknown measures: {', '.join(unknown)}")


REPORTS: dict[str, Report] = {
    report.name: report
    for report in (
        Report(
            "cost", "Cost and requests",
            "Total cost and request count for the period, optionally by tenant, provider, model, tracking type, "
            "feature, agent, operation, user, api key, session, day or hour (a time series).",
            Shape.GROUPED,
            measures=("requests", "priced_requests", "unpriced_requests", "input_tokens", "output_tokens", "cost"),
        ),
        Report(
            "top", "Top spenders", "The groups (tenants by default) that spent most in the period, with their share.",
            Shape.GROUPED, measures=("requests", "cost"), default_by=(Dimension.TENANT,), default_limit=10, share=True,
        ),
        Report(
            "breakdown", "Token and cost breakdown",
            "Tokens and cost split four ways (uncached input, cache read, cache write, output) plus reasoning "
            "where priced apart and other (audio, per-request fees); the cost lines add up to token_cost. "
            "cost is the cost of record (the provider's reported cost where there is one).",
            Shape.GROUPED,
            measures=(
                "requests", "cache_read_tokens", "cache_write_tokens", "output_tokens", "reasoning_tokens",
                *_LINE_COSTS, "token_cost", "cost",
            ),
            derived=("uncached_input_tokens",), hidden=("input_tokens",),
            default_by=(Dimension.MODEL, Dimension.DAY),
        ),
        Report(
            "cache", "Cache efficiency",
            "Cache hit ratio (cache reads / all input tokens), cache write volume, and the dollars cache reads "
            "saved versus the uncached input rate in force when each event happened.",
            Shape.GROUPED,
            measures=(
                "requests", "input_tokens", "cache_read_tokens", "cache_write_tokens", "cache_read_cost",
                "cache_write_cost", "cache_savings",
            ),
            derived=("cache_hit_ratio",), default_by=(Dimension.TENANT, Dimension.MODEL),
        ),
        Report(
            "efficiency", "Efficiency",
            "Cost per 1k tokens (input + output), average tokens and cost per request, input/output ratio, and "
            "average latency of the requests that reported one.",
            Shape.GROUPED,
            measures=("requests", "input_tokens", "output_tokens", "cost"),
            derived=(
                "cost_per_1k_tokens", "avg_tokens_per_request", "avg_cost_per_request", "input_output_ratio",
                "avg_latency_ms",
            ),
            hidden=("latency_ms_sum", "latency_requests"), default_by=(Dimension.MODEL,),
        ),
        Report(
            "requests", "Per-request attribution",
            "The priced events behind a group, newest first, with their token and cost breakdown; filter by "
            "tenant, session, request id, feature, user, model.",
            Shape.EVENTS, default_limit=100, default_days=None, allows_by=False,
        ),
        Report(
            "unpriced", "Unpriced usage",
            "Models the price book does not price: how many requests and tokens, first and last seen. Their cost "
            "is unknown, never $0.",
            Shape.UNPRICED, default_days=None,
        ),
        Report(
            "drift", "Price drift",
            "Where the provider's reported cost and the price book disagree, by provider and model.",
            Shape.DRIFT, derived=("drift_pct",), default_days=None,
        ),
        Report(
            "projection", "Month-end projection",
            "Month-to-date spend per tenant and its projection to month end at the month's rate so far. "
            "--until sets the as-of time (default now).",
            Shape.PROJECTION, default_days=None, allows_by=False,
        ),
    )
}

_EVENTS = SourcePlan(Source.EVENTS, ())

# The drill-down's columns: output name -> expression over usage_events. Its sums are
# the measures that add up one column of the event (every token and cost line).
_EVENT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("event_id", "event_id"), ("occurred_at", "occurred_at"),
    *((name, _EVENTS.expression(name)) for name in
      ("tenant", "provider", "model", "tracking_type", "feature", "user", "session")),
    ("request_id", "request_id"),
    *((report_name(measure), measure.name) for measure in rows.MEASURES if measure.name in rows.EVENT_COLUMNS),
    ("latency_ms", "latency_ms"),
)  # fmt: skip


class ReportError(ValueError):
    """A request no report can answer (unknown name, unsupported grouping)."""


@dataclass(slots=True)
class Query:
    sql: str
    parameters: dict[str, Any]
    columns: list[str]
    """Output names, in SELECT order (SQL aliases are prefixed to stay clear of column names)."""
    source: Source
    dimensions: list[str] = field(default_factory=list)
    as_of: datetime | None = None
    period: tuple[datetime | None, datetime | None] = (None, None)


def effective_params(report: Report, params: ReportParams, now: datetime | None = None) -> ReportParams:
    """Defaults filled in: grouping, limit and period."""
    now = now or datetime.now(UTC)
    updates: dict[str, Any] = {}
    if params.by and not report.allows_by:
        raise ReportError(f"report '{report.name}' does not take --by")
    if not params.by and report.default_by:
        updates["by"] = report.default_by
    if params.limit is None:
        updates["limit"] = report.default_limit
    if params.since is None and report.default_days is not None:
        updates["since"] = now.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=report.default_days)
    return params.model_copy(update=updates) if updates else params


def _where(plan: SourcePlan, params: ReportParams, extra: list[str] | None = None) -> tuple[str, dict[str, Any]]:
    clauses, values = plan.period(params)
    parameters: dict[str, Any] = dict(values)
    if params.tenant is not None:
        clauses.insert(0, "tenant_id = {tenant:String}")
        parameters["tenant"] = params.tenant
    for name, value in params.filters().items():
        clauses.append(f"{plan.expression(name)} = {{f_{name}:String}}")
        parameters[f"f_{name}"] = value
    clauses.extend(extra or [])
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", parameters


def _grouped(report: Report, params: ReportParams, plan: SourcePlan, measures: tuple[str, ...]) -> Query:
    dims = [str(d) for d in params.by]
    select = [f"{plan.expression(d)} AS d_{d}" for d in dims] + [f"{plan.measure(m)} AS m_{m}" for m in measures]
    columns = dims + list(measures)
    if report.share:
        select.append(f"sum({plan.measure('cost')}) OVER () AS m_period_cost")
        columns.append("period_cost")
    where, parameters = _where(plan, params)
    sql = f"SELECT {', '.join(select)} FROM {plan.table}{where}"
    if dims:
        sql += f" GROUP BY {', '.join(f'd_{d}' for d in dims)} HAVING m_requests > 0"
        order = [f"d_{d}" for d in dims if Dimension(d) in TIME_DIMENSIONS] + ["m_cost DESC"]
        order += [f"d_{d}" for d in dims if Dimension(d) not in TIME_DIMENSIONS]
        sql += f" ORDER BY {', '.join(order)} LIMIT {{limit:UInt32}}"
        parameters["limit"] = params.limit
    return Query(sql, parameters, columns, plan.source, dims, period=(params.since, params.until))


def build_query(
    name: str, params: ReportParams, window_dimensions: tuple[str, ...] = ("feature",), now: datetime | None = None
) -> tuple[Report, Query]:
    report = REPORTS.get(name)
    if report is None:
        raise ReportError(f"no report named '{name}': choose one of {', '.join(REPORTS)}")
    now = now or datetime.now(UTC)
    params = effective_params(report, params, now)
    if report.shape is Shape.GROUPED:
        measures = tuple(dict.fromkeys(report.measures + report.hidden + ("requests", "cost")))
        plan = choose_source(params, params.by, measures, window_dimensions)
        return report, _grouped(report, params, plan, measures)
    if report.shape is Shape.PROJECTION:
        as_of = params.until or now
        month_start, _ = period_bounds(as_of, Period.MONTH, "UTC")
        period = params.model_copy(update={"since": month_start, "until": params.until, "by": (Dimension.TENANT,)})
        plan = choose_source(period, period.by, ("requests", "cost"), window_dimensions)
        query = _grouped(report, period, plan, ("requests", "cost"))
        query.as_of = as_of
        return report, query
    events = SourcePlan(Source.EVENTS, window_dimensions)
    if report.shape is Shape.EVENTS:
        where, parameters = _where(events, params)
        select = ", ".join(f"{expression} AS c_{name}" for name, expression in _EVENT_COLUMNS)
        sql = (f"SELECT {select} FROM {events.table}{where} "
               "ORDER BY occurred_at DESC, event_id LIMIT {limit:UInt32}")
        parameters["limit"] = params.limit
        return report, Query(sql, parameters, [n for n, _ in _EVENT_COLUMNS], Source.EVENTS,
                             period=(params.since, params.until))
    dims = [str(d) for d in params.by]
    if report.shape is Shape.UNPRICED:
        keys = [("provider", "provider"), ("model", "model")]
        sums = [(m, events.measure(m)) for m in ("requests", "input_tokens", "output_tokens")]
        sums += [("first_seen", "min(occurred_at)"), ("last_seen", "max(occurred_at)")]
        condition, order = "NOT priced", "m_requests DESC"
    else:
        keys = [("provider", "provider"), ("model", "ifNull(resolved_model, model)")]
        sums = [("requests", events.measure("requests")), ("disagreeing_requests", "countIf(cost_drift != 0)"),
                ("provider_cost", "sum(provider_cost)"), ("token_cost", "sum(token_cost)"),
                ("drift", "sum(cost_drift)"), ("max_abs_drift", "max(abs(cost_drift))")]
        condition, order = "cost_drift IS NOT NULL", "abs(m_drift) DESC"
    keys += [(d, events.expression(d)) for d in dims if d not in ("provider", "model")]
    where, parameters = _where(events, params, [condition])
    parts = [f"{expression} AS d_{name}" for name, expression in keys]
    parts += [f"{expression} AS m_{name}" for name, expression in sums]
    sql = (f"SELECT {', '.join(parts)} FROM {events.table}{where} "
           f"GROUP BY {', '.join(f'd_{n}' for n, _ in keys)} ORDER BY {order} LIMIT {{limit:UInt32}}")
    parameters["limit"] = params.limit
    columns = [n for n, _ in keys] + [n for n, _ in sums]
    return report, Query(sql, parameters, columns, Source.EVENTS, period=(params.since, params.until))
