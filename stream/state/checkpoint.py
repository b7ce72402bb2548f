"""Checkpoints of partition state in ClickHouse, and the stored events after one.

A checkpoint is one row per (consumer group, partition): the state as of a raw-topic
offset. Recovery loads it and replays the events stored from that partition after that
offset, read by partition, offset and ingestion time (min-max skip indexes), so its cost
follows the checkpoint interval, not the events stored. Without a checkpoint the state
starts empty: whatever it does not hold is computed from the store when first touched.
"""

import hashlib
from collections.abc import Sequence
from datetime import datetime, timedelta

from stream.ingest.records import PricedRecord
from stream.sinks.clickhouse import ClickHouseSink
from stream.state.partition import PartitionState, from_checkpoint, to_checkpoint
from stream.store.client import ClickHouseStore, as_utc
from stream.store.rows import EVENT_COLUMNS, priced_record_from_row

CHECKPOINT_COLUMNS = ("consumer_group", "partition", "kafka_offset", "saved_at", "layout", "state", "version")
# Events of a batch are stamped with an ingestion time taken after the previous batch was
# applied (hence after any checkpoint that covers it); the margin covers clocks of
# different workers disagreeing.
TAIL_CLOCK_MARGIN = timedelta(minutes=10)


def layout_of(size_seconds: int, dimensions: Sequence[str], max_groups: int) -> str:
    """Window settings a checkpoint's windows were built with."""
    text = f"{size_seconds}\x1f{','.join(dimensions)}\x1f{max_groups}"
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


async def save_checkpoints(
    sink: ClickHouseSink, group: str, states: Sequence[PartitionState], layout: str, now: datetime
) -> None:
    version = int(now.timestamp() * 1_000_000)
    rows = [[group, s.partition, s.offset, now, layout, to_checkpoint(s).decode(), version] for s in states]
    await sink.insert_until_stored("worker_state", rows, CHECKPOINT_COLUMNS)


async def load_checkpoint(
    store: ClickHouseStore, group: str, partition: int, layout: str
) -> tuple[PartitionState, datetime] | None:
    result = await store.query_consistent(
        "SELECT layout, state, saved_at FROM worker_state FINAL "
        "WHERE consumer_group = {group:String} AND partition = {partition:UInt32}",
        {"group": group, "partition": partition},
    )
    if not result.result_rows:
        return None
    saved_layout, payload, saved_at = result.result_rows[0]
    state = from_checkpoint(partition, payload.encode(), with_windows=saved_layout == layout)
    return state, as_utc(saved_at)


async def stored_after(
    store: ClickHouseStore, partition: int, offset: int, saved_at: datetime
) -> list[PricedRecord]:
    """The events stored from ``partition`` after ``offset``, each once, in offset order."""
    result = await store.query_consistent(
        f"SELECT {', '.join(EVENT_COLUMNS)} FROM usage_events "
        "WHERE kafka_partition = {partition:UInt32} AND kafka_offset > {offset:Int64} "
        "AND ingested_at >= {since:DateTime64(3, 'UTC')} ORDER BY kafka_offset, ingested_at DESC",
        {"partition": partition, "offset": offset, "since": saved_at - TAIL_CLOCK_MARGIN},
    )
    seen: set[tuple[str, str]] = set()
    records = []
    for row in result.named_results():
        key = (row["tenant_id"], row["event_id"])
        if key not in seen:  # a batch stored twice (killed before its offsets committed), or re-priced
            seen.add(key)
            records.append(priced_record_from_row(row))
    return records
