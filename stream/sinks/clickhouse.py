"""Writing priced events and dead letters to ClickHouse, batched, retried until stored.

The caller (the ingest agent) only lets Kafka offsets advance after :meth:`store`
returns, so a row is in ClickHouse before the message that produced it is committed.
While ClickHouse is down, :meth:`store` keeps retrying with exponential backoff: the
agent stops taking messages (backpressure) and nothing past the unstored rows commits.
"""

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from schemas import DeadLetter
from stream.ingest.records import PricedRecord
from stream.reason import first_line
from stream.retry import retry_until_done
from stream.store.client import ClickHouseStore, Rows
from stream.store.errors import is_permanent
from stream.store.rows import EVENT_INSERT_COLUMNS, event_insert_row

log = logging.getLogger(__name__)

BULK_INSERT_SETTINGS: dict[str, Any] = {"optimize_on_insert": 0, "min_chunk_bytes_for_parallel_parsing": 1 << 20}
"""Settings of the high-volume inserts (events, their ids). Their rows are unique by key
(a batch is deduplicated before it is stored), so the merge a ReplacingMergeTree does at
insert finds nothing to collapse: FINAL and background merges keep doing that across
inserts. JSON is parsed in parallel in chunks of 1 MB instead of 10: a batch of 60,000
events is some 20 MB, which would otherwise parse on one or two threads. Measured on
60,000 events in chDB on 2 cores: 262 ms instead of 504 (best of 4)."""

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


@dataclass(frozen=True, slots=True)
class Refused:
    """An event the store will not take, and the store's reason."""

    record: PricedRecord
    reason: str


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
        self, table: str, rows: Rows, columns: Sequence[str], count: int | None = None, as_json: bool = False,
        refusable: bool = False,
    ) -> None:
        """``as_json``: write the rows with :meth:`ClickHouseStore.insert_json` and
        :data:`BULK_INSERT_SETTINGS` (the high-volume tables, whose rows are unique by key
        within an insert), else with the driver's Native encoding. ``refusable``: an
        error about the rows themselves (:func:`stream.store.errors.is_permanent`) is
        raised instead of retried."""

        async def insert() -> None:
            if self.fault is not None:
                await self.fault(table)
            started = time.perf_counter()
            if as_json:
                await self.store.insert_json(table, rows if callable(rows) else lambda: rows, columns,
                                             BULK_INSERT_SETTINGS)  # fmt: skip
            else:
                await self.store.insert(table, rows, columns)
            if len(self.insert_seconds) < 10_000:  # bounded if nobody scrapes
                self.insert_seconds.append(time.perf_counter() - started)

        def count_failure(_: Exception) -> None:
            self.failed_attempts += 1

        if count is None:
            count = len(rows) if not callable(rows) else 0
        await retry_until_done(insert, f"insert of {count} rows into {table}", self.max_backoff, count_failure,
                               is_permanent if refusable else None)  # fmt: skip

    async def store_batch(self, priced: list[PricedRecord], dead: Sequence[DeadLetter]) -> list[Refused]:
        """Store the events and dead letters; returns the events the store refuses (see
        :mod:`stream.store.errors`), each with the store's reason. The rest is stored."""
        refused = await self.store_events(priced) if priced else []
        if dead:
            await self.store_dead_letters(dead)
        return refused

    async def store_events(self, records: list[PricedRecord]) -> list[Refused]:
        """Bisects a batch the store refuses down to the rows it refuses: a few bad rows
        in n cost some 2 log2(n) inserts each."""
        rows = partial(map, event_insert_row, records)
        try:
            await self.insert_until_stored("usage_events", rows, EVENT_INSERT_COLUMNS, len(records), as_json=True,
                                           refusable=True)  # fmt: skip
        except Exception as exc:
            if not is_permanent(exc):
                raise
            if len(records) == 1:
                log.warning("the store refused event %s of tenant %s: %s", records[0].event.event_id,
                            records[0].event.tenant_id, first_line(exc))  # fmt: skip
                return [Refused(records[0], first_line(exc, 1000))]
            middle = len(records) // 2
            return await self.store_events(records[:middle]) + await self.store_events(records[middle:])
        return []

    async def store_dead_letters(self, dead: Sequence[DeadLetter]) -> None:
        rows = [dead_letter_row(d) for d in dead]
        try:
            await self.insert_until_stored("dead_letters", rows, DEAD_LETTER_COLUMNS, refusable=True)
        except Exception as exc:
            if not is_permanent(exc):
                raise
            # They are on the dead-letter topic all the same; a table that refuses them is
            # the operator's to fix, and stalling the partition over it would lose nothing less.
            log.error("the store refused %d dead letters (they are on the dead-letter topic): %s", len(rows),
                      first_line(exc))  # fmt: skip

    def drain_timings(self) -> list[float]:
        timings, self.insert_seconds = self.insert_seconds, []
        return timings
