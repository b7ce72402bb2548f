"""The worker's Faust transport: Faust's aiokafka driver, with a fetch wait of our own,
handing the records of some topics over in bulk.

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

The records of a topic with a :class:`~stream.broker.feed.RecordFeed` skip Faust's
per-message delivery (see that module): the consumer's ``getmany``, which Faust's fetch
loop iterates, hands them to the feed as one list per fetch and yields only the others.
"""

from collections.abc import AsyncIterator, Mapping
from typing import Any, cast

import aiokafka
import faust
from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread, Consumer, Transport
from faust.types import TP, Message

from stream.broker.feed import RecordFeed


class _ConsumerThread(AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Transport) -> aiokafka.AIOKafkaConsumer:
        consumer = super()._create_worker_consumer(transport)
        consumer._fetch_max_wait_ms = cast(WorkerTransport, transport).fetch_max_wait_ms
        return consumer


class _Consumer(Consumer):
    def _new_consumer_thread(self) -> _ConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)

    async def getmany(self, timeout: float) -> AsyncIterator[tuple[TP, Message]]:
        feeds = cast(WorkerTransport, self.transport).feeds
        fed: dict[str, list[Message]] = {}
        async for tp, message in super().getmany(timeout):
            if tp.topic not in feeds:
                yield tp, message
            elif await self._read(tp, message):
                fed.setdefault(tp.topic, []).append(message)
        for topic, messages in fed.items():
            # As Faust's fetch loop does for each message: a rebalance stops the hand-over
            # (the messages would be of the generation it ends, and are read again).
            await self.wait_first(feeds[topic].put(messages), self.suspend_flow.wait())

    async def _read(self, tp: TP, message: Message) -> bool:
        """The bookkeeping Faust's fetch loop does for each message it delivers: whether
        the message is new (not below the offset read since the last seek), and the gap
        in offsets before it recorded (left by a transaction's marker, for one), or the
        consumer's commits would stop at the gap. No public API does it, so the loop's
        two steps are repeated on the consumer's own read offsets and gaps."""
        read = self._read_offset[tp]
        if read is not None and message.offset < read:
            return False
        if read and message.offset - read > 1 and self.app.topics.acks_enabled_for(tp.topic):
            await self._add_gap(tp, read + 1, message.offset)
        self._read_offset[tp] = message.offset
        return True


class WorkerTransport(Transport):
    Consumer = _Consumer

    def __init__(self, *args: Any, fetch_max_wait_ms: int, feeds: Mapping[str, RecordFeed], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fetch_max_wait_ms = fetch_max_wait_ms
        self.feeds = feeds
        """Topics whose records are handed to a feed instead of Faust's channels."""


def use_worker_transport(app: faust.App, fetch_max_wait: float, feeds: Mapping[str, RecordFeed] | None = None) -> None:
    """Make ``app`` consume through :class:`WorkerTransport` (before it starts)."""
    app.transport = WorkerTransport(app.conf.broker_consumer, app, fetch_max_wait_ms=round(fetch_max_wait * 1000),
                                    feeds=feeds or {})
