"""Calendar periods in a budget's timezone (pure)."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from schemas.budgets import Period


def period_bounds(at: datetime, period: Period, timezone: str) -> tuple[datetime, datetime]:
    """[start, end) of the calendar period holding ``at``, as UTC datetimes.

    Days start at local midnight, weeks on Monday, months on the 1st, in the budget's
    zone; a DST change makes that day 23 or 25 hours long, as the calendar says.
    """
    zone = ZoneInfo(timezone)
    local = at.astimezone(zone)
    day = local.date()
    if period is Period.DAY:
        first, following = day, day + timedelta(days=1)
    elif period is Period.WEEK:
        first = day - timedelta(days=day.weekday())
        following = first + timedelta(days=7)
    else:
        first = day.replace(day=1)
        following = (first + timedelta(days=32)).replace(day=1)
    start = datetime(first.year, first.month, first.day, tzinfo=zone)
    end = datetime(following.year, following.month, following.day, tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)
