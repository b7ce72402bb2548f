"""Starting and stopping the whole stack in one process tree.

``costream up``: embedded broker (when no external bootstrap is set) -> topics ->
ClickHouse migrations -> price book -> Faust worker. Ctrl-C / SIGTERM stops the worker
(Faust's own signal handling), then the store, then the broker child. The broker child
also dies with this process if it is killed outright (see ``EmbeddedBroker``).
"""

import asyncio
import contextlib
import gc
import importlib
import logging
from pathlib import Path

import faust
from rich.console import Console

from stream.broker.embedded import EmbeddedBroker
from stream.broker.topics import ensure_topics
from stream.budgets.registry import BudgetRegistry, load_budget_file
from stream.config import Settings
from stream.demo.budgets import demo_budgets
from stream.demo.publisher import register_demo_publisher
from stream.ingest.agent import register_ingest_agent
from stream.pricing import PriceBook
from stream.pricing.datafile import configured_data
from stream.store.client import ClickHouseStore, open_store
from stream.store.migrate import migrate
from stream.web.auth import Authenticator, is_loopback, load_tokens
from stream.worker.app import Worker, build_worker
from stream.worker.pages import register_pages
from stream.worker.tasks import (
    register_activity_sampler,
    register_budget_tasks,
    register_price_reload,
    register_reconciliation,
    register_window_timer,
)

log = logging.getLogger(__name__)


def prepare_topics(settings: Settings) -> list[str]:
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(ensure_topics(settings))
    finally:
        loop.close()


def authenticator(settings: Settings) -> Authenticator:
    tokens = load_tokens(settings.api_tokens_file) if settings.api_tokens_file else None
    return Authenticator(tokens, open_locally=is_loopback(settings.http_host))


def create_worker(
    settings: Settings, store: ClickHouseStore, book: PriceBook, registry: BudgetRegistry, auth: Authenticator,
    demo: bool = False,
) -> Worker:
    worker = build_worker(settings, store, book, registry)
    register_ingest_agent(worker)
    register_window_timer(worker)
    register_reconciliation(worker)
    register_activity_sampler(worker)
    register_budget_tasks(worker)
    register_price_reload(worker)
    register_pages(worker, auth)
    if demo:
        register_demo_publisher(worker.app, worker.topics["raw"])
    return worker


def run_stack(settings: Settings, *, demo: bool, start_broker: bool, console: Console) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    # Files first: a typo in prices or budgets fails in a second, before anything starts.
    book = PriceBook.load(
        settings.price_overrides_file, data=configured_data(settings.price_data_file, settings.price_data_url),
    )
    registry = BudgetRegistry(load_budget_file(settings.budgets_file) if settings.budgets_file else [])
    auth = authenticator(settings)
    broker: EmbeddedBroker | None = None
    store: ClickHouseStore | None = None
    try:
        if start_broker and settings.embedded_broker:
            broker = EmbeddedBroker(settings.embedded_broker_port, Path(settings.data_dir) / "broker.log").start()
        prepare_topics(settings)
        store = open_store(settings)
        applied = migrate(store)
        if demo and not settings.budgets_file:
            for budget in asyncio.run(demo_budgets(store)):
                registry.put(budget)
        worker = create_worker(settings, store, book, registry, auth, demo=demo)
        _print_banner(console, settings, broker, [m.name for m in applied], demo, registry)
        collect_garbage_for_batches()
        asyncio.set_event_loop(asyncio.new_event_loop())
        faust.Worker(worker.app, loglevel=settings.log_level, quiet=True).execute_from_commandline()
    finally:
        if store is not None:
            store.close()
        if broker is not None:
            broker.stop()


GC_YOUNG_THRESHOLD = 50_000
"""Allocations between two young-generation collections (Python's default is 700).

A batch allocates millions of short-lived objects (events, rows, sums) that no cycle
holds; at the default, the collector runs thousands of times per batch and its older
generations walk every live record again. Measured here it doubled the cost of the
per-event steps after pricing. Cycles are still collected, just in fewer, larger passes."""


def collect_garbage_for_batches() -> None:
    # clickhouse-connect imports pandas, where it is installed, on its first insert: a
    # third of a second that would otherwise land in the first batches. Imported here, it
    # is also frozen with the rest of start-up.
    with contextlib.suppress(ImportError):
        importlib.import_module("pandas")
    gc.collect()
    gc.freeze()  # what start-up built (price data, schemas, modules) lives as long as the process
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])


def _print_banner(
    console: Console, settings: Settings, broker: EmbeddedBroker | None, migrations: list[str], demo: bool,
    registry: BudgetRegistry,
) -> None:
    kafka = (
        f"embedded Tansu at {broker.bootstrap_servers} (pid {broker.pid}; in-memory, lost on stop)"
        if broker
        else settings.bootstrap_servers
    )
    store = settings.clickhouse_dsn.split("@")[-1]
    console.print("[bold]costream[/bold] is starting")
    console.print(f"  kafka       {kafka}")
    console.print(f"  topics      raw={settings.topic_raw} priced={settings.topic_priced} dlq={settings.topic_dlq}")
    console.print(f"  clickhouse  {store}" + (f" (migrations applied: {', '.join(migrations)})" if migrations else ""))
    console.print(f"  http        {settings.worker_url}  (/v1/reports, /v1/status, /v1/openapi.json, /metrics)")
    if demo:
        console.print("  demo        publishing sample events from 5 tenants and 7 providers")
    for budget in registry.all():
        console.print(f"  budget      {budget.id}: {budget.tenant_id}, ${budget.limit_usd} a {budget.period.value}")
    if len(registry):
        soon = " (within a minute)" if demo else ""
        console.print(f"  breaches    topic {settings.topic_breaches}{soon}; costream breaches --follow")
    console.print(f"  dashboard   {settings.worker_url}/dashboard (breaches, budgets, live)")
    console.print("  health      costream status [--watch]")
    console.print(
        '  try         costream query "SELECT tenant_id, sum(total_cost) FROM usage_events GROUP BY tenant_id"'
    )
    console.print("  stop        Ctrl-C")
