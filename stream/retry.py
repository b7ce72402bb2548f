"""Retrying an effect until it succeeds, with capped exponential backoff and jitter.

Used where giving up would lose data or break a guarantee (storing rows, checking
budgets): while it retries, the agent takes no new messages (backpressure) and no
offset past the failed batch is committed. An error ``permanent`` says will recur is
raised at once (the caller isolates what causes it); a retry that goes on past the
stall watch's limit is reported (:mod:`stream.stalls`).
"""

import asyncio
import itertools
import logging
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

from stream import stalls

log = logging.getLogger(__name__)

T = TypeVar("T")
_retries = itertools.count()


async def retry_until_done(
    effect: Callable[[], Awaitable[T]],
    what: str,
    max_backoff: float = 30.0,
    on_failure: Callable[[Exception], None] | None = None,
    permanent: Callable[[Exception], bool] | None = None,
) -> T:
    backoff = 0.1
    watched = stalls.current()
    token = next(_retries)
    while True:
        try:
            result = await effect()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if on_failure is not None:
                on_failure(exc)
            if permanent is not None and permanent(exc):
                if watched is not None:
                    watched[0].cleared(token)
                raise
            if watched is not None:
                watched[0].failing(token, watched[1], what, exc)
            log.warning("%s failed (%s: %s); retrying in %.1fs", what, type(exc).__name__, exc, backoff)
            await asyncio.sleep(backoff * (0.5 + random.random() / 2))
            backoff = min(backoff * 2, max_backoff)
        else:
            if watched is not None:
                watched[0].cleared(token)
            return result
