"""Splitting a batch into first deliveries and repeats, against the ``event_ids`` table.

The lookup is a primary-key point lookup of the batch's (tenant_id, event_id) pairs in a
table ordered by exactly that key, so its cost follows the batch, not the events stored.
Within a batch the earliest message wins. A repeat with other content is recorded in
``duplicate_events`` with the names of the fields that differ; it is never merged.

``event_ids`` is written after ``usage_events``: a worker killed between the two inserts
finds the ids missing on redelivery and stores the same rows again, which the events
table's own key collapses; the reverse order could mark an event seen that was never
stored.
"""

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from stream.dedup.fingerprint import COMPARED_COLUMNS, compared_values, differing_fields, fingerprint_of
from stream.ingest.records import PricedRecord
from stream.sinks.clickhouse import ClickHouseSink
from stream.store.client import INLINE_QUERY_SETTINGS, as_utc, inline_table
from stream.store.rows import fields_of
from stream.turns import pass_turn

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# keys per lookup query: at most some 26 MB of query text (ids are up to 256 characters)
LOOKUP_CHUNK = 50_000
_ID_EVENT_COLUMNS = ("tenant_id", "event_id", "occurred_at", "kafka_partition", "kafka_offset", "ingested_at")
ID_COLUMNS = (*_ID_EVENT_COLUMNS, "fingerprint")
_id_fields = fields_of(_ID_EVENT_COLUMNS)
DUPLICATE_COLUMNS = (
    "tenant_id", "event_id", "differing", "first_occurred_at", "occurred_at", "kafka_partition", "kafka_offset",
    "seen_at",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Conflict:
    """A later delivery of a counted event_id whose content differs from the first."""

    record: PricedRecord
    differing: list[str]
    first_occurred_at: datetime


@dataclass(slots=True)
class DedupResult:
    new: list[PricedRecord] = field(default_factory=list)
    new_fingerprints: list[int] = field(default_factory=list)
    repeated: int = 0
    """Redeliveries with the same content (a retried send, a replay after a crash)."""
    conflicts: list[Conflict] = field(default_factory=list)

    def drop(self, records: set[int]) -> None:
        """Forget new events (by ``id`` of their record) that were not stored after all."""
        kept = [(r, p) for r, p in zip(self.new, self.new_fingerprints, strict=True) if id(r) not in records]
        self.new, self.new_fingerprints = [r for r, _ in kept], [p for _, p in kept]


@dataclass
class EventIds:
    sink: ClickHouseSink
    repeated_total: int = 0
    conflicts_total: int = 0

    async def split(self, records: Sequence[PricedRecord]) -> DedupResult:
        result = DedupResult()
        ordered = sorted(records, key=lambda r: (r.source.partition, r.source.offset))
        first_at: dict[tuple[str, str], int] = {}  # (tenant, id) -> its earliest delivery here
        for index, record in enumerate(ordered):
            first_at.setdefault((record.event.tenant_id, record.event.event_id), index)
        # The store answers while the fingerprints are computed (it works off the loop's thread).
        lookup = asyncio.ensure_future(self._lookup(list(first_at)))
        try:
            values: list[tuple[Any, ...]] = []
            prints: list[int] = []
            for done, record in enumerate(ordered):
                await pass_turn(done)
                compared = compared_values(record)
                values.append(compared)
                prints.append(fingerprint_of(compared))
            stored = await lookup
        finally:
            lookup.cancel()  # a no-op once it is done
        for index, record in enumerate(ordered):
            await pass_turn(index)
            key = (record.event.tenant_id, record.event.event_id)
            first = first_at[key]
            if first != index:  # a repeat within the batch: compared with the earliest
                if prints[first] == prints[index] or not (differing := differing_fields(values[first], values[index])):
                    result.repeated += 1
                else:
                    result.conflicts.append(Conflict(record, differing, ordered[first].event.occurred_at))
                continue
            found = stored.get(key)
            if found is None:
                result.new.append(record)
                result.new_fingerprints.append(prints[index])
            elif found[1] == prints[index] or found[1] == 0:  # 0: registered from history, content unknown
                result.repeated += 1
            else:
                differing = await self._differing(record, values[index], found[0])
                if differing:
                    result.conflicts.append(Conflict(record, differing, found[0]))
                else:  # the same content in another form (e.g. read back from the store)
                    result.repeated += 1
        self.repeated_total += result.repeated
        self.conflicts_total += len(result.conflicts)
        return result

    async def _lookup(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], tuple[datetime, int]]:
        found: dict[tuple[str, str], tuple[datetime, int]] = {}
        for start in range(0, len(keys), LOOKUP_CHUNK):
            chunk = keys[start : start + LOOKUP_CHUNK]
            batch = inline_table("tenant_id String, event_id String", chunk)
            rows = await self.sink.store.query_rows(
                "SELECT tenant_id, event_id, toUnixTimestamp64Milli(min(occurred_at)), any(fingerprint) "
                f"FROM event_ids WHERE (tenant_id, event_id) IN (SELECT tenant_id, event_id FROM {batch}) "
                "GROUP BY tenant_id, event_id",
                settings=INLINE_QUERY_SETTINGS,
            )
            for tenant, event_id, occurred_ms, print_ in rows:
                found[(tenant, event_id)] = (_EPOCH + timedelta(milliseconds=int(occurred_ms)), int(print_))
        return found

    async def _differing(self, record: PricedRecord, values: tuple[Any, ...], first_at: datetime) -> list[str]:
        """Compare with the stored first delivery, read by the events table's own key."""
        rows = await self.sink.store.query_consistent(
            f"SELECT {', '.join(COMPARED_COLUMNS)} FROM usage_events WHERE tenant_id = {{tenant:String}} "
            "AND occurred_at = {at:DateTime64(3, 'UTC')} AND event_id = {id:String} LIMIT 1",
            {"tenant": record.event.tenant_id, "at": first_at, "id": record.event.event_id},
        )
        if not rows.result_rows:
            return ["unknown"]
        first = [as_utc(v) if isinstance(v, datetime) else v for v in rows.result_rows[0]]
        return differing_fields(first, values)

    async def register(self, result: DedupResult) -> None:
        """After the new events are stored: their ids, and the conflicting deliveries."""
        if result.new:
            new, prints = result.new, result.new_fingerprints
            id_rows = partial(map, lambda record, print_: (*_id_fields(record), print_), new, prints)
            await self.sink.insert_until_stored("event_ids", id_rows, ID_COLUMNS, len(new), as_json=True)
        if result.conflicts:
            rows = [
                [c.record.event.tenant_id, c.record.event.event_id, c.differing, c.first_occurred_at,
                 c.record.event.occurred_at, c.record.source.partition, c.record.source.offset,
                 c.record.event.ingested_at]
                for c in result.conflicts
            ]  # fmt: skip
            await self.sink.insert_until_stored("duplicate_events", rows, DUPLICATE_COLUMNS)
