"""``costream query "SQL"``: read-only SQL over usage_events and friends.

With the embedded store the running worker owns the chDB data path, so the query goes to
the worker's HTTP endpoint on 127.0.0.1. If no worker answers, the store is opened
directly (it is free then). With a ClickHouse server the query goes direct.
"""

import argparse
from typing import Any

from rich.console import Console

from stream.cli.errors import CliError
from stream.cli.output import FORMATS, print_rows
from stream.cli.worker_api import ask_worker
from stream.config import Settings
from stream.reason import first_line
from stream.store.client import StoreUnavailable, open_store


def register(commands: Any) -> None:
    parser = commands.add_parser("query", help="run a read-only SQL query", description=__doc__)
    parser.add_argument("sql", help='e.g. "SELECT tenant_id, sum(total_cost) FROM usage_events GROUP BY tenant_id"')
    parser.add_argument("--format", choices=FORMATS, default="table")
    parser.add_argument(
        "--param", action="append", default=[], metavar="NAME=VALUE",
        help="query parameter, used in SQL as {NAME:Type}; repeatable",
    )
    parser.set_defaults(handler=run)


def _parameters(pairs: list[str]) -> dict[str, str]:
    parameters = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise CliError(f"--param '{pair}' is not NAME=VALUE", "write it as --param tenant=acme")
        parameters[name] = value
    return parameters


def query_worker(settings: Settings, sql: str, parameters: dict[str, str]) -> dict[str, Any] | None:
    """The worker's answer, or None when no worker listens."""
    return ask_worker(settings, "/v1/query", "query", {"sql": sql, "parameters": parameters})


def query_direct(settings: Settings, sql: str, parameters: dict[str, str]) -> dict[str, Any]:
    store = open_store(settings)
    try:
        result = store.query_readonly_sync(sql, parameters or None)
    except StoreUnavailable as exc:
        raise CliError(str(exc), "is a costream worker using this data directory on another port?") from None
    except Exception as exc:
        raise CliError(f"query failed: {first_line(exc)}") from None
    finally:
        store.close()
    return {"columns": list(result.column_names), "rows": [list(row) for row in result.result_rows]}


def run(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    parameters = _parameters(args.param)
    answer = query_worker(settings, args.sql, parameters) if settings.embedded_store else None
    if answer is None:
        answer = query_direct(settings, args.sql, parameters)
    print_rows(console, answer["columns"], answer["rows"], args.format)
    return 0
