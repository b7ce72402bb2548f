"""Writing priced events and dead letters to ClickHouse, batched, retried until stored.

The caller (the ingest agent) only lets Kafka offsets advance after :meth:`store`
returns, so a row is in ClickHouse before the message that produced it is committed.
While ClickHouse is down, :meth:`store` keeps retrying with exponential backoff: the
agent stops taking messages (backpressure) and nothing past the unstored rows commits.
"""

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from schemas import DeadLetter
from stream.ingest.records import PricedRecord
from stream.retry import retry_until_done
from stream.store.client import ClickHouseStore, Rows
from stream.store.rows import EVENT_INSERT_COLUMNS, event_insert_row

log = logging.getLogger(__name__)

DEAD_LETTER_COLUMNS = (
    "topic", "partition", "offset", "batch_index", "event_id", "tenant_id", "error_type", "error",
    "original_b64", "dead_lettered_at",
)  # fmt: skip


def dead_letter_row(letter: DeadLetter) -> list[Any]:
    return [
        letter.topic, letter.partition, letter.offset,
        -1 if letter.batch_index is None else letter.batch_index,
        letter.event_id, letter.tenant_id, letter.error_type, letter.error, letter.original_b64,
        letter.dead_lettered_at,
    ]  # fmt: skip


InsertFault = Callable[[str], Awaitable[None]]
"""A hook that makes inserts fail on purpose (reliability drills in embedded mode)."""


class InjectedInsertFault(ConnectionError):
    """Raised while the fault file exists, as a store outage would."""


def fault_while_file_exists(path: Path) -> InsertFault:
    async def fault(table: str) -> None:
        if path.exists():
            raise InjectedInsertFault(f"insert into {table} refused: fault file {path} exists")

    return fault


class ClickHouseSink:
    def __init__(
        self,
        store: ClickHouseStore,
        max_backoff: float = 30.0,
        fault: InsertFault | None = None,
    ) -> None:
        self.store = store
        self.max_backoff = max_backoff
        self.fault = fault
        self.failed_attempts = 0
        self.insert_seconds: list[float] = []
        """Durations of successful inserts since the last :meth:`drain_timings` (for metrics)."""

    async def insert_until_stored(
        self, table: str, rows: Rows, columns: Sequence[str], count: int | None = None, as_json: bool = False
    ) -> None:
        """``as_json``: write the rows with :meth:`ClickHouseStore.insert_json` (the
        high-volume tables), else with the driver's Native encoding."""

        async def insert() -> None:
            if self.fault is not None:
                await self.fault(table)
            started = time.perf_counter()
            if as_json:
                await self.store.insert_json(table, rows if callable(rows) else lambda: rows, columns)
            else:
                await self.store.insert(table, rows, columns)
            if len(self.insert_seconds) < 10_000:  # bounded if nobody scrapes
                self.insert_seconds.append(time.perf_counter() - started)

        def count_failure(_: Exception) -> None:
            self.failed_attempts += 1

        if count is None:
            count = len(rows) if not callable(rows) else 0
        await retry_until_done(insert, f"insert of {count} rows into {table}", self.max_backoff, count_failure)

    async def store_batch(self, priced: list[PricedRecord], dead: Sequence[DeadLetter]) -> None:
        if priced:
            rows = partial(map, event_insert_row, priced)
            await self.insert_until_stored("usage_events", rows, EVENT_INSERT_COLUMNS, len(priced), as_json=True)
        if dead:
            await self.insert_until_stored("dead_letters", [dead_letter_row(d) for d in dead], DEAD_LETTER_COLUMNS)

    def drain_timings(self) -> list[float]:
        timings, self.insert_seconds = self.insert_seconds, []
        return timings
