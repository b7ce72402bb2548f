"""A batch that keeps failing is reported as a stall of its partitions, once, until it succeeds."""

import logging

import pytest

from stream import stalls
from stream.retry import retry_until_done


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_a_retry_past_the_limit_stalls_its_partitions_until_it_succeeds(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    watch = stalls.StallWatch(stall_after=30.0, clock=clock)
    seen: list[list[tuple[tuple[int, ...], float]]] = []
    attempts = 0

    async def flaky() -> str:
        nonlocal attempts
        attempts += 1
        seen.append([(stall.partitions, seconds) for stall, seconds in watch.stalled()])
        clock.now += 20.0
        if attempts < 4:
            raise ConnectionError("store is down")
        return "stored"

    with caplog.at_level(logging.WARNING), stalls.watching(watch, (3, 7)):
        assert await retry_until_done(flaky, "insert of 5 rows", max_backoff=0.01) == "stored"
    # failing since t=20: not stalled at 20 (0 s) or 40 (20 s), stalled at 60 (40 s)
    assert seen == [[], [], [], [((3, 7), 40.0)]]
    assert watch.stalled() == []
    warnings = [r.getMessage() for r in caplog.records if "stalled" in r.getMessage()]
    assert len(warnings) == 1 and "partitions 3, 7" in warnings[0] and "store is down" in warnings[0]


async def test_a_permanent_error_is_raised_at_once() -> None:
    attempts = 0

    async def refused() -> None:
        nonlocal attempts
        attempts += 1
        raise ValueError("Code: 469. Constraint violated")

    with pytest.raises(ValueError):
        await retry_until_done(refused, "insert", permanent=lambda exc: isinstance(exc, ValueError))
    assert attempts == 1
