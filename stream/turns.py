"""Bounding the work done per turn of the event loop.

A batch can hold hundreds of thousands of events; Faust's heartbeats, offset commits and
the HTTP API run on the same loop. Every per-event loop of the worker yields after this
many events, so no batch holds the loop for more than a few tens of milliseconds.
"""

import asyncio

EVENTS_PER_TURN = 2_000


async def pass_turn(done: int) -> None:
    """Yield to the event loop every :data:`EVENTS_PER_TURN` items (``done`` counts them)."""
    if done and done % EVENTS_PER_TURN == 0:
        await asyncio.sleep(0)
