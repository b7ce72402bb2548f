"""The worker's Faust transport: Faust's aiokafka driver, with a fetch wait of our own.

Faust builds the worker's consumer with ``fetch_max_wait_ms=1500`` and has no setting for
it. A broker holds a fetch for partitions that have no new data until data arrives or
that wait runs out; the embedded broker (Tansu) answers such a fetch late, measured here
up to about 40% of the wait after a record arrived, so an event on a quiet partition
(a budget-crossing request from a tenant with little traffic) sat up to 0.6 s before the
worker saw it, whatever the worker's own speed. ``consumer_fetch_max_wait`` bounds that;
a broker that answers as data arrives (Apache Kafka) is not slowed by it, and a quiet
worker only sends a few more empty fetches per second.

No public API sets the wait, so the one method of Faust's driver that builds the consumer
is overridden, and the value it sets is replaced before the consumer starts.
"""

from typing import Any, cast

import aiokafka
import faust
from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread, Consumer, Transport


class _ConsumerThread(AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Transport) -> aiokafka.AIOKafkaConsumer:
        consumer = super()._create_worker_consumer(transport)
        consumer._fetch_max_wait_ms = cast(WorkerTransport, transport).fetch_max_wait_ms
        return consumer


class _Consumer(Consumer):
    def _new_consumer_thread(self) -> _ConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)


class WorkerTransport(Transport):
    Consumer = _Consumer

    def __init__(self, *args: Any, fetch_max_wait_ms: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fetch_max_wait_ms = fetch_max_wait_ms


def use_worker_transport(app: faust.App, fetch_max_wait: float) -> None:
    """Make ``app`` consume through :class:`WorkerTransport` (before it starts)."""
    app.transport = WorkerTransport(app.conf.broker_consumer, app, fetch_max_wait_ms=round(fetch_max_wait * 1000))
