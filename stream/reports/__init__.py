"""Cost reports over ClickHouse: one query module behind the CLI, the HTTP API, the
dashboard and the Grafana dashboard."""

from stream.reports.catalog import REPORTS, Report, ReportError, build_query
from stream.reports.params import Dimension, ReportParams, parse_instant
from stream.reports.run import ReportResult, run_report, run_report_sync

__all__ = [
    "REPORTS", "Dimension", "Report", "ReportError", "ReportParams", "ReportResult", "build_query", "parse_instant",
    "run_report", "run_report_sync",
]  # fmt: skip
