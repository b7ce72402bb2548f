"""Taking the raw topic's messages in batches, while the previous batch is worked on.

Faust's ``take_events`` stops reading while its caller works on a batch, then waits up to
``within`` for the next one from the moment the caller asks, even when the broker holds a
backlog: under steady load a worker spent that wait idle, and every event waited for it on
top of its own batch (breaches came 1.2-1.6 s late at 20,000 events/s in envelopes, with
the worker 40% idle). Here a task keeps reading into a bounded queue meanwhile, and a
batch closes ``within`` after its *first message arrived*, or at ``max_messages``: under
load the next batch is ready when the last one is done, and a quiet stream still waits at
most ``within`` for company.

The messages are not acknowledged here (the stream is Faust's manual-ack stream): the
caller acks each once its batch is stored and published, so committed offsets never pass
an event that is not stored. The queue holds at most ``max_messages`` messages, so what is
read ahead is bounded like a batch.
"""

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import faust


@dataclass(slots=True)
class IntakeTimes:
    first_read_at: float | None = None
    """Wall-clock time (Unix seconds) the worker read its first message, for throughput
    figures timed like a bare consumer's: from the first message to the last event."""


class _Ended(Exception):
    """The stream ended (the worker is stopping)."""


async def _next(
    queue: "asyncio.Queue[tuple[float, Any]]", reading: "asyncio.Task[None]", timeout: float | None
) -> tuple[float, Any] | None:
    """The next queued message; None when ``timeout`` passes first. Raises what stopped the
    reading task, if it stopped."""
    getting = asyncio.ensure_future(queue.get())
    try:
        await asyncio.wait({getting, reading}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        if not getting.done():
            getting.cancel()
    if getting.done() and not getting.cancelled():
        return getting.result()
    if reading.done():
        reading.result()  # raises what stopped it
        raise _Ended
    return None


async def batches(
    stream: faust.StreamT[Any], max_messages: int, within: float, times: IntakeTimes | None = None
) -> AsyncIterator[list[Any]]:
    """Lists of Faust events from ``stream`` (a manual-ack stream), read ahead by a task."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[float, Any]] = asyncio.Queue(maxsize=max_messages)
    times = times if times is not None else IntakeTimes()

    async def read() -> None:
        async for event in stream.events():
            if times.first_read_at is None:
                times.first_read_at = time.time()
            await queue.put((loop.time(), event))

    reading = asyncio.create_task(read(), name="costream.intake")
    try:
        while True:
            try:
                first = await _next(queue, reading, None)
            except _Ended:
                return
            assert first is not None  # no timeout: only the stream ending stops the wait
            arrived, event = first
            batch = [event]
            deadline = arrived + within
            while len(batch) < max_messages:
                if not queue.empty():
                    batch.append(queue.get_nowait()[1])
                    continue
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                try:
                    item = await _next(queue, reading, remaining)
                except _Ended:
                    break
                if item is None:
                    break
                batch.append(item[1])
            yield batch
    finally:
        reading.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reading
