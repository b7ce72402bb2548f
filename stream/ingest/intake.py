"""Taking the raw topic's messages in batches, while the previous batch is worked on.

Faust's ``take_events`` stops reading while its caller works on a batch, then waits up to
``within`` for the next one from the moment the caller asks, even when the broker holds a
backlog: under steady load a worker spent that wait idle, and every event waited for it on
top of its own batch (breaches came 1.2-1.6 s late at 20,000 events/s in envelopes, with
the worker 40% idle). Here a task keeps reading into a bounded queue meanwhile, and a
batch closes ``within`` after its *first message arrived*, at ``max_messages``, or at
``max_bytes`` of messages: under load the next batch is ready when the last one is done,
and a quiet stream still waits at most ``within`` for company.

A batch being gathered *prepares* the messages it has taken (the agent prices them: pure
work, no state) while it waits for the rest, so the wait for company is not spent idle,
yielding to the event loop after every ``yield_bytes`` of messages prepared. The reading
task only reads: preparing ahead of the batch in hand, while it is stored, was measured
to slow that batch's store more than it gained.

The messages are not acknowledged here (they come from the raw topic's feed,
:mod:`stream.broker.feed`): the caller acks each once its batch is stored and published,
so committed offsets never pass an event that is not stored. The queue holds at most
``max_messages`` messages and about ``max_bytes`` of them, so what is read ahead is
bounded like a batch.
"""

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")

MIN_MESSAGE_BYTES = 1024
"""What a message counts for in ``yield_bytes`` however small it is: preparing one has a
cost of its own, whatever its size."""


def no_size(event: Any) -> int:
    """Of no size: batches bounded by messages only."""
    return 0


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
    source: AsyncIterable[Any], max_messages: int, within: float, prepare: Callable[[Any], T],
    size_of: Callable[[Any], int] = no_size, max_bytes: int | None = None, yield_bytes: int = 256 * 1024,
    times: IntakeTimes | None = None,
) -> AsyncIterator[list[T]]:
    """Lists of what ``prepare`` made of the messages of ``source`` (not acknowledged),
    read ahead by a task; a batch holds at most ``max_messages`` events and
    about ``max_bytes`` of them (by ``size_of``).

    A batch being gathered prepares the events it has taken, then sleeps until it can be
    full, its time is up, or the stream ends: the reading task wakes it once, when the
    queue holds what it lacks, not for every message (under steady load that wake-up cost
    more than some messages' work)."""
    loop = asyncio.get_running_loop()
    limit = max_bytes if max_bytes is not None else float("inf")
    queue: asyncio.Queue[tuple[float, Any, int]] = asyncio.Queue(maxsize=max_messages)
    times = times if times is not None else IntakeTimes()
    wake, room = asyncio.Event(), asyncio.Event()
    queued_bytes = 0
    wanted, wanted_bytes = 1, 1.0  # what the batch being gathered lacks

    async def read() -> None:
        nonlocal queued_bytes
        async for event in source:
            while queued_bytes >= limit:  # read no further ahead than a batch
                room.clear()
                await room.wait()
            if times.first_read_at is None:
                times.first_read_at = time.time()
            size = size_of(event)
            await queue.put((loop.time(), event, size))
            queued_bytes += size
            if queue.qsize() >= wanted or queued_bytes >= wanted_bytes:
                wake.set()

    def take() -> tuple[float, Any, int]:
        nonlocal queued_bytes
        taken = queue.get_nowait()
        queued_bytes -= taken[2]
        room.set()
        return taken

    async def prepare_some(pending: deque[tuple[Any, int]], batch: list[T]) -> None:
        """Prepare events of ``pending`` into ``batch``, some ``yield_bytes`` of them
        (at least one), then let the event loop run."""
        done = 0
        while pending and done < yield_bytes:
            event, size = pending.popleft()
            batch.append(prepare(event))
            done += max(size, MIN_MESSAGE_BYTES)
        await asyncio.sleep(0)

    reading = asyncio.create_task(read(), name="costream.intake")
    try:
        while True:
            wanted, wanted_bytes = 1, 1.0
            while queue.empty():
                wake.clear()
                await _wait(wake, reading, None)
                if queue.empty() and reading.done():
                    reading.result()  # raises what stopped it
                    return
            arrived, event, size = take()
            batch: list[T] = []
            pending = deque([(event, size)])
            taken, taken_bytes = 1, size
            deadline = arrived + within
            while True:
                while not queue.empty() and taken < max_messages and taken_bytes < limit:
                    _, event, size = take()
                    pending.append((event, size))
                    taken, taken_bytes = taken + 1, taken_bytes + size
                closed = taken >= max_messages or taken_bytes >= limit or loop.time() >= deadline or reading.done()
                if closed:
                    break
                if pending:  # the wait for company is spent preparing what came
                    await prepare_some(pending, batch)
                    continue
                wanted, wanted_bytes = max_messages - taken, limit - taken_bytes
                wake.clear()
                await _wait(wake, reading, deadline - loop.time())
            while pending:
                await prepare_some(pending, batch)
            yield batch
    finally:
        reading.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reading
