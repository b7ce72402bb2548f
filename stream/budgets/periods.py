"""Calendar periods in a budget's timezone (pure)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from schemas.budgets import Period
from schemas.money import MONEY_CONTEXT


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


PROJECTION_QUANTUM = Decimal("0.000001")


def linear_projection(spend: Decimal, start: datetime, end: datetime, at: datetime) -> Decimal | None:
    """Spend at the end of [start, end) if it goes on at the rate seen from start to ``at``
    (exact, rounded to a millionth of a dollar); None before any time has elapsed."""
    length = Decimal((end - start).total_seconds())
    elapsed = Decimal((min(at, end) - start).total_seconds())
    if elapsed <= 0:
        return None
    return MONEY_CONTEXT.divide(MONEY_CONTEXT.multiply(spend, length), elapsed).quantize(PROJECTION_QUANTUM)
