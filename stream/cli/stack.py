"""``costream up``, ``costream worker`` and ``costream migrate``."""

import argparse
from typing import Any

from aiokafka.errors import KafkaConnectionError
from rich.console import Console

from stream.broker.embedded import BrokerStartError
from stream.budgets.registry import BudgetDefinitionError
from stream.cli.errors import CliError
from stream.config import Settings
from stream.pricing import OverridesError
from stream.store.client import ClickHouseStore, StoreUnavailable
from stream.store.migrate import applied_versions, available_migrations, migrate
from stream.web.auth import TokensFileError
from stream.worker.run import run_stack


def register(commands: Any) -> None:
    up = commands.add_parser(
        "up", help="run the whole stack: embedded broker (unless external), topics, migrations, worker",
    )
    up.add_argument("--demo", action="store_true", help="also publish realistic sample events")
    up.set_defaults(handler=run_up)

    worker = commands.add_parser("worker", help="run the Faust worker alone (production: external Kafka)")
    worker.set_defaults(handler=run_worker)

    migrate_parser = commands.add_parser("migrate", help="create or upgrade the ClickHouse schema (idempotent)")
    migrate_parser.add_argument("--status", action="store_true", help="list migrations and whether applied")
    migrate_parser.set_defaults(handler=run_migrate)


def _run(settings: Settings, console: Console, *, demo: bool, start_broker: bool) -> int:
    try:
        run_stack(settings, demo=demo, start_broker=start_broker, console=console)
    except (BrokerStartError, BudgetDefinitionError, OverridesError, TokensFileError) as exc:
        raise CliError(str(exc)) from None
    except KafkaConnectionError:
        raise CliError(
            f"cannot reach Kafka at {settings.bootstrap_servers}",
            "check COSTREAM_KAFKA_BOOTSTRAP_SERVERS, or unset it to start the embedded broker",
        ) from None
    except StoreUnavailable as exc:
        raise CliError(str(exc), "is another costream worker running on the same data directory?") from None
    return 0


def run_up(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    return _run(settings, console, demo=args.demo, start_broker=True)


def run_worker(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    return _run(settings, console, demo=False, start_broker=False)


def run_migrate(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    store = ClickHouseStore(settings.clickhouse_dsn)
    try:
        if args.status:
            done = applied_versions(store)
            for migration in available_migrations():
                state = "applied" if migration.version in done else "pending"
                console.print(f"{migration.version:04d}_{migration.name}  {state}")
            return 0
        applied = migrate(store)
    except StoreUnavailable as exc:
        raise CliError(str(exc), "stop the worker that holds the embedded store, or run migrate through it") from None
    finally:
        store.close()
    if applied:
        console.print("applied: " + ", ".join(f"{m.version:04d}_{m.name}" for m in applied))
    else:
        console.print("schema is up to date")
    return 0
