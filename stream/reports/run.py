"""Running a report: its query on the store's read-only connection, then the columns
derived from the sums."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from clickhouse_connect.driver.query import QueryResult

from schemas.budgets import Period
from schemas.money import MONEY_CONTEXT
from stream.budgets.periods import linear_projection, period_bounds
from stream.reports.catalog import Query, Report, Shape, build_query
from stream.reports.derive import DERIVED, ratio
from stream.reports.params import ReportParams
from stream.store.client import ClickHouseStore, as_utc

HUNDRED = Decimal(100)


@dataclass(frozen=True, slots=True)
class ReportResult:
    report: str
    columns: list[str]
    rows: list[list[Any]]
    source: str
    """The table it was read from: a rollup, or usage_events."""
    since: datetime | None
    until: datetime | None

    def records(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]

    def as_json(self) -> dict[str, Any]:
        return {
            "report": self.report, "source": self.source, "since": self.since, "until": self.until,
            "columns": self.columns, "rows": self.rows,
        }  # fmt: skip


def _plain(value: Any) -> Any:
    return as_utc(value) if isinstance(value, datetime) else value


def shape_rows(report: Report, query: Query, result_rows: Sequence[Sequence[Any]]) -> tuple[list[str], list[list[Any]]]:
    """Named rows -> the report's visible columns, with derived ones computed."""
    records = [dict(zip(query.columns, (_plain(v) for v in row), strict=True)) for row in result_rows]
    if report.shape is Shape.PROJECTION:
        return _projection(query, records)
    columns = query.dimensions + list(report.measures) if report.shape is Shape.GROUPED else list(query.columns)
    for record in records:
        for name in report.derived:
            record[name] = DERIVED[name](record)
        if report.share:
            record["share_pct"] = ratio(MONEY_CONTEXT.multiply(Decimal(record["cost"]), HUNDRED), record["period_cost"])
    columns += list(report.derived) + (["share_pct"] if report.share else [])
    return columns, [[record[c] for c in columns] for record in records]


def _projection(query: Query, records: list[dict[str, Any]]) -> tuple[list[str], list[list[Any]]]:
    as_of = query.as_of or datetime.now(UTC)
    month_start, month_end = period_bounds(as_of, Period.MONTH, "UTC")
    elapsed_days = ratio(Decimal((as_of - month_start).total_seconds()), 86_400, Decimal("0.01"))
    columns = ["tenant", "month", "requests", "month_to_date", "elapsed_days", "projected_month_end"]
    rows = [
        [r["tenant"], month_start.strftime("%Y-%m"), r["requests"], r["cost"], elapsed_days,
         linear_projection(Decimal(r["cost"]), month_start, month_end, as_of)]
        for r in records
    ]  # fmt: skip
    return columns, rows


def _result(report: Report, query: Query, result: QueryResult) -> ReportResult:
    columns, rows = shape_rows(report, query, result.result_rows)
    since, until = query.period
    return ReportResult(report.name, columns, rows, query.source.value, since, until)


async def run_report(
    store: ClickHouseStore, name: str, params: ReportParams, window_dimensions: tuple[str, ...] = ("feature",)
) -> ReportResult:
    report, query = build_query(name, params, window_dimensions)
    return _result(report, query, await store.query_readonly(query.sql, query.parameters))


def run_report_sync(
    store: ClickHouseStore, name: str, params: ReportParams, window_dimensions: tuple[str, ...] = ("feature",)
) -> ReportResult:
    report, query = build_query(name, params, window_dimensions)
    return _result(report, query, store.query_readonly_sync(query.sql, query.parameters))
