"""``costream status``: one screen for an operator.

Broker and store reachable, consumer lag per partition, events/s in and out, last batch
time, dead letters in the last minutes, budgets near or over their limit, reconciliation
drift. Asked of the running worker (``GET /v1/status``); with no worker answering, the
broker and the store are asked directly. Exit status 0 when the broker, the store and a
worker all answer, 1 otherwise.
"""

import argparse
import asyncio
import logging
import sys
import time
from datetime import datetime
from typing import Any

from rich.console import Console

from schemas.budgets import Budget
from stream.broker.reader import read_topic
from stream.budgets.registry import BudgetRegistry
from stream.cli.output import print_table
from stream.cli.worker_api import ask_worker
from stream.config import Settings
from stream.status import collect_status
from stream.store.client import open_store
from stream.web.jsonutil import dumps


def register(commands: Any) -> None:
    parser = commands.add_parser("status", help="how the running system is doing, on one screen",
                                 description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--watch", nargs="?", const=2.0, type=float, metavar="SECONDS",
                        help="refresh every SECONDS (default 2) until Ctrl-C")
    parser.add_argument("--format", choices=("table", "json"), default="table",
                        help="json: one document (one per line with --watch)")
    parser.set_defaults(handler=run)


async def _without_worker(settings: Settings) -> dict[str, Any]:
    async def load_budgets() -> list[Budget]:
        registry = BudgetRegistry()
        for key, value in await read_topic(settings, settings.topic_budget_definitions):
            registry.apply(key, value)
        return registry.all()

    store = open_store(settings)
    try:
        return await collect_status(settings, store, None, None, load_budgets)
    finally:
        store.close()


def status_document(settings: Settings) -> dict[str, Any]:
    answer = ask_worker(settings, "/v1/status", "status")
    if answer is not None:
        return answer
    return asyncio.run(_without_worker(settings))


def _ago(moment: str | None, now: datetime) -> str:
    if not moment:
        return "none yet"
    seconds = (now - datetime.fromisoformat(moment)).total_seconds()
    return f"{moment} ({seconds:.0f} s ago)"


def _reach(part: dict[str, Any], where: str) -> str:
    if part["reachable"]:
        return f"[green]reachable[/green]  {where}"
    return f"[red]unreachable[/red]  {where}: {part.get('error') or 'no answer'}"


def render(console: Console, doc: dict[str, Any]) -> None:
    now = datetime.fromisoformat(doc["at"])
    verdict = "[green]healthy[/green]" if doc["healthy"] else "[red]degraded[/red]"
    console.print(f"[bold]costream status[/bold]  {doc['at']}  {verdict}")

    def line(label: str, text: str) -> None:
        console.print(f"  {label:<13}{text}", highlight=False)

    line("broker", _reach(doc["broker"], doc["broker"]["bootstrap_servers"]))
    line("store", _reach(doc["store"], doc["store"]["location"]))
    worker = doc["worker"]
    if not worker.get("running"):
        line("worker", f"[red]not answering[/red] at {worker['url']} (start it with `costream up` or `make run`)")
    else:
        partitions = worker.get("partitions")
        held = ", ".join(map(str, partitions)) if partitions else ("rebalancing" if partitions is None else "none")
        line("worker", f"[green]running[/green]  {worker['url']}  partitions {held}  batches {worker['batches']}")
        rates = worker["throughput"]
        if rates["events_in_per_s"] is None:
            line("throughput", "measuring…")
        else:
            line("throughput", f"in {rates['events_in_per_s']} events/s · out {rates['events_out_per_s']} events/s "
                               f"(last {rates['over_seconds']} s)")
        line("last batch", _ago(worker.get("last_batch_at"), now))
        rec = worker.get("reconciliation")
        if rec is None:
            line("reconcile", "no pass yet")
        else:
            drifted = rec["windows_drifted"] + rec["budget_periods_drifted"]
            text = ("[green]clean[/green]" if rec["clean"] else
                    f"[yellow]{drifted} drifted[/yellow] ({rec['windows_drifted']} windows, "
                    f"{rec['budget_periods_drifted']} budget periods{', repaired' if rec['repaired'] else ''})")
            line("reconcile", f"{text}, drift {rec['drift_usd']} USD, at {rec['at']}")
    dead = doc.get("dead_letters")
    if dead is not None:
        kinds = ", ".join(f"{kind} {count}" for kind, count in dead["by_error_type"].items())
        colour = "yellow" if dead["count"] else "green"
        line("dead letters", f"[{colour}]{dead['count']}[/{colour}] in the last {dead['minutes']} min"
                             + (f" ({kinds}; latest {dead['latest_at']})" if kinds else ""))
    lag = doc.get("lag")
    if lag is not None:
        line("lag", f"{lag['total']} messages on {lag['topic']} (group {lag['group']})")
        print_table(console, ["partition", "end_offset", "committed", "lag"],
                    [[p["partition"], p["end_offset"], "—" if p["committed"] is None else p["committed"], p["lag"]]
                     for p in lag["partitions"]])
    budgets = doc["budgets"]
    near = budgets.get("near_or_over")
    if near is None:
        line("budgets", "unknown (store or broker unreachable)")
    else:
        line("budgets", f"{len(near)} of {budgets['total']} near or over their limit")
        if near:
            print_table(console, ["budget_id", "tenant_id", "state", "percent_used", "spend_usd", "limit_usd",
                                  "projected_spend_usd"],
                        [[b["budget_id"], b["tenant_id"], b["state"], b["percent_used"] + "%", b["spend_usd"],
                          b["limit_usd"], b["projected_spend_usd"] or ""] for b in near])


def run(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)  # an unreachable broker is reported above, once
    while True:
        doc = status_document(settings)
        if args.format == "json":
            sys.stdout.buffer.write(dumps(doc) + b"\n")
            sys.stdout.flush()
        else:
            if args.watch:
                console.clear()
            render(console, doc)
        if not args.watch:
            return 0 if doc["healthy"] else 1
        time.sleep(args.watch)
