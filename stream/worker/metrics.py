"""Prometheus metrics of one worker, served at ``GET /metrics``.

Counters are read from the worker's own counters when scraped, so the hot path pays
nothing for them; insert latency is a histogram fed with the sink's timings at scrape.
"""

import logging
from collections.abc import Iterator

from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from stream.broker.client import aiokafka_options
from stream.worker.app import Worker

log = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4"  # aiohttp refuses a charset here; the text is ASCII


async def group_offsets(worker: Worker, partitions: list[TopicPartition]) -> dict[TopicPartition, int]:
    """The worker group's committed offsets (the next offset it will process), as the
    broker holds them; partitions it never committed are left out."""
    admin = AIOKafkaAdminClient(**aiokafka_options(worker.settings), request_timeout_ms=5_000)
    try:
        await admin.start()
        offsets = await admin.list_consumer_group_offsets(worker.app.conf.id, partitions=partitions)
    finally:
        await admin.close()
    return {tp: meta.offset for tp, meta in offsets.items() if meta.offset >= 0}


async def consumer_lag(worker: Worker) -> dict[tuple[str, int], int]:
    """Raw-topic messages on each assigned partition not yet committed: highwater (the
    offset the next message will get) minus the group's committed offset."""
    consumer = worker.app.consumer
    if consumer is None:
        return {}
    highwaters: dict[TopicPartition, int] = {}
    for tp in consumer.assignment():
        if tp.topic != worker.settings.topic_raw:  # Faust's own internal topics are not work
            continue
        try:
            highwater = consumer.highwater(tp)
        except Exception:  # not fetched yet / partition revoked meanwhile
            continue
        if highwater is not None:
            highwaters[TopicPartition(tp.topic, tp.partition)] = highwater
    if not highwaters:
        return {}
    try:
        committed = await group_offsets(worker, list(highwaters))
    except Exception as exc:  # broker unreachable: what this worker committed since it started
        log.warning("consumer lag: committed offsets unavailable (%s)", exc)
        committed = {TopicPartition(tp.topic, tp.partition): offset
                     for tp, offset in worker.app.monitor.tp_committed_offsets.items()}
    return {
        (tp.topic, tp.partition): max(0, highwater - committed.get(tp, 0)) for tp, highwater in highwaters.items()
    }


class WorkerCollector(Collector):
    def __init__(self, worker: Worker) -> None:
        self.worker = worker
        self.lag: dict[tuple[str, int], int] = {}
        """Consumer lag as of the last scrape (it takes a broker round trip, so it is
        fetched before collecting)."""

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        worker, counters = self.worker, self.worker.counters
        for name, value, text in (
            ("messages", counters.messages, "Kafka messages consumed from the raw topic"),
            ("events_priced", counters.events_priced, "Events priced (tokens or provider cost)"),
            ("events_unpriced", counters.events_unpriced, "Events stored unpriced (model not in the price book)"),
            ("dead_letters", counters.dead_letters, "Messages or events dead-lettered with a reason"),
            ("batches", counters.batches, "Batches stored"),
            ("insert_failures", worker.sink.failed_attempts, "Failed ClickHouse insert attempts (retried)"),
            ("breaches", worker.budgets.breaches_published, "Budget breaches published"),
            ("window_passes", worker.state.passes, "Window emission passes"),
            ("duplicates", counters.duplicates, "Deliveries of an event_id already counted (dropped)"),
            ("conflicting_duplicates", counters.conflicting_duplicates,
             "Deliveries of a counted event_id with other content (recorded in duplicate_events, not merged)"),
            ("state_checkpoints", worker.state.checkpoints, "Checkpoints of worker state written"),
            ("partition_assignments", worker.assignments, "Partition assignments (the first, then one per rebalance)"),
        ):
            yield CounterMetricFamily(f"costream_{name}", text, value=value)
        lag = GaugeMetricFamily(
            "costream_consumer_lag", "Messages not yet committed, per partition", labels=["topic", "partition"]
        )
        for (topic, partition), value in sorted(self.lag.items()):
            lag.add_metric([topic, str(partition)], value)
        yield lag
        stalled = GaugeMetricFamily("costream_partition_stalled_seconds",
                                    "Seconds a partition's batch has kept failing, past the stall limit",
                                    labels=["partition"])  # fmt: skip
        for stall, seconds in worker.stalls.stalled():
            for partition in stall.partitions:
                stalled.add_metric([str(partition)], seconds)
        yield stalled
        yield GaugeMetricFamily("costream_open_windows", "Windows still open for late events",
                                value=len(worker.state.resident_windows()))
        yield GaugeMetricFamily("costream_budgets", "Budgets in force", value=len(worker.budgets.registry))
        yield CounterMetricFamily("costream_reconcile_passes", "Reconciliation passes of worker state with the store",
                                  value=worker.reconcile_passes)
        last = worker.reconciled
        yield GaugeMetricFamily("costream_reconcile_drift_usd",
                                "Absolute cost drift of held state from the store at the last reconciliation",
                                value=float(last.drift_usd) if last else 0.0)
        drifted = GaugeMetricFamily("costream_reconcile_drifted", "Windows and budget periods that drifted at the "
                                    "last reconciliation (repaired)", labels=["kind"])
        drifted.add_metric(["window"], len(last.windows) if last else 0)
        drifted.add_metric(["budget_period"], len(last.budgets) if last else 0)
        yield drifted


class WorkerMetrics:
    def __init__(self, worker: Worker) -> None:
        self.worker = worker
        self.registry = CollectorRegistry()
        self.collector = WorkerCollector(worker)
        self.registry.register(self.collector)
        self.insert_latency = Histogram(
            "costream_insert_seconds", "ClickHouse insert latency of stored batches", registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )

    async def render(self) -> bytes:
        self.collector.lag = await consumer_lag(self.worker)
        for seconds in self.worker.sink.drain_timings():
            self.insert_latency.observe(seconds)
        return generate_latest(self.registry)
