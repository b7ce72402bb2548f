"""``costream reconcile``: compare the running worker's state (open windows, budget spend
of the current periods) with the store, and print the drift per tenant and budget.

The worker repairs what drifted by taking the store's figures (``--no-repair`` only
reports). It runs on its own every ``COSTREAM_RECONCILE_INTERVAL`` as well; this asks for
a pass now. Exit status 1 when anything drifted.
"""

import argparse
import sys
from typing import Any

from rich.console import Console

from stream.cli.errors import CliError
from stream.cli.output import print_rows
from stream.cli.worker_api import ask_worker
from stream.config import Settings
from stream.web.jsonutil import dumps


def register(commands: Any) -> None:
    parser = commands.add_parser("reconcile", help="compare worker state with the store; print the drift",
                                 description=__doc__)  # fmt: skip
    parser.add_argument("--format", choices=("table", "json"), default="table")
    parser.add_argument("--no-repair", action="store_true", help="report the drift without repairing it")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    path = "/v1/reconcile" + ("?repair=false" if args.no_repair else "")
    answer = ask_worker(settings, path, "reconcile")
    if answer is None:
        raise CliError(
            f"no worker answers at {settings.worker_url}: reconciliation compares a running worker's state "
            "with the store",
            "start one (costream up or costream worker), or point COSTREAM_HTTP_HOST/PORT at it",
        )
    if args.format == "json":
        sys.stdout.buffer.write(dumps(answer) + b"\n")
        sys.stdout.flush()
        return 0 if answer["clean"] else 1
    checked = f"{answer['windows_checked']} open windows and {answer['budget_periods_checked']} budget periods"
    if answer["clean"]:
        console.print(f"no drift: {checked} held by the worker agree with the store")
        return 0
    action = "repaired" if answer["repaired"] else "not repaired (--no-repair)"
    console.print(f"drift in {checked} ({answer['drift_usd']} USD), {action}")
    tenants = answer["tenants"]
    print_rows(console, ["tenant", "windows", "window_cost_drift_usd", "budget_periods", "budget_spend_drift_usd"],
               [[t, e["windows"], e["window_cost_drift_usd"], e["budget_periods"], e["budget_spend_drift_usd"]]
                for t, e in tenants.items()], "table")  # fmt: skip
    if answer["budgets"]:
        print_rows(console, ["budget", "tenant", "period_start", "held_spend_usd", "stored_spend_usd", "drift_usd"],
                   [[b["budget_id"], b["tenant_id"], b["period_start"], b["held_spend_usd"], b["stored_spend_usd"],
                     b["drift_usd"]] for b in answer["budgets"]], "table")  # fmt: skip
    return 1
