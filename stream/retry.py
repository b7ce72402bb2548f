"""Retrying an effect until it succeeds, with capped exponential backoff and jitter.

Used where giving up would lose data or break a guarantee (storing rows, checking
budgets): while it retries, the agent takes no new messages (backpressure) and no
offset past the failed batch is committed.
"""

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


async def retry_until_done(
    effect: Callable[[], Awaitable[T]],
    what: str,
    max_backoff: float = 30.0,
    on_failure: Callable[[Exception], None] | None = None,
) -> T:
    backoff = 0.1
    while True:
        try:
            return await effect()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if on_failure is not None:
                on_failure(exc)
            log.warning("%s failed (%s: %s); retrying in %.1fs", what, type(exc).__name__, exc, backoff)
            await asyncio.sleep(backoff * (0.5 + random.random() / 2))
            backoff = min(backoff * 2, max_backoff)
