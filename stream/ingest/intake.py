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


async def _wait(wake: asyncio.Event, reading: "asyncio.Task[None]", timeout: float | None) -> None:
    """Until ``wake`` is set, the reading task stops, or ``timeout`` passes."""
    if reading.done():
        return
    waking = asyncio.ensure_future(wake.wait())
    try:
        await asyncio.wait({waking, reading}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waking.cancel()


async def batches(
    stream: faust.StreamT[Any], max_messages: int, within: float, times: IntakeTimes | None = None
) -> AsyncIterator[list[Any]]:
    """Lists of Faust events from ``stream`` (a manual-ack stream), read ahead by a task.

    A batch being gathered sleeps until it can be full, its time is up, or the stream
    ends: the reading task wakes it once, when the queue holds what it lacks, not for
    every message (under steady load that wake-up cost more than some messages' work)."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[float, Any]] = asyncio.Queue(maxsize=max_messages)
    times = times if times is not None else IntakeTimes()
    wake = asyncio.Event()
    wanted = 1  # messages the batch being gathered lacks

    async def read() -> None:
        async for event in stream.events():
            if times.first_read_at is None:
                times.first_read_at = time.time()
            await queue.put((loop.time(), event))
            if queue.qsize() >= wanted:
                wake.set()

    reading = asyncio.create_task(read(), name="costream.intake")
    try:
        while True:
            wanted = 1
            while queue.empty():
                wake.clear()
                await _wait(wake, reading, None)
                if queue.empty() and reading.done():
                    reading.result()  # raises what stopped it
                    return
            arrived, event = queue.get_nowait()
            batch = [event]
            deadline = arrived + within
            while len(batch) < max_messages:
                while not queue.empty() and len(batch) < max_messages:
                    batch.append(queue.get_nowait()[1])
                remaining = deadline - loop.time()
                if len(batch) >= max_messages or remaining <= 0 or reading.done():
                    break
                wanted = max_messages - len(batch)
                wake.clear()
                await _wait(wake, reading, remaining)
            yield batch
    finally:
        reading.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reading
