"""The ingest agent: the I/O shell around :func:`process_messages` and the worker state.

Messages are taken from the raw topic in batches (``take_events``). Each batch is priced
in slices that yield to the event loop between them (a big batch never holds the loop
past Faust's heartbeat budget), then, under the state lock:

1. partitions this worker has not held yet are recovered (checkpoint + stored tail);
2. the events are split into first deliveries and repeats by (tenant_id, event_id);
3. the first deliveries and the dead letters are stored in ClickHouse, then their ids;
4. the worker state (windows, budget spend) takes the new events, and budgets touched are
   checked against it: breaches are published right away, with no query per budget.

5. the priced events and dead letters are published and acknowledged by Kafka, still
   under the lock, so no checkpoint covers a batch whose priced events Kafka does not have
   (a worker taking over publishes the events stored after the checkpoint again).

Only when the handler returns does Faust ack the batch's messages, so committed offsets
never pass a row that is not stored (at-least-once, with every effect idempotent).
"""

import asyncio
import base64
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any

import faust

from schemas import DeadLetter
from stream.broker.reader import end_offsets
from stream.budgets.running import BudgetTouch
from stream.dedup import DedupResult, EventIds
from stream.dedup.fingerprint import fingerprint
from stream.ingest.decode import SourceMessage
from stream.ingest.encode import encode_dead_letter, encode_priced_event
from stream.ingest.pipeline import IngestResult, process_messages
from stream.ingest.records import PricedRecord
from stream.pricing import PriceBook
from stream.retry import retry_until_done
from stream.sinks.clickhouse import ClickHouseSink
from stream.state.held import StreamState

if TYPE_CHECKING:
    from stream.worker.app import Worker

log = logging.getLogger(__name__)

SLICE_BYTES = 256 * 1024
"""Raw bytes priced between two yields to the event loop: a few tens of milliseconds."""


@dataclass(slots=True)
class IngestCounters:
    messages: int = 0
    events_priced: int = 0
    events_unpriced: int = 0
    dead_letters: int = 0
    duplicates: int = 0
    conflicting_duplicates: int = 0
    batches: int = 0

    def add(self, messages: int, new: Sequence[PricedRecord], dedup: DedupResult, dead: int) -> None:
        unpriced = sum(1 for record in new if not record.event.priced)
        self.messages += messages
        self.events_priced += len(new) - unpriced
        self.events_unpriced += unpriced
        self.dead_letters += dead
        self.duplicates += dedup.repeated + len(dedup.conflicts)
        self.conflicting_duplicates += len(dedup.conflicts)
        self.batches += 1


MAX_DEAD_LETTER_BYTES = 512 * 1024
"""Kafka refuses messages over ~1 MB by default; a dead letter of a huge payload carries
the start of it on the topic, and the whole of it in the dead_letters table."""


def dead_letter_payload(letter: DeadLetter) -> bytes:
    payload = encode_dead_letter(letter)
    if len(payload) <= MAX_DEAD_LETTER_BYTES:
        return payload
    size = len(base64.b64decode(letter.original_b64))
    keep = MAX_DEAD_LETTER_BYTES // 2 // 4 * 4  # whole base64 quanta
    return encode_dead_letter(letter.model_copy(
        update={"original_b64": letter.original_b64[:keep], "original_truncated": True, "original_size": size}
    ))


def source_message(event: Any) -> SourceMessage:
    message = event.message
    value = message.value if isinstance(message.value, bytes) else bytes(message.value or b"")
    return SourceMessage(value, message.key, message.topic, message.partition, message.offset)


def slices(messages: Sequence[SourceMessage], limit: int = SLICE_BYTES) -> list[list[SourceMessage]]:
    out: list[list[SourceMessage]] = [[]]
    size = 0
    for message in messages:
        if out[-1] and size + len(message.value) > limit:
            out.append([])
            size = 0
        out[-1].append(message)
        size += len(message.value)
    return out


async def price_in_slices(messages: Sequence[SourceMessage], book: PriceBook, now: datetime) -> IngestResult:
    result = IngestResult()
    for part in slices(messages):
        sliced = process_messages(part, book, now)
        result.priced += sliced.priced
        result.dead += sliced.dead
        await asyncio.sleep(0)  # let heartbeats, commits and the HTTP API run
    return result


def last_offsets(messages: Sequence[SourceMessage]) -> dict[int, int]:
    offsets: dict[int, int] = {}
    for message in messages:
        if message.offset > offsets.get(message.partition, -1):
            offsets[message.partition] = message.offset
    return offsets


async def store_and_apply(
    sink: ClickHouseSink, ids: EventIds, state: StreamState, priced: Sequence[PricedRecord],
    dead: Sequence[DeadLetter], offsets: dict[int, int],
) -> tuple[DedupResult, list[BudgetTouch]]:  # fmt: skip
    """Steps 2 to 4 of a batch (see the module text), up to the budget check; with the
    state lock held."""
    dedup = await ids.split(priced)
    await sink.store_batch(dedup.new, list(dead))
    await ids.register(dedup)
    touches = await state.apply(dedup.new)
    state.advance(offsets)
    return dedup, touches


async def recover_partition(
    state: StreamState, ids: EventIds, partition: int, end_offset: int | None = None
) -> tuple[list[PricedRecord], list[BudgetTouch]]:
    """Take over a partition: its checkpoint, then the events stored after it, applied
    like a batch (their ids registered, in case a worker died between storing them and
    registering them). Returns those events and the budget periods they touched; with the
    state lock held."""
    tail = await state.recover(partition, end_offset)
    if not tail:
        return [], []
    await ids.register(DedupResult(new=list(tail), new_fingerprints=[fingerprint(r) for r in tail]))
    touches = await state.apply(tail)
    # The state now holds the tail: a checkpoint must say so, or the next owner would
    # replay these events on top of it.
    state.advance({partition: max(record.source.offset for record in tail)})
    return tail, touches


async def publish(worker: "Worker", records: Sequence[PricedRecord], dead: Sequence[DeadLetter]) -> None:
    """Priced events and dead letters to their topics, acknowledged by Kafka."""
    settings = worker.settings
    await worker.publisher.publish(
        settings.topic_priced, [(r.event.tenant_id.encode(), encode_priced_event(r.event)) for r in records]
    )
    letters = [((letter.tenant_id or "").encode() or None, dead_letter_payload(letter)) for letter in dead]
    await worker.publisher.publish(settings.topic_dlq, letters)


async def take_over(worker: "Worker", partitions: Sequence[int]) -> None:
    """Recover the partitions this worker does not hold yet and check the budgets their
    stored tail touched (a worker killed before checking them left that undone)."""
    state, budgets, settings = worker.state, worker.budgets, worker.settings
    missing = [partition for partition in partitions if partition not in state.partitions]
    if not missing:
        return
    ends = await retry_until_done(partial(end_offsets, settings, settings.topic_raw, missing),
                                  "reading the raw topic's end offsets", settings.insert_retry_max_backoff)
    for partition in missing:
        tail, touches = await recover_partition(state, worker.ids, partition, ends.get(partition))
        await retry_until_done(partial(budgets.check, touches, state.spend_of), "budget check after recovery",
                               settings.insert_retry_max_backoff)
        # A worker killed after storing these events may not have published them: publish
        # them again (the priced topic is at-least-once; its consumers dedupe by event_id).
        await retry_until_done(partial(publish, worker, tail, ()), "publishing recovered events",
                               settings.insert_retry_max_backoff)


def register_ingest_agent(worker: "Worker") -> None:
    app, settings, topics = worker.app, worker.settings, worker.topics
    sink, counters, state, ids, budgets = worker.sink, worker.counters, worker.state, worker.ids, worker.budgets

    @app.agent(topics["raw"], name="costream.ingest")
    async def ingest(stream: faust.StreamT[bytes]) -> None:
        batches = stream.take_events(settings.insert_batch_size, within=settings.insert_batch_wait)  # type: ignore[attr-defined]
        async for events in batches:
            messages = [source_message(event) for event in events]
            now = datetime.now(UTC)
            result = await price_in_slices(messages, worker.book, now)  # reloads swap worker.book
            offsets = last_offsets(messages)
            async with state.lock:
                await take_over(worker, sorted(offsets))
                dedup, touches = await store_and_apply(sink, ids, state, result.priced, result.dead, offsets)
                await retry_until_done(partial(budgets.check, touches, state.spend_of), "budget check",
                                       settings.insert_retry_max_backoff)
                # Inside the lock: no checkpoint covers this batch before Kafka has its
                # priced events, so a worker killed before that replays and publishes them.
                await retry_until_done(partial(publish, worker, dedup.new, result.dead),
                                       "publishing priced events and dead letters", settings.insert_retry_max_backoff)
            counters.add(len(messages), dedup.new, dedup, len(result.dead))
