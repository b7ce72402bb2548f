"""Bounding the work done per turn of the event loop.

A batch can hold hundreds of thousands of events; Faust's heartbeats, offset commits and
the HTTP API run on the same loop. Every per-event loop of the worker takes its items in
runs of this many and yields between runs, so no batch holds the loop for more than a
few tens of milliseconds.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import TypeVar

EVENTS_PER_TURN = 2_000

T = TypeVar("T")


async def in_turns(items: Sequence[T]) -> AsyncIterator[tuple[int, Sequence[T]]]:
    """``items`` in runs of at most :data:`EVENTS_PER_TURN`, each with the index of its
    first item, yielding to the event loop between runs (an await per item would cost
    more than some of the per-event work it bounds)."""
    for start in range(0, len(items), EVENTS_PER_TURN):
        if start:
            await asyncio.sleep(0)
        yield start, items[start : start + EVENTS_PER_TURN]


class SpareTurns:
    """When the work that comes first on the loop is only waiting (on the store or on
    Kafka), so that work which can wait fills those turns instead of lengthening it.

    The worker stores and applies one part of a batch while it prices the next: pricing
    slices interleaved with every step of the part being stored would stretch that part's
    path (each of its steps waits behind a slice), so pricing takes a turn only while the
    stored part is waiting, or when no part is being stored."""

    def __init__(self) -> None:
        self._spare = asyncio.Event()
        self._spare.set()
        self._busy = self._waiting = 0

    def _update(self) -> None:
        if self._waiting >= self._busy:
            self._spare.set()
        else:
            self._spare.clear()

    @contextlib.contextmanager
    def busy(self) -> Iterator[None]:
        """Around work that comes first: the loop has no spare turns while any is running..."""
        self._busy += 1
        self._update()
        try:
            yield
        finally:
            self._busy -= 1
            self._update()

    @contextlib.contextmanager
    def waiting(self) -> Iterator[None]:
        """...except while each of them waits on something outside the loop."""
        self._waiting += 1
        self._update()
        try:
            yield
        finally:
            self._waiting -= 1
            self._update()

    async def take(self) -> None:
        """Yield to the loop, and return at a spare turn."""
        await asyncio.sleep(0)
        await self._spare.wait()
