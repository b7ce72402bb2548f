"""A topic's records handed over by the worker's consumer in bulk, as they are fetched.

Faust delivers every message on its own: the consumer awaits each one's delivery (racing
it against a suspend event in tasks of their own), the conductor decodes it into an
event and queues it on the topic's channel, and the agent's stream takes it off with its
sensors and acknowledgement bookkeeping. Measured with single-event messages, that costs
a bare agent 100-200 µs a message on the 2-core machines ``make bench`` runs on, more
than costream's whole work on the event (pricing, storing, state, publishing). The
worker's transport (:mod:`stream.broker.transport`) therefore hands the raw topic's
records to a feed as each fetch returns them, and the ingest agent reads the feed. Faust
still holds the group membership, the assignment, the generation and the commits: the
agent subscribes the topic, tracks the messages of the batch it works on through the
consumer's ``track_message`` (a rebalance waits for them) and acknowledges each through
its ``ack``.

What is handed over and not yet taken is bounded (``max_fetches`` fetches): once the feed
is full, the consumer waits before fetching further, as it waits on a full channel.
"""

import asyncio
from collections.abc import AsyncIterator
from typing import Any

FEED_FETCHES = 4
"""Fetches a feed holds before the consumer waits: each is at most a partition fetch
(1 MB by default) for each partition fetched."""


class RecordFeed:
    """Lists of consumer messages of one topic, in the order they were fetched."""

    def __init__(self, topic: str, max_fetches: int = FEED_FETCHES) -> None:
        self.topic = topic
        self._fetches: asyncio.Queue[list[Any]] = asyncio.Queue(maxsize=max_fetches)

    async def put(self, messages: list[Any]) -> None:
        """Hand over one fetch's messages (Faust ``ConsumerMessage`` objects)."""
        if messages:
            await self._fetches.put(messages)

    async def __aiter__(self) -> AsyncIterator[Any]:
        while True:
            for message in await self._fetches.get():
                yield message
