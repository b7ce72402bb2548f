"""Building the Faust app from settings: topics, the ingest agent, background tasks and
the worker's HTTP pages, wired around one ClickHouse store."""

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import faust
from pydantic import BaseModel

from schemas.budgets import BudgetBreach, BudgetStatus
from schemas.windows import WindowAggregate
from stream.broker.client import ssl_context
from stream.broker.feed import RecordFeed
from stream.broker.publisher import BatchPublisher
from stream.broker.transport import use_worker_transport
from stream.budgets.enforcer import BudgetEnforcer
from stream.budgets.registry import BudgetRegistry
from stream.config import Settings
from stream.dedup import EventIds
from stream.ingest.agent import IngestCounters
from stream.pricing import PriceBook
from stream.reconcile import ReconcileReport, reconcile
from stream.sinks.clickhouse import ClickHouseSink, fault_while_file_exists
from stream.stalls import StallWatch
from stream.state.held import StreamState, WindowSettings
from stream.status import Activity
from stream.store.client import ClickHouseStore

log = logging.getLogger(__name__)


@dataclass
class Worker:
    app: faust.App
    settings: Settings
    store: ClickHouseStore
    sink: ClickHouseSink
    book: PriceBook
    """The price book in force; replaced whole when the overrides file changes."""
    publisher: BatchPublisher
    """Priced events and dead letters, with aiokafka's batch API."""
    state: StreamState
    """Open windows and running budget spend of the partitions this worker owns."""
    ids: EventIds
    budgets: BudgetEnforcer
    topics: dict[str, faust.TopicT]
    raw: RecordFeed
    """The raw topic's records, as the consumer fetches them (see :mod:`stream.broker.feed`)."""
    counters: IngestCounters = field(default_factory=IngestCounters)
    assignments: int = 0
    """Partition assignments received (the first, then one per rebalance)."""
    stalls: StallWatch = field(default_factory=lambda: StallWatch(60.0))
    """Partitions whose batch keeps failing (see :mod:`stream.stalls`)."""
    reconciled: ReconcileReport | None = None
    """The last reconciliation pass (periodic or asked through the API)."""
    reconcile_passes: int = 0
    activity: Activity = field(default_factory=Activity)
    """Recent counters, sampled every second, for the status's rates and last batch time."""

    async def reconcile(self, repair: bool = True) -> ReconcileReport:
        async with self.state.lock:
            return await self.reconcile_locked(repair)

    async def reconcile_locked(self, repair: bool = True) -> ReconcileReport:
        """A reconciliation pass; the caller holds the state lock."""
        report = await reconcile(self.state, repair)
        self.reconciled = report
        self.reconcile_passes += 1
        if not report.clean:
            log.warning("reconciliation: %d windows and %d budget periods drifted from the store (%s USD)%s",
                        len(report.windows), len(report.budgets), report.drift_usd, ", repaired" if repair else "")
        return report


def broker_credentials(settings: Settings) -> Any:
    context = ssl_context(settings)
    if settings.kafka_sasl_mechanism:
        password = settings.kafka_sasl_password
        return faust.SASLCredentials(
            username=settings.kafka_sasl_username,
            password=password.get_secret_value() if password else None,
            mechanism=settings.kafka_sasl_mechanism,
            ssl_context=context,
        )
    if context is not None:
        return faust.SSLCredentials(context)
    return None


def _faust_app(settings: Settings, raw: RecordFeed) -> faust.App:
    app = faust.App(
        settings.consumer_group,
        broker=f"kafka://{settings.bootstrap_servers}",
        broker_credentials=broker_credentials(settings),
        store="memory://",
        datadir=str(settings.data_dir / "faust"),
        autodiscover=False,
        topic_partitions=settings.topic_partitions,
        topic_replication_factor=settings.topic_replication_factor,
        consumer_auto_offset_reset="earliest",
        # A short session timeout makes the first group join take seconds, not ~30 s.
        broker_session_timeout=10.0,
        broker_heartbeat_interval=3.0,
        broker_commit_interval=1.0,
        web_enabled=True,
        web_bind=settings.http_host,
        web_host=settings.http_host,
        web_port=settings.http_port,
        web_in_thread=False,
    )
    use_worker_transport(app, settings.consumer_fetch_max_wait, {raw.topic: raw})
    return app


def _bytes_topic(app: faust.App, name: str) -> faust.TopicT:
    return app.topic(name, value_type=bytes, key_type=bytes, value_serializer="raw", key_serializer="raw")


async def send_all(topic: faust.TopicT, messages: list[tuple[str, BaseModel]]) -> None:
    """Send every (key, message), then wait until Kafka has acknowledged them all."""
    pending = [await topic.send(key=key.encode(), value=message.model_dump_json().encode())
               for key, message in messages]
    for future in pending:
        await future


def build_worker(settings: Settings, store: ClickHouseStore, book: PriceBook, registry: BudgetRegistry) -> Worker:
    raw = RecordFeed(settings.topic_raw)
    app = _faust_app(settings, raw)
    topics = {
        name: _bytes_topic(app, getattr(settings, f"topic_{name}"))
        # priced events and dead letters go straight to the producer (see the ingest agent)
        for name in ("raw", "aggregates", "breaches", "budget_status")
    }
    fault = fault_while_file_exists(settings.insert_fault_file) if settings.insert_fault_file else None
    sink = ClickHouseSink(store, max_backoff=settings.insert_retry_max_backoff, fault=fault)

    async def publish_aggregates(aggregates: list[WindowAggregate]) -> None:
        await send_all(topics["aggregates"], [(aggregate.tenant_id, aggregate) for aggregate in aggregates])

    state = StreamState(
        WindowSettings(
            size_seconds=int(settings.window_size),
            grace=timedelta(seconds=settings.window_grace),
            dimensions=settings.window_dimensions,
            max_groups=settings.window_max_groups,
            consumer_group=settings.consumer_group,
        ),
        sink,
        registry,
        publish_aggregates,
        checkpoint_interval=settings.state_checkpoint_interval,
    )
    async def publish_breach(breach: BudgetBreach) -> None:
        await send_all(topics["breaches"], [(breach.tenant_id, breach)])

    async def publish_status(status: BudgetStatus) -> None:
        # compacted topic: keyed by budget id, so the latest status of every budget survives
        await send_all(topics["budget_status"], [(status.budget_id, status)])

    budgets = BudgetEnforcer(registry, sink, publish_breach, publish_status)
    publisher = BatchPublisher(settings)
    app.add_dependency(publisher)  # started and stopped with the app
    worker = Worker(app, settings, store, sink, book, publisher, state, EventIds(sink), budgets, topics, raw,
                    stalls=StallWatch(settings.stall_warning_after))  # fmt: skip
    return worker

