"""The worker's pure core per event: decode, validate, canonicalise, price and encode
for the priced topic, exactly the calls the ingest agent makes, without the I/O.

``python -m bench.core`` prints the figures; ``make bench`` includes them.
"""

import random
import time
from collections.abc import Callable
from datetime import UTC, datetime

import orjson

from stream.demo.events import demo_events
from stream.ingest.decode import SourceMessage
from stream.ingest.encode import encode_dead_letter, encode_priced_event
from stream.ingest.pipeline import process_messages
from stream.pricing import PriceBook

EVENTS = 2000


def best_seconds(work: Callable[[], object], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - started)
    return best


def messages(size: int, seed: int = 7) -> list[SourceMessage]:
    """``EVENTS`` demo events (every provider shape, a few broken) as messages of ``size``."""
    stream = demo_events(random.Random(seed))
    if size == 1:
        return [SourceMessage(orjson.dumps(next(stream)), None, "raw", 0, n) for n in range(EVENTS)]
    return [
        SourceMessage(orjson.dumps({"events": [next(stream) for _ in range(size)]}), None, "raw", 0, n)
        for n in range(EVENTS // size)
    ]


def run(sizes: tuple[int, ...] = (1, 10, 100), repeats: int = 5) -> dict[str, float]:
    book = PriceBook.load()
    figures: dict[str, float] = {}
    for size in sizes:
        batch = messages(size)
        at = datetime.now(UTC)

        def core(batch: list[SourceMessage] = batch, at: datetime = at) -> object:
            result = process_messages(batch, book, at)
            # The producer copies each value into its record batch as it is sent, so the
            # encoded bytes live only that long; so they do here.
            sent = bytearray()
            for record in result.priced:
                sent += encode_priced_event(record.event)
            for letter in result.dead:
                sent += encode_dead_letter(letter)
            return sent

        def decode_price(batch: list[SourceMessage] = batch, at: datetime = at) -> object:
            return process_messages(batch, book, at)

        core()  # warm the price book's caches, as a running worker has
        figures[f"pipeline_us_per_event_batch_{size}"] = best_seconds(core, repeats) / EVENTS * 1e6
        figures[f"pipeline_events_per_s_batch_{size}"] = 1e6 / figures[f"pipeline_us_per_event_batch_{size}"]
        figures[f"pipeline_no_encode_us_per_event_batch_{size}"] = best_seconds(decode_price, repeats) / EVENTS * 1e6
    return figures


def main() -> None:
    for key, value in run().items():
        print(f"{key:45} {value:12,.2f}")


if __name__ == "__main__":
    main()
