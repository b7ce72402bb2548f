"""``costream budgets set|list|delete`` and ``costream breaches``.

Budget changes are published to the compacted definitions topic; running workers pick
them up without a restart. ``breaches`` prints what gateways see on the breach topic.
"""

import argparse
import asyncio
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaConnectionError
from rich.console import Console

from schemas.budgets import Budget, BudgetBreach
from stream.broker.client import aiokafka_options
from stream.broker.reader import follow_topic, read_topic
from stream.budgets.registry import BudgetDefinitionError, BudgetRegistry, encode_budget, load_budget_file, parse_budget
from stream.cli.errors import CliError
from stream.cli.output import print_rows, text_cell
from stream.config import Settings


def register(commands: Any) -> None:
    budgets = commands.add_parser("budgets", help="define, list and delete budgets (no restart needed)")
    actions = budgets.add_subparsers(dest="action", metavar="ACTION", required=True)

    set_parser = actions.add_parser("set", help="create or replace budgets, from a YAML file or from flags")
    set_parser.add_argument("file", nargs="?", help="YAML with a top-level 'budgets:' list")
    set_parser.add_argument("--id")
    set_parser.add_argument("--tenant")
    set_parser.add_argument("--period", choices=("day", "week", "month"))
    set_parser.add_argument("--limit", help="limit in USD, e.g. 250.00")
    set_parser.add_argument("--timezone", default="UTC")
    set_parser.add_argument("--scope", metavar="ATTRIBUTE=VALUE", help="e.g. feature=search (default: whole tenant)")
    set_parser.add_argument(
        "--threshold", action="append", metavar="PERCENT:SEVERITY",
        help="e.g. 50:warn; repeatable (default 50:warn 80:warn 100:block)",
    )
    set_parser.set_defaults(handler=run_set)

    list_parser = actions.add_parser("list", help="budgets in force (from the definitions topic)")
    list_parser.add_argument("--tenant")
    list_parser.add_argument("--format", choices=("table", "json"), default="table")
    list_parser.set_defaults(handler=run_list)

    delete_parser = actions.add_parser("delete", help="delete a budget by id")
    delete_parser.add_argument("budget_id")
    delete_parser.set_defaults(handler=run_delete)

    breaches = commands.add_parser("breaches", help="print budget breaches as gateways receive them")
    breaches.add_argument("--follow", "-f", action="store_true", help="keep printing new breaches")
    breaches.add_argument("--tenant")
    breaches.add_argument("--format", choices=("table", "json"), default="table")
    breaches.set_defaults(handler=run_breaches)


def budget_from_flags(args: argparse.Namespace) -> Budget:
    missing = [flag for flag in ("id", "tenant", "period", "limit") if not getattr(args, flag)]
    if missing:
        raise CliError(
            f"missing {', '.join('--' + flag for flag in missing)}",
            "costream budgets set --id acme-monthly --tenant acme --period month --limit 500, or pass a YAML file",
        )
    document: dict[str, Any] = {
        "id": args.id, "tenant_id": args.tenant, "period": args.period, "timezone": args.timezone,
    }
    try:
        document["limit_usd"] = Decimal(args.limit)
    except InvalidOperation:
        raise CliError(f"--limit '{args.limit}' is not a number", "write it as --limit 250.00") from None
    if args.scope:
        attribute, sep, value = args.scope.partition("=")
        if not sep:
            raise CliError(f"--scope '{args.scope}' is not ATTRIBUTE=VALUE", "e.g. --scope feature=search")
        document["scope"] = {"attribute": attribute, "value": value}
    if args.threshold:
        thresholds = []
        for spec in args.threshold:
            percent, sep, severity = spec.partition(":")
            if not sep:
                raise CliError(f"--threshold '{spec}' is not PERCENT:SEVERITY", "e.g. --threshold 90:block")
            thresholds.append({"percent": percent, "severity": severity})
        document["thresholds"] = thresholds
    return parse_budget(document, "budget")


async def _produce(settings: Settings, topic: str, records: list[tuple[bytes, bytes | None]]) -> None:
    producer = AIOKafkaProducer(**aiokafka_options(settings), acks="all")
    try:
        await producer.start()
    except KafkaConnectionError:
        raise CliError(
            f"cannot reach Kafka at {settings.bootstrap_servers}",
            "start the stack with `costream up`, or set COSTREAM_KAFKA_BOOTSTRAP_SERVERS",
        ) from None
    try:
        for key, value in records:
            await producer.send_and_wait(topic, value=value, key=key)
    finally:
        await producer.stop()


def run_set(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    try:
        budgets = load_budget_file(Path(args.file)) if args.file else [budget_from_flags(args)]
    except BudgetDefinitionError as exc:
        raise CliError(str(exc), "see README, section Budgets, for the format") from None
    asyncio.run(_produce(settings, settings.topic_budget_definitions,
                         [(budget.id.encode(), encode_budget(budget)) for budget in budgets]))
    for budget in budgets:
        console.print(f"set budget {budget.id} ({budget.tenant_id}, {budget.period.value}, ${budget.limit_usd})")
    return 0


def run_delete(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    asyncio.run(_produce(settings, settings.topic_budget_definitions, [(args.budget_id.encode(), None)]))
    console.print(f"deleted budget {args.budget_id}")
    return 0


def _read(settings: Settings, topic: str) -> list[tuple[bytes | None, bytes | None]]:
    try:
        return asyncio.run(read_topic(settings, topic))
    except KafkaConnectionError:
        raise CliError(f"cannot reach Kafka at {settings.bootstrap_servers}", "is the stack running?") from None


def run_list(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    registry = BudgetRegistry()
    for key, value in _read(settings, settings.topic_budget_definitions):
        registry.apply(key, value)
    budgets = [b for b in registry.all() if not args.tenant or b.tenant_id == args.tenant]
    if args.format == "json":
        sys.stdout.buffer.write(orjson.dumps([b.model_dump(mode="json") for b in budgets]) + b"\n")
        return 0
    rows = [
        [b.id, b.tenant_id, f"{b.scope.attribute}={b.scope.value}" if b.scope.attribute else "tenant",
         b.period.value, b.timezone, b.limit_usd,
         " ".join(f"{t.percent.normalize():f}%:{t.severity.value}" for t in b.thresholds)]
        for b in budgets
    ]
    print_rows(console, ["id", "tenant", "scope", "period", "timezone", "limit_usd", "thresholds"], rows, "table")
    return 0


BREACH_COLUMNS = ["emitted_at", "tenant_id", "budget_id", "kind", "threshold", "severity", "spend_usd",
                  "limit_usd", "period_start", "breach_id"]


def _breach_row(breach: BudgetBreach) -> list[Any]:
    detail = f"{breach.threshold_percent.normalize():f}%" if breach.threshold_percent is not None else ""
    if breach.unpriced_model:
        detail = f"unpriced {breach.unpriced_model}"
    return [breach.emitted_at.isoformat(timespec="seconds"), breach.tenant_id, breach.budget_id,
            breach.kind.value, detail, breach.severity.value, breach.spend_usd, breach.limit_usd,
            breach.period_start.isoformat(), breach.breach_id]


def run_breaches(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    def decode(value: bytes | None) -> BudgetBreach | None:
        if not value:
            return None
        breach = BudgetBreach.model_validate_json(value)
        return breach if not args.tenant or breach.tenant_id == args.tenant else None

    def show(breach: BudgetBreach) -> None:
        if args.format == "json":
            sys.stdout.write(breach.model_dump_json() + "\n")
            sys.stdout.flush()
        else:
            console.print("  ".join(text_cell(cell, pretty=True) for cell in _breach_row(breach)), highlight=False)

    if not args.follow:
        breaches = [b for _, value in _read(settings, settings.topic_breaches) if (b := decode(value))]
        breaches.sort(key=lambda b: b.emitted_at)
        if args.format == "json":
            sys.stdout.buffer.write(orjson.dumps([b.model_dump(mode="json") for b in breaches]) + b"\n")
        else:
            print_rows(console, BREACH_COLUMNS, [_breach_row(b) for b in breaches], "table")
        return 0

    def apply(_: bytes | None, value: bytes | None) -> None:
        if breach := decode(value):
            show(breach)

    try:
        asyncio.run(follow_topic(settings, settings.topic_breaches, apply))
    except KafkaConnectionError:
        raise CliError(f"cannot reach Kafka at {settings.bootstrap_servers}", "is the stack running?") from None
    return 0
