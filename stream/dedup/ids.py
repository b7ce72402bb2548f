"""Splitting a batch into first deliveries and repeats, against the ``event_ids`` table.

The lookup is a primary-key point lookup of the batch's (tenant_id, event_id) pairs in a
table ordered by exactly that key, so its cost follows the batch, not the events stored.
Within a batch the earliest message wins. A repeat with other content is recorded in
``duplicate_events`` with the names of the fields that differ; it is never merged.

A repeat of a stored event is compared with the stored first delivery, read from
``usage_events`` by that table's own key (one query for all of a batch's repeats). The
work is paid per repeat: a first delivery, nearly every event of a steady stream, costs
one dictionary lookup and nothing else (a content hash of every event, kept for the day
it is redelivered, cost a third of the hot path's time).

``event_ids`` is written after ``usage_events``: a worker killed between the two inserts
finds the ids missing on redelivery and stores the same rows again, which the events
table's own key collapses; the reverse order could mark an event seen that was never
stored (and leave a repeat nothing to be compared with).
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from stream.dedup.content import COMPARED_COLUMNS, compared_values, differing_fields
from stream.ingest.records import PricedRecord
from stream.retry import retry_until_done
from stream.sinks.clickhouse import ClickHouseSink
from stream.store.client import INLINE_QUERY_SETTINGS, as_utc, inline_table
from stream.store.rows import fields_of
from stream.turns import in_turns

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# keys per lookup query: at most some 26 MB of query text (ids are up to 256 characters)
LOOKUP_CHUNK = 50_000
ID_COLUMNS = ("tenant_id", "event_id", "occurred_at", "kafka_partition", "kafka_offset", "ingested_at")
_id_fields = fields_of(ID_COLUMNS)
DUPLICATE_COLUMNS = (
    "tenant_id", "event_id", "differing", "first_occurred_at", "occurred_at", "kafka_partition", "kafka_offset",
    "seen_at",
)  # fmt: skip

Key = tuple[str, str]
"""(tenant_id, event_id)"""


@dataclass(frozen=True, slots=True)
class Conflict:
    """A later delivery of a counted event_id whose content differs from the first."""

    record: PricedRecord
    differing: list[str]
    first_occurred_at: datetime


@dataclass(slots=True)
class DedupResult:
    new: list[PricedRecord] = field(default_factory=list)
    repeated: int = 0
    """Redeliveries with the same content (a retried send, a replay after a crash)."""
    conflicts: list[Conflict] = field(default_factory=list)

    def drop(self, records: set[int]) -> None:
        """Forget new events (by ``id`` of their record) that were not stored after all."""
        self.new = [r for r in self.new if id(r) not in records]

    def compare(self, first: Sequence[Any], record: PricedRecord, first_at: datetime) -> None:
        """Count ``record``, a later delivery of the event whose first delivery had the
        ``first`` compared values, as a repeat or a conflict."""
        differing = differing_fields(first, compared_values(record))
        if differing:
            self.conflicts.append(Conflict(record, differing, first_at))
        else:
            self.repeated += 1


@dataclass
class EventIds:
    sink: ClickHouseSink
    repeated_total: int = 0
    conflicts_total: int = 0

    async def split(self, records: Sequence[PricedRecord]) -> DedupResult:
        result = DedupResult()
        ordered = sorted(records, key=lambda r: (r.source.partition, r.source.offset))
        first_at: dict[Key, int] = {}  # (tenant, id) -> its earliest delivery here
        for index, record in enumerate(ordered):
            first_at.setdefault((record.event.tenant_id, record.event.event_id), index)
        stored = await retry_until_done(partial(self._lookup, list(first_at)), "looking the batch's ids up",
                                        self.sink.max_backoff)  # fmt: skip
        earlier: list[tuple[PricedRecord, int]] = []  # repeats of stored events, with the first's time
        async for start, run in in_turns(ordered):
            for index, record in enumerate(run, start):
                key = (record.event.tenant_id, record.event.event_id)
                first = first_at[key]
                if first != index:  # a repeat within the batch: compared with the earliest
                    earliest = ordered[first]
                    result.compare(compared_values(earliest), record, earliest.event.occurred_at)
                elif (found := stored.get(key)) is None:
                    result.new.append(record)
                else:
                    earlier.append((record, found))
        if earlier:
            keys = [(r.event.tenant_id, r.event.event_id, at) for r, at in earlier]
            firsts = await retry_until_done(partial(self._stored_values, keys), "reading the repeats' first deliveries",
                                            self.sink.max_backoff)  # fmt: skip
            for record, at in earlier:
                first_time = _EPOCH + timedelta(milliseconds=at)
                values = firsts.get((record.event.tenant_id, record.event.event_id))
                if values is None:  # counted, but its row is gone (deleted, or past a TTL)
                    result.conflicts.append(Conflict(record, ["unknown"], first_time))
                else:
                    result.compare(values, record, first_time)
        self.repeated_total += result.repeated
        self.conflicts_total += len(result.conflicts)
        return result

    async def _lookup(self, keys: list[Key]) -> dict[Key, int]:
        """The stored ids among ``keys``, each with its first delivery's time (Unix ms)."""
        found: dict[Key, int] = {}
        for start in range(0, len(keys), LOOKUP_CHUNK):
            chunk = keys[start : start + LOOKUP_CHUNK]
            batch = inline_table("tenant_id String, event_id String", chunk)
            rows = await self.sink.store.query_rows(
                "SELECT tenant_id, event_id, toUnixTimestamp64Milli(min(occurred_at)) "
                f"FROM event_ids WHERE (tenant_id, event_id) IN (SELECT tenant_id, event_id FROM {batch}) "
                "GROUP BY tenant_id, event_id",
                settings=INLINE_QUERY_SETTINGS,
            )
            for tenant, event_id, occurred_ms in rows:
                found[(tenant, event_id)] = int(occurred_ms)
        return found

    async def _stored_values(self, keys: list[tuple[str, str, int]]) -> dict[Key, list[Any]]:
        """The compared values of stored first deliveries, by (tenant_id, event_id, Unix ms
        of occurred_at): primary-key point lookups in ``usage_events``."""
        found: dict[Key, list[Any]] = {}
        for start in range(0, len(keys), LOOKUP_CHUNK):
            batch = inline_table("tenant_id String, event_id String, at Int64", keys[start : start + LOOKUP_CHUNK])
            rows = await self.sink.store.query_consistent(
                f"SELECT tenant_id, event_id, {', '.join(COMPARED_COLUMNS)} FROM usage_events "
                "WHERE (tenant_id, occurred_at, event_id) IN "
                f"(SELECT tenant_id, fromUnixTimestamp64Milli(at, 'UTC'), event_id FROM {batch}) "
                "LIMIT 1 BY tenant_id, event_id",
                settings=INLINE_QUERY_SETTINGS,
            )
            for tenant, event_id, *values in rows.result_rows:
                found[(tenant, event_id)] = [as_utc(v) if isinstance(v, datetime) else v for v in values]
        return found

    async def register(self, result: DedupResult) -> None:
        """After the new events are stored: their ids, and the conflicting deliveries."""
        if result.new:
            id_rows = partial(map, _id_fields, result.new)
            await self.sink.insert_until_stored("event_ids", id_rows, ID_COLUMNS, len(result.new), as_json=True)
        if result.conflicts:
            rows = [
                [c.record.event.tenant_id, c.record.event.event_id, c.differing, c.first_occurred_at,
                 c.record.event.occurred_at, c.record.source.partition, c.record.source.offset,
                 c.record.event.ingested_at]
                for c in result.conflicts
            ]  # fmt: skip
            await self.sink.insert_until_stored("duplicate_events", rows, DUPLICATE_COLUMNS)
