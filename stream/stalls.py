"""Partitions whose batch has been failing for a while (a store or broker outage).

While an effect of a batch is retried (see :mod:`stream.retry`), its partitions make no
progress. Past ``stall_after`` seconds the watch logs a WARNING naming the partitions,
what fails and the error, and reports them (``/readyz`` answers 503, a gauge gives the
seconds stalled), until the effect succeeds.
"""

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from stream.reason import first_line

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Stall:
    partitions: tuple[int, ...]
    what: str
    error: str
    since: float
    warned: bool = False


class StallWatch:
    def __init__(self, stall_after: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.stall_after = stall_after
        self.clock = clock
        self._failing: dict[int, Stall] = {}

    def failing(self, token: int, partitions: tuple[int, ...], what: str, exc: BaseException) -> None:
        stall = self._failing.get(token)
        if stall is None:
            stall = self._failing[token] = Stall(partitions, what, first_line(exc), self.clock())
        stall.error = first_line(exc)
        if not stall.warned and self.clock() - stall.since >= self.stall_after:
            stall.warned = True
            log.warning("partition%s %s stalled for %.0f s: %s keeps failing (%s)",
                        "s" if len(partitions) != 1 else "", ", ".join(map(str, partitions)) or "-",
                        self.clock() - stall.since, what, stall.error)  # fmt: skip

    def cleared(self, token: int) -> None:
        stall = self._failing.pop(token, None)
        if stall is not None and stall.warned:
            log.warning("partitions %s moving again after %.0f s (%s)", ", ".join(map(str, stall.partitions)) or "-",
                        self.clock() - stall.since, stall.what)  # fmt: skip

    def stalled(self) -> list[tuple[Stall, float]]:
        """Each stall past ``stall_after``, with its seconds so far."""
        now = self.clock()
        return [(stall, now - stall.since) for stall in self._failing.values() if now - stall.since >= self.stall_after]


_watching: ContextVar[tuple[StallWatch, tuple[int, ...]] | None] = ContextVar("stall_watch", default=None)


@contextmanager
def watching(watch: StallWatch, partitions: tuple[int, ...]) -> Iterator[None]:
    """Effects retried inside this block (and the tasks it starts) stall ``partitions``."""
    token = _watching.set((watch, partitions))
    try:
        yield
    finally:
        _watching.reset(token)


def current() -> tuple[StallWatch, tuple[int, ...]] | None:
    return _watching.get()
