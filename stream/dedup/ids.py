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

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from stream.dedup.fingerprint import COMPARED_COLUMNS, compared_values, differing_fields, fingerprint_of
from stream.ingest.records import PricedRecord
from stream.sinks.clickhouse import ClickHouseSink
from stream.store.client import as_utc
from stream.turns import pass_turn

# ids per lookup query. The lookup filters on the two key columns apart (tenant IN, id
# IN) and pairs them up here: ClickHouse analyses a large IN of tuples far more slowly
# (seen here: 20,000 pairs took minutes, 20,000 plain ids 170 ms).
LOOKUP_CHUNK = 10_000
ID_COLUMNS = ("tenant_id", "event_id", "occurred_at", "fingerprint", "kafka_partition", "kafka_offset", "ingested_at")
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


@dataclass
class EventIds:
    sink: ClickHouseSink
    repeated_total: int = 0
    conflicts_total: int = 0

    async def split(self, records: Sequence[PricedRecord]) -> DedupResult:
        result = DedupResult()
        first_in_batch: dict[tuple[str, str], tuple[PricedRecord, tuple[Any, ...], int]] = {}
        ordered = sorted(records, key=lambda r: (r.source.partition, r.source.offset))
        candidates: list[tuple[PricedRecord, tuple[Any, ...], int]] = []
        for done, record in enumerate(ordered):
            await pass_turn(done)
            key = (record.event.tenant_id, record.event.event_id)
            values = compared_values(record)
            print_ = fingerprint_of(values)
            seen = first_in_batch.get(key)
            if seen is None:
                first_in_batch[key] = (record, values, print_)
                candidates.append((record, values, print_))
            elif seen[2] == print_ or not (differing := differing_fields(seen[1], values)):
                result.repeated += 1
            else:
                result.conflicts.append(Conflict(record, differing, seen[0].event.occurred_at))
        stored = await self._lookup([key for key in first_in_batch])
        for record, values, print_ in candidates:
            found = stored.get((record.event.tenant_id, record.event.event_id))
            if found is None:
                result.new.append(record)
                result.new_fingerprints.append(print_)
            elif found[1] == print_ or found[1] == 0:  # 0: registered from history, content unknown
                result.repeated += 1
            else:
                differing = await self._differing(record, values, found[0])
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
            wanted = set(chunk)
            rows = await self.sink.store.query_consistent(
                "SELECT tenant_id, event_id, min(occurred_at), any(fingerprint) FROM event_ids "
                "WHERE tenant_id IN {tenants:Array(String)} AND event_id IN {ids:Array(String)} "
                "GROUP BY tenant_id, event_id",
                {"tenants": sorted({tenant for tenant, _ in chunk}), "ids": sorted({i for _, i in chunk})},
            )
            for tenant, event_id, occurred_at, print_ in rows.result_rows:
                if (tenant, event_id) in wanted:  # an id of one tenant asked for another's
                    found[(tenant, event_id)] = (as_utc(occurred_at), int(print_))
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
            rows = [
                [r.event.tenant_id, r.event.event_id, r.event.occurred_at, print_, r.source.partition,
                 r.source.offset, r.event.ingested_at]
                for r, print_ in zip(result.new, result.new_fingerprints, strict=True)
            ]  # fmt: skip
            await self.sink.insert_until_stored("event_ids", rows, ID_COLUMNS)
        if result.conflicts:
            rows = [
                [c.record.event.tenant_id, c.record.event.event_id, c.differing, c.first_occurred_at,
                 c.record.event.occurred_at, c.record.source.partition, c.record.source.offset,
                 c.record.event.ingested_at]
                for c in result.conflicts
            ]  # fmt: skip
            await self.sink.insert_until_stored("duplicate_events", rows, DUPLICATE_COLUMNS)
