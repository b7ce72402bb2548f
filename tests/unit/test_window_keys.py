from datetime import UTC, datetime, timedelta, timezone

import pytest

from stream.windows.keys import group_key, window_end, window_id, window_start


@pytest.mark.parametrize(
    ("occurred", "size", "expected"),
    [
        # last microsecond of a minute stays in it; the next instant opens the next one
        (datetime(2026, 3, 1, 10, 0, 59, 999999, tzinfo=UTC), 60, datetime(2026, 3, 1, 10, 0, tzinfo=UTC)),
        (datetime(2026, 3, 1, 10, 1, 0, tzinfo=UTC), 60, datetime(2026, 3, 1, 10, 1, tzinfo=UTC)),
        # hour edge with 5-minute windows
        (datetime(2026, 3, 1, 10, 59, 59, 999999, tzinfo=UTC), 300, datetime(2026, 3, 1, 10, 55, tzinfo=UTC)),
        (datetime(2026, 3, 1, 11, 0, 0, tzinfo=UTC), 300, datetime(2026, 3, 1, 11, 0, tzinfo=UTC)),
        # UTC day edge with 1-hour windows, including across a month and a leap day
        (datetime(2028, 2, 28, 23, 59, 59, 999999, tzinfo=UTC), 3600, datetime(2028, 2, 28, 23, 0, tzinfo=UTC)),
        (datetime(2028, 2, 29, 0, 0, 0, tzinfo=UTC), 3600, datetime(2028, 2, 29, 0, 0, tzinfo=UTC)),
        (datetime(2026, 12, 31, 23, 30, tzinfo=UTC), 3600, datetime(2026, 12, 31, 23, 0, tzinfo=UTC)),
        # an event stamped in another zone lands in the UTC window of the same instant
        (datetime(2026, 3, 1, 1, 30, tzinfo=timezone(timedelta(hours=2))), 3600,
         datetime(2026, 2, 28, 23, 0, tzinfo=UTC)),
    ],
)
def test_window_boundaries(occurred: datetime, size: int, expected: datetime) -> None:
    start = window_start(occurred, size)
    assert start == expected
    assert start <= occurred < window_end(start, size)


def test_identities_are_deterministic_and_distinct() -> None:
    start = datetime(2026, 3, 1, 10, tzinfo=UTC)
    assert window_id("t", start, 60) == window_id("t", start.astimezone(timezone(timedelta(hours=5))), 60)
    assert window_id("t", start, 60) != window_id("t", start, 300)
    assert window_id("t", start, 60) != window_id("u", start, 60)
    assert group_key("openai", "gpt-4o", {"feature": "a", "agent": "b"}) == group_key(
        "openai", "gpt-4o", {"agent": "b", "feature": "a"}
    )
    assert group_key("openai", "gpt-4o", {"feature": "a"}) != group_key("openai", "gpt-4o", {"feature": "b"})
