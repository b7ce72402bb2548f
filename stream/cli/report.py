"""``costream report NAME``: cost reports as a table, JSON or CSV.

With the embedded store the running worker owns the chDB data path, so the report is
asked of the worker's HTTP API (sending COSTREAM_API_TOKEN when set); with no worker
running, or with a ClickHouse server, the report runs on the store directly.
"""

import argparse
import urllib.parse
from typing import Any

from pydantic import ValidationError
from rich.console import Console

from stream.cli.errors import CliError
from stream.cli.output import FORMATS, print_rows
from stream.cli.worker_api import ask_worker
from stream.config import Settings
from stream.ingest.errors import describe_validation_error
from stream.reason import first_line
from stream.reports import REPORTS, Dimension, ReportError, ReportParams, run_report_sync
from stream.reports.params import FILTERS
from stream.store.client import StoreUnavailable, open_store


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "report", help="cost reports: cost, top, breakdown, cache, efficiency, requests, unpriced, drift, projection",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="reports:\n" + "\n".join(f"  {r.name:<11} {r.title}" for r in REPORTS.values()),
    )
    parser.add_argument("name", nargs="?", choices=list(REPORTS), metavar="NAME", help="report to run")
    parser.add_argument("--list", action="store_true", help="describe every report")
    parser.add_argument("--tenant", help="one tenant's rows only")
    parser.add_argument("--since", help="inclusive start: 2026-05-01, 2026-05-01T12:00Z, 7d, 24h, today, month")
    parser.add_argument("--until", help="exclusive end, same forms (default: now)")
    parser.add_argument(
        "--by", action="append", default=[], metavar="DIM",
        help=f"group by (comma-separated or repeated): {', '.join(d.value for d in Dimension)}",
    )
    parser.add_argument("--limit", type=int, help="most rows")
    for name in FILTERS:
        parser.add_argument(f"--{name.replace('_', '-')}", dest=name, metavar="VALUE", help=f"only this {name}")
    parser.add_argument("--format", choices=FORMATS, default="table")
    parser.set_defaults(handler=run)


def params_from(args: argparse.Namespace) -> ReportParams:
    values: dict[str, Any] = {
        name: getattr(args, name) for name in ("tenant", "since", "until", "limit", *FILTERS)
        if getattr(args, name) is not None
    }  # fmt: skip
    by = [part.strip() for value in args.by for part in value.split(",") if part.strip()]
    if by:
        values["by"] = by
    try:
        return ReportParams.model_validate(values)
    except ValidationError as exc:
        raise CliError(
            f"invalid report options: {describe_validation_error(exc)}", "see costream report --help"
        ) from None


def report_from_worker(settings: Settings, name: str, params: ReportParams) -> dict[str, Any] | None:
    """The worker's answer, or None when no worker listens."""
    query = [(key, value) for key, value in params.model_dump(mode="json", exclude_none=True).items() if key != "by"]
    query += [("by", ",".join(params.by))] if params.by else []
    return ask_worker(settings, f"/v1/reports/{name}?{urllib.parse.urlencode(query)}", "report")


def report_direct(settings: Settings, name: str, params: ReportParams) -> dict[str, Any]:
    store = open_store(settings)
    try:
        return run_report_sync(store, name, params, tuple(settings.window_dimensions)).as_json()
    except ReportError as exc:
        raise CliError(str(exc)) from None
    except StoreUnavailable as exc:
        raise CliError(str(exc), "is a costream worker using this data directory on another port?") from None
    except Exception as exc:
        raise CliError(f"report failed: {first_line(exc)}") from None
    finally:
        store.close()


def run(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    if args.list or not args.name:
        for report in REPORTS.values():
            by = f" (default --by {','.join(report.default_by)})" if report.default_by else ""
            console.print(f"[bold]{report.name}[/bold]  {report.title}{by}\n  {report.description}\n", highlight=False)
        return 0
    params = params_from(args)
    answer = report_from_worker(settings, args.name, params) if settings.embedded_store else None
    if answer is None:
        answer = report_direct(settings, args.name, params)
    if args.format == "table":
        period = f"{answer.get('since') or 'all time'} .. {answer.get('until') or 'now'}"
        console.print(f"[bold]{REPORTS[args.name].title}[/bold]  [dim]{period} · from {answer['source']}[/dim]")
    print_rows(console, answer["columns"], answer["rows"], args.format)
    return 0
