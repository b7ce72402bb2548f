"""``costream up``, ``costream worker`` and ``costream migrate``."""

import argparse
from typing import Any
from urllib.parse import urlsplit

from aiokafka.errors import KafkaConnectionError
from clickhouse_connect.driver.exceptions import ClickHouseError
from rich.console import Console

from stream.broker.embedded import BrokerStartError
from stream.budgets.registry import BudgetDefinitionError
from stream.cli.errors import CliError
from stream.config import Settings
from stream.pricing import OverridesError
from stream.pricing.datafile import PriceDataError
from stream.reason import first_line
from stream.store.client import StoreUnavailable, open_store
from stream.store.cluster import CLUSTER_NAME
from stream.store.migrate import MigrationError, applied_versions, available_migrations, cluster_script, migrate
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
    migrate_parser.add_argument(
        "--cluster", metavar="NAME",
        help="lay the schema out for a ClickHouse cluster: replicated <table>_local tables and Distributed "
        "tables under the usual names, ON CLUSTER NAME (needs Keeper and the {shard}/{replica} macros)",
    )
    migrate_parser.add_argument(
        "--print", dest="print_only", action="store_true",
        help="with --cluster: print the DDL for the whole schema instead of applying it (connects to nothing)",
    )
    migrate_parser.set_defaults(handler=run_migrate)


def _run(settings: Settings, console: Console, *, demo: bool, start_broker: bool) -> int:
    try:
        run_stack(settings, demo=demo, start_broker=start_broker, console=console)
    except (BrokerStartError, BudgetDefinitionError, OverridesError, PriceDataError, TokensFileError) as exc:
        raise CliError(str(exc)) from None
    except KafkaConnectionError:
        raise CliError(
            f"cannot reach Kafka at {settings.bootstrap_servers}",
            "check COSTREAM_KAFKA_BOOTSTRAP_SERVERS, or unset it to start the embedded broker",
        ) from None
    except StoreUnavailable as exc:
        raise CliError(str(exc), "is another costream worker running on the same data directory?") from None
    except MigrationError as exc:
        raise CliError(exc.message, exc.hint) from None
    return 0


def run_up(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    return _run(settings, console, demo=args.demo, start_broker=True)


def run_worker(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    return _run(settings, console, demo=False, start_broker=False)


def run_migrate(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    cluster: str | None = args.cluster
    if args.print_only and cluster is None:
        raise CliError("--print goes with --cluster NAME", "costream migrate --cluster NAME --print")
    if cluster is not None:
        if settings.embedded_store:
            raise CliError(
                "--cluster needs a ClickHouse server; the store is embedded (chDB)",
                "set COSTREAM_CLICKHOUSE_URL=http://user:password@host:8123/database to a node of the cluster",
            )
        if not CLUSTER_NAME.match(cluster):
            raise CliError(f"'{cluster}' is not a cluster name", "use a name listed in system.clusters")
    if args.print_only:
        assert cluster is not None
        database = urlsplit(settings.clickhouse_dsn).path.strip("/") or "default"
        for step, statements in cluster_script(cluster, database):
            console.print(f"-- {step}", markup=False, highlight=False, soft_wrap=True)
            for statement in statements:
                console.print(f"{statement};\n", markup=False, highlight=False, soft_wrap=True)
        return 0
    store = open_store(settings)
    try:
        if args.status:
            done = applied_versions(store)
            for migration in available_migrations():
                state = "applied" if migration.version in done else "pending"
                console.print(f"{migration.version:04d}_{migration.name}  {state}")
            return 0
        applied = migrate(store, cluster)
    except StoreUnavailable as exc:
        hint = (
            "stop the worker that holds the embedded store, or run migrate through it" if settings.embedded_store
            else "check COSTREAM_CLICKHOUSE_URL and that the server answers"
        )
        raise CliError(str(exc), hint) from None
    except MigrationError as exc:
        raise CliError(exc.message, exc.hint) from None
    except ClickHouseError as exc:
        raise CliError(
            f"ClickHouse refused the migration: {first_line(exc)}",
            "every statement is idempotent: fix the cause and run costream migrate again",
        ) from None
    finally:
        store.close()
    if applied:
        where = f" on cluster '{cluster}'" if cluster else ""
        console.print("applied" + where + ": " + ", ".join(f"{m.version:04d}_{m.name}" for m in applied))
    else:
        console.print("schema is up to date")
    return 0
