"""``costream reprice --since T [--until T] [--tenant] [--model] [--dry-run]``: price stored
events again with the catalog now in force for their ``occurred_at``, write corrected
rows, recompute the windows and rollups they touched, record the run in ``reprice_runs``
and print the old and new totals per tenant and model.

With the embedded store and a worker running, the run goes through the worker's API
(``POST /v1/reprice``; it owns the chDB data path, and it repairs the windows and budget
spend it holds and checks the budgets at once). Otherwise it runs here, with a progress
bar, against the store directly; a worker that runs later repairs what it holds at its
next reconciliation.
"""

import argparse
import asyncio
import sys
from contextlib import nullcontext
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from stream.cli.errors import CliError
from stream.cli.output import print_rows
from stream.cli.pricing import _book
from stream.cli.worker_api import ask_worker
from stream.config import Settings
from stream.reason import first_line
from stream.reprice.run import RepriceRequest, count_events
from stream.reprice.worker import reprice_direct
from stream.sinks.clickhouse import ClickHouseSink
from stream.store.client import StoreUnavailable, open_store
from stream.web.jsonutil import dumps

REPRICE_TIMEOUT = 3600.0
"""How long the CLI waits for a worker's re-pricing run."""


def register(commands: Any) -> None:
    parser = commands.add_parser("reprice", help="re-price stored events with the prices now in force",
                                 description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--since", required=True, help="earliest occurred_at: 2026-05-01, 2026-05-01T12:00:00Z, 7d")
    parser.add_argument("--until", help="end of the period (exclusive); default: no end")
    parser.add_argument("--tenant", help="only this tenant")
    parser.add_argument("--model", help="only this model (as sent, or as the catalog resolves it)")
    parser.add_argument("--dry-run", action="store_true", help="show what would change; write nothing")
    parser.add_argument("--format", choices=("table", "json"), default="table")
    parser.set_defaults(handler=run)


def _request(args: argparse.Namespace) -> RepriceRequest:
    body = {"since": args.since, "until": args.until, "tenant": args.tenant, "model": args.model,
            "dry_run": args.dry_run}  # fmt: skip
    try:
        return RepriceRequest.from_json({k: v for k, v in body.items() if v is not None})
    except ValueError as exc:
        raise CliError(f"invalid reprice options: {exc}", "see costream reprice --help") from None


def _direct(settings: Settings, request: RepriceRequest, console: Console, show_progress: bool) -> dict[str, Any]:
    book = _book(settings.price_overrides_file, settings)
    store = open_store(settings)
    sink = ClickHouseSink(store, max_backoff=settings.insert_retry_max_backoff)

    async def go() -> dict[str, Any]:
        total = await count_events(sink, request)
        columns = (TextColumn("re-pricing"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
        with Progress(*columns, console=console, transient=True, disable=not show_progress) as progress:
            task = progress.add_task("re-pricing", total=total)
            report = await reprice_direct(
                sink, book, request, size_seconds=int(settings.window_size), dimensions=settings.window_dimensions,
                max_groups=settings.window_max_groups, grace_seconds=settings.window_grace,
                progress=lambda n: progress.advance(task, n),
            )  # fmt: skip
        return report.as_json()

    try:
        return asyncio.run(go())
    except StoreUnavailable as exc:
        raise CliError(str(exc), "is a costream worker using this data directory on another port?") from None
    except Exception as exc:
        raise CliError(f"reprice failed: {first_line(exc)}", "run costream migrate if the store is older") from None
    finally:
        store.close()


def run(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    request = _request(args)
    answer = None
    if settings.embedded_store:
        waiting = console.status("re-pricing in the worker") if args.format == "table" else nullcontext()
        with waiting:
            answer = ask_worker(settings, "/v1/reprice", "reprice", request.as_json(), timeout=REPRICE_TIMEOUT)
    if answer is None:
        answer = _direct(settings, request, console, show_progress=args.format == "table")
    if args.format == "json":
        sys.stdout.buffer.write(dumps(answer) + b"\n")
        sys.stdout.flush()
        return 0
    print_diff(console, answer)
    return 0


def print_diff(console: Console, answer: dict[str, Any]) -> None:
    what = "would change" if answer["dry_run"] else "changed"
    console.print(
        f"{answer['changed']} of {answer['events']} event(s) {what}: {answer['old_total_usd']} -> "
        f"{answer['new_total_usd']} USD ({answer['delta_usd']})", highlight=False,
    )
    console.print(f"[dim]catalog: {answer['catalog']}[/dim]", highlight=False)
    rows = [[g["tenant_id"], g["provider"], g["model"], g["events"], g["changed"], g["old_total_usd"],
             g["new_total_usd"], g["delta_usd"], ", ".join(g["old_prices"]), ", ".join(g["new_prices"])]
            for g in answer["groups"] if g["changed"]]  # fmt: skip
    if rows:
        print_rows(console, ["tenant", "provider", "model", "events", "changed", "old_usd", "new_usd", "delta_usd",
                             "old_price", "new_price"], rows, "table")  # fmt: skip
    if answer["dry_run"]:
        console.print("dry run: nothing was written")
        return
    console.print(f"run {answer['run_id']}: {answer['windows_refreshed']} window(s) recomputed with their rollups; "
                  f"{answer['budget_periods_checked']} budget period(s) checked, {len(answer['breaches'])} breach(es)",
                  highlight=False)  # fmt: skip
    if answer.get("note"):
        console.print(f"[dim]{answer['note']}[/dim]", highlight=False)
