"""Batching the raw topic while the previous batch is worked on (stream/ingest/intake.py).

The source here is a queue of values standing in for the raw topic's feed (the real one
is exercised by every end-to-end test and fault drill); what is checked is which
messages each batch holds, never how long anything took."""

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from stream.ingest.intake import IntakeTimes, batches


def identity(event: object) -> object:
    return event


class Source:
    def __init__(self) -> None:
        self.queue: asyncio.Queue[Any] = asyncio.Queue()

    async def __aiter__(self) -> AsyncIterator[Any]:
        while True:
            item = await self.queue.get()
            if isinstance(item, BaseException):
                raise item
            if item is None:
                return
            yield item


def feed(source: Source, *items: Any) -> None:
    for item in items:
        source.queue.put_nowait(item)


async def test_a_batch_holds_what_arrived_within_the_wait_of_its_first_message() -> None:
    source, times = Source(), IntakeTimes()
    feed(source, 1, 2, 3)
    taken = batches(source, max_messages=100, within=0.05, prepare=identity, times=times)
    assert await anext(taken) == [1, 2, 3]
    assert times.first_read_at is not None
    feed(source, 4)
    assert await anext(taken) == [4]
    await taken.aclose()


async def test_a_full_batch_closes_at_once_and_the_rest_waits_for_the_next() -> None:
    source = Source()
    feed(source, *range(7))
    taken = batches(source, max_messages=3, within=60.0, prepare=identity)
    assert await anext(taken) == [0, 1, 2]
    assert await anext(taken) == [3, 4, 5]
    await taken.aclose()


async def test_messages_read_while_a_batch_is_worked_on_make_the_next_batch() -> None:
    source = Source()
    feed(source, "a")
    taken = batches(source, max_messages=1000, within=0.02, prepare=identity)
    assert await anext(taken) == ["a"]
    # the caller works on its batch; the stream goes on being read meanwhile
    feed(source, "b", "c", "d")
    await asyncio.sleep(0.05)
    assert await anext(taken) == ["b", "c", "d"]
    await taken.aclose()


async def test_an_error_of_the_stream_reaches_the_caller_and_an_end_ends_the_batches() -> None:
    source = Source()
    feed(source, 1, RuntimeError("broker gone"))
    taken = batches(source, max_messages=10, within=0.05, prepare=identity)
    with pytest.raises(RuntimeError, match="broker gone"):
        while True:
            await anext(taken)
    ended = Source()
    feed(ended, 1, 2, None)
    assert [batch async for batch in batches(ended, max_messages=10, within=0.05, prepare=identity)] == [[1, 2]]


async def test_a_batch_closes_at_its_byte_bound_and_its_messages_are_prepared_before_it_is_handed_over() -> None:
    source = Source()
    feed(source, "aaaa", "bb", "cccc", "d")
    taken = batches(source, max_messages=100, within=60.0, prepare=str.upper, size_of=len, max_bytes=5)
    # 4 + 2 bytes reach the bound: the batch closes without waiting out its minute
    assert await asyncio.wait_for(anext(taken), 5) == ["AAAA", "BB"]
    assert await asyncio.wait_for(anext(taken), 5) == ["CCCC", "D"]
    await taken.aclose()


async def test_what_came_is_prepared_while_the_batch_waits_for_more() -> None:
    source = Source()
    prepared: list[str] = []

    def prepare(value: str) -> str:
        prepared.append(value)
        return value

    feed(source, "a", "b")
    taken = batches(source, max_messages=100, within=0.5, prepare=prepare, yield_bytes=1)
    gathering = asyncio.ensure_future(anext(taken))
    await asyncio.sleep(0.1)
    assert prepared == ["a", "b"] and not gathering.done()  # prepared, and the batch still open
    feed(source, "c")
    assert await asyncio.wait_for(gathering, 5) == ["a", "b", "c"]
    await taken.aclose()


async def test_no_more_than_a_batch_of_bytes_is_read_ahead() -> None:
    source = Source()
    sizes: list[str] = []

    def size_of(value: str) -> int:
        sizes.append(value)
        return len(value)

    feed(source, *("xx" for _ in range(10)))
    taken = batches(source, max_messages=100, within=60.0, prepare=identity, size_of=size_of, max_bytes=4)
    assert await asyncio.wait_for(anext(taken), 5) == ["xx", "xx"]
    await asyncio.sleep(0.05)
    # one batch taken, one batch's worth queued behind it: the rest is left unread
    assert len(sizes) == 4
    assert await asyncio.wait_for(anext(taken), 5) == ["xx", "xx"]
    await taken.aclose()
