"""The raw topic's feed (stream/broker/feed.py): fetches handed over in bulk come out
one message at a time in fetch order, and a full feed holds the consumer back."""

import asyncio

from stream.broker.feed import RecordFeed


async def test_messages_come_out_in_the_order_of_their_fetches() -> None:
    feed = RecordFeed("raw", max_fetches=3)
    await feed.put([1, 2])
    await feed.put([])  # an empty fetch takes no place
    await feed.put([3])
    taken = aiter(feed)
    assert [await anext(taken) for _ in range(3)] == [1, 2, 3]


async def test_a_full_feed_holds_the_next_fetch_until_a_fetch_is_taken() -> None:
    feed = RecordFeed("raw", max_fetches=1)
    await feed.put(["a"])
    waiting = asyncio.ensure_future(feed.put(["b"]))
    await asyncio.sleep(0.01)
    assert not waiting.done()
    taken = aiter(feed)
    assert await anext(taken) == "a"
    assert await anext(taken) == "b"
    await waiting
