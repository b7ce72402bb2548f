"""Bounding the work done per turn of the event loop.

A batch can hold hundreds of thousands of events; Faust's heartbeats, offset commits and
the HTTP API run on the same loop. Every per-event loop of the worker takes its items in
runs of this many and yields between runs, so no batch holds the loop for more than a
few tens of milliseconds.
"""

import asyncio
from collections.abc import AsyncIterator, Sequence
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
