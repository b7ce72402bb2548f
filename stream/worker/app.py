"""Building the Faust app from settings: topics, agents and the worker's HTTP pages."""

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import faust
from faust.web import Request, Response, View

from schemas.windows import WindowAggregate
from stream.broker.client import ssl_context
from stream.config import Settings
from stream.demo.publisher import register_demo_publisher
from stream.ingest.agent import IngestCounters, PriceBookHolder, register_ingest_agent
from stream.pricing import PriceBook
from stream.sinks.clickhouse import ClickHouseSink
from stream.store.client import ClickHouseStore
from stream.web.jsonutil import dumps
from stream.web.query import QueryError, run_query
from stream.windows.tracker import WindowSettings, WindowTracker

log = logging.getLogger(__name__)


@dataclass
class Worker:
    app: faust.App
    store: ClickHouseStore
    sink: ClickHouseSink
    prices: PriceBookHolder
    windows: WindowTracker
    counters: IngestCounters = field(default_factory=IngestCounters)


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


def create_app(settings: Settings, store: ClickHouseStore, book: PriceBook, demo: bool = False) -> Worker:
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
    raw_topic = app.topic(settings.topic_raw, value_type=bytes, key_type=bytes,
                          value_serializer="raw", key_serializer="raw")
    priced_topic = app.topic(settings.topic_priced, value_type=bytes, key_type=bytes,
                             value_serializer="raw", key_serializer="raw")
    dlq_topic = app.topic(settings.topic_dlq, value_type=bytes, key_type=bytes,
                          value_serializer="raw", key_serializer="raw")
    aggregates_topic = app.topic(settings.topic_aggregates, value_type=bytes, key_type=bytes,
                                 value_serializer="raw", key_serializer="raw")

    async def publish_aggregates(aggregates: list[WindowAggregate]) -> None:
        pending = [
            await aggregates_topic.send(key=a.tenant_id.encode(), value=a.model_dump_json().encode())
            for a in aggregates
        ]
        for future in pending:
            await future

    sink = ClickHouseSink(store, max_backoff=settings.insert_retry_max_backoff)
    windows = WindowTracker(
        WindowSettings(
            size_seconds=int(settings.window_size),
            grace=timedelta(seconds=settings.window_grace),
            dimensions=settings.window_dimensions,
            max_groups=settings.window_max_groups,
            consumer_group=settings.consumer_group,
        ),
        sink,
        publish_aggregates,
    )
    worker = Worker(app=app, store=store, sink=sink, prices=PriceBookHolder(book), windows=windows)
    register_ingest_agent(
        app, raw_topic, priced_topic, dlq_topic, worker.sink, worker.prices, worker.counters, windows,
        batch_size=settings.insert_batch_size, batch_wait=settings.insert_batch_wait,
    )
    _register_window_timer(worker, settings)
    if demo:
        register_demo_publisher(app, raw_topic)
    _register_pages(worker)
    return worker


def _register_window_timer(worker: Worker, settings: Settings) -> None:
    app, tracker = worker.app, worker.windows
    recovered_for: list[int] | None = None

    @app.timer(settings.window_flush_interval, name="costream.windows")  # type: ignore[untyped-decorator]
    async def flush_windows() -> None:
        nonlocal recovered_for
        if app.consumer is None or app.rebalancing:
            return
        partitions = sorted(tp.partition for tp in app.consumer.assignment() if tp.topic == settings.topic_raw)
        if not partitions:
            return
        try:
            if partitions != recovered_for:
                await tracker.recover(partitions)
                recovered_for = partitions
            await tracker.run_pass(partitions)
        except Exception:
            log.exception("window pass failed; the changed windows are kept for the next pass")


def _json(view: View, payload: Any, status: int = 200) -> Response:
    return view.bytes(dumps(payload), content_type="application/json", status=status)


def _register_pages(worker: Worker) -> None:
    app = worker.app

    @app.page("/v1/query")
    class QueryView(View):
        async def post(self, request: Request) -> Response:
            try:
                return _json(self, await run_query(worker.store, await request.read()))
            except QueryError as exc:
                return _json(self, {"status": exc.status, "message": exc.message}, exc.status)

    @app.page("/v1/stats")
    class StatsView(View):
        async def get(self, request: Request) -> Response:
            counters = worker.counters
            return _json(self, {
                "messages": counters.messages,
                "events_priced": counters.events_priced,
                "events_unpriced": counters.events_unpriced,
                "dead_letters": counters.dead_letters,
                "batches": counters.batches,
                "insert_failures": worker.sink.failed_attempts,
                "open_windows": len(worker.windows.open_windows),
                "pending_windows": len(worker.windows.dirty),
                "window_passes": worker.windows.passes,
                "window_rows_emitted": worker.windows.emitted,
            })

    @app.page("/healthz")
    class HealthView(View):
        async def get(self, request: Request) -> Response:
            return _json(self, {"status": "ok"})

    @app.page("/readyz")
    class ReadyView(View):
        """Ready once the consumer group has given this worker partitions to consume."""

        async def get(self, request: Request) -> Response:
            assigned = len(app.consumer.assignment()) if app.consumer else 0
            ready = assigned > 0 and not app.rebalancing
            return _json(self, {"ready": ready, "assigned_partitions": assigned}, 200 if ready else 503)
