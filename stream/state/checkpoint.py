"""Checkpoints of partition state in ClickHouse, and the stored events after one.

A checkpoint is one row per (consumer group, partition): the state as of a raw-topic
offset. Recovery loads it and replays the events stored from that partition after that
offset, read by partition, offset and ingestion time (min-max skip indexes), so its cost
follows the checkpoint interval, not the events stored. Without a checkpoint the state
starts empty: whatever it does not hold is computed from the store when first touched.
"""

import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

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


async def load_checkpoints(
    store: ClickHouseStore, group: str, partitions: Sequence[int], layout: str
) -> dict[int, tuple[PartitionState, datetime]]:
    """The checkpoints of these partitions that exist, with when each was saved: one query."""
    result = await store.query_consistent(
        "SELECT partition, layout, state, saved_at FROM worker_state FINAL "
        "WHERE consumer_group = {group:String} AND partition IN {partitions:Array(UInt32)}",
        {"group": group, "partitions": list(partitions)},
    )
    loaded: dict[int, tuple[PartitionState, datetime]] = {}
    for partition, saved_layout, payload, saved_at in result.result_rows:
        state = from_checkpoint(int(partition), payload.encode(), with_windows=saved_layout == layout)
        loaded[int(partition)] = state, as_utc(saved_at)
    return loaded


async def stored_after(
    store: ClickHouseStore, checkpoints: Mapping[int, tuple[int, datetime]]
) -> dict[int, list[PricedRecord]]:
    """The events stored from each partition after its checkpoint (partition -> its offset
    and when it was saved), each once, in offset order: one query for all of them."""
    if not checkpoints:
        return {}
    parameters: dict[str, Any] = {
        "partitions": sorted(checkpoints),
        "since": min(saved_at for _, saved_at in checkpoints.values()) - TAIL_CLOCK_MARGIN,
    }
    after = []
    for n, (partition, (offset, saved_at)) in enumerate(sorted(checkpoints.items())):
        after.append(f"(kafka_partition = {{p{n}:UInt32}} AND kafka_offset > {{o{n}:Int64}} "
                     f"AND ingested_at >= {{s{n}:DateTime64(3, 'UTC')}})")
        parameters.update({f"p{n}": partition, f"o{n}": offset, f"s{n}": saved_at - TAIL_CLOCK_MARGIN})
    result = await store.query_consistent(
        f"SELECT {', '.join(EVENT_COLUMNS)} FROM usage_events "
        "WHERE kafka_partition IN {partitions:Array(UInt32)} AND ingested_at >= {since:DateTime64(3, 'UTC')} "
        f"AND ({' OR '.join(after)}) ORDER BY kafka_partition, kafka_offset, ingested_at DESC",
        parameters,
    )
    seen: set[tuple[int, str, str]] = set()
    records: dict[int, list[PricedRecord]] = {partition: [] for partition in checkpoints}
    for row in result.named_results():
        partition = int(row["kafka_partition"])
        key = (partition, row["tenant_id"], row["event_id"])
        if key not in seen:  # a batch stored twice (killed before its offsets committed), or re-priced
            seen.add(key)
            records[partition].append(priced_record_from_row(row))
    return records
