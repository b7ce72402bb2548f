"""The ingest agent: the I/O shell around :func:`process_messages` and the worker state.

Messages are taken from the raw topic's feed in batches (:mod:`stream.broker.feed`,
:mod:`stream.ingest.intake`), priced while the batch gathers, then, under the state lock:

0. messages fetched before a rebalance are dropped, as Faust's streams drop them (the
   consumer reads them again from the committed offsets); the others are tracked by the
   consumer as pending, so a rebalance waits for this batch to be acked before the
   partitions move (what it waits for with a stream's events);
1. partitions this worker has not held yet are recovered (checkpoint + stored tail);
2. the events are split into first deliveries and repeats by (tenant_id, event_id);
3. the first deliveries and the dead letters are stored in ClickHouse;
4. once they are stored, together: their ids are registered, the worker state (windows,
   budget spend) takes the new events and the budgets touched are checked against it
   (breaches are published right away, with no query per budget), and the priced events
   and dead letters are published;
5. all of that is acknowledged (by ClickHouse and Kafka) before the lock is released, so
   no checkpoint covers a batch whose priced events Kafka does not have (a worker taking
   over publishes the events stored after the checkpoint again).

Only then are the batch's messages acked to Faust's consumer, which commits the offsets
acked, so committed offsets never pass a row that is not stored (at-least-once, with
every effect idempotent).
"""

import asyncio
import base64
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any

import faust

from schemas import DeadLetter
from stream import stalls
from stream.broker.publisher import BatchPublisher, Message
from stream.broker.reader import end_offsets
from stream.budgets.running import BudgetTouch
from stream.dedup import DedupResult, EventIds
from stream.ingest.decode import SourceMessage, dead_letter
from stream.ingest.encode import encode_dead_letter, encode_priced_event
from stream.ingest.intake import IntakeTimes, batches
from stream.ingest.pipeline import IngestResult, process_messages
from stream.ingest.records import PricedRecord
from stream.retry import retry_until_done
from stream.sinks.clickhouse import ClickHouseSink, Refused
from stream.state.held import StreamState
from stream.turns import in_turns

if TYPE_CHECKING:
    from stream.worker.app import Worker

log = logging.getLogger(__name__)

SLICE_BYTES = 256 * 1024
"""Raw bytes priced between two yields to the event loop: a few tens of milliseconds."""

BATCH_BYTES = 16 * 1024 * 1024
"""Raw bytes of a batch (priced, stored, applied, published at once), and of what is read
ahead of it: some 60,000 events in envelopes, a few hundred MB of what they become."""


@dataclass(slots=True)
class IngestCounters:
    messages: int = 0
    events_priced: int = 0
    events_unpriced: int = 0
    dead_letters: int = 0
    duplicates: int = 0
    conflicting_duplicates: int = 0
    batches: int = 0
    intake: IntakeTimes = field(default_factory=IntakeTimes)
    last_batch_at: float | None = None
    """Wall-clock time (Unix seconds) the last batch was stored, applied and published."""

    def add(self, messages: int, new: Sequence[PricedRecord], dedup: DedupResult, dead: int) -> None:
        unpriced = sum(1 for record in new if not record.event.priced)
        self.messages += messages
        self.events_priced += len(new) - unpriced
        self.events_unpriced += unpriced
        self.dead_letters += dead
        self.duplicates += dedup.repeated + len(dedup.conflicts)
        self.conflicting_duplicates += len(dedup.conflicts)
        self.batches += 1
        self.last_batch_at = time.time()


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


def source_message(message: Any) -> SourceMessage:
    """What the pure core reads of a consumer message (Faust's ``ConsumerMessage``)."""
    value = message.value if isinstance(message.value, bytes) else bytes(message.value or b"")
    return SourceMessage(value, message.key, message.topic, message.partition, message.offset)


@dataclass(frozen=True, slots=True)
class ReadMessage:
    """A raw message as the intake hands it over: priced, with the consumer's message to ack."""

    consumed: Any
    message: SourceMessage
    result: IngestResult


def message_size(message: Any) -> int:
    return len(message.value or b"")


def priced_batch(read: Sequence[ReadMessage]) -> IngestResult:
    return IngestResult([r for m in read for r in m.result.priced], [d for m in read for d in m.result.dead])


def last_offsets(messages: Sequence[SourceMessage]) -> dict[int, int]:
    offsets: dict[int, int] = {}
    for message in messages:
        if message.offset > offsets.get(message.partition, -1):
            offsets[message.partition] = message.offset
    return offsets


@dataclass(slots=True)
class Outgoing:
    """A batch's messages, encoded: priced events (in the order of ``records``) and dead letters."""

    records: Sequence[PricedRecord]
    priced: list[Message]
    letters: list[Message]

    def only(self, records: Sequence[PricedRecord]) -> "Outgoing":
        """Only the priced events of ``records`` (the batch's first deliveries), same letters."""
        if len(records) == len(self.records):
            return self
        kept = {id(record) for record in records}
        return self.without({id(r) for r in self.records if id(r) not in kept}, ())

    def without(self, refused: set[int], letters: Sequence[DeadLetter]) -> "Outgoing":
        """Less the events the store refused (by ``id`` of their record), which become
        the dead ``letters``."""
        kept = [(r, m) for r, m in zip(self.records, self.priced, strict=True) if id(r) not in refused]
        return Outgoing([r for r, _ in kept], [m for _, m in kept], self.letters + [letter_message(d) for d in letters])


def letter_message(letter: DeadLetter) -> Message:
    return (letter.tenant_id or "").encode() or None, dead_letter_payload(letter)


def refused_letters(refused: Sequence[Refused], now: datetime) -> list[DeadLetter]:
    """Dead letters for the events the store refused, with its reason."""
    return [
        dead_letter(r.record.source, "store_refused", f"the store refused the event: {r.reason}", now,
                    r.record.batch_index, {"event_id": r.record.event.event_id, "tenant_id": r.record.event.tenant_id})
        for r in refused
    ]  # fmt: skip


@dataclass(frozen=True, slots=True)
class Outbox:
    """Where a stored batch's priced events and dead letters are published."""

    publisher: BatchPublisher
    priced_topic: str
    dead_letter_topic: str
    max_backoff: float

    async def encode(self, records: Sequence[PricedRecord], dead: Sequence[DeadLetter]) -> Outgoing:
        priced: list[Message] = []
        async for _, run in in_turns(records):
            priced += [(record.event.tenant_id.encode(), encode_priced_event(record.event)) for record in run]
        return Outgoing(records, priced, [letter_message(letter) for letter in dead])

    async def send(self, outgoing: Outgoing) -> None:
        """Every message, acknowledged by Kafka (retried until it is)."""
        for topic, messages in ((self.priced_topic, outgoing.priced), (self.dead_letter_topic, outgoing.letters)):
            await retry_until_done(partial(self.publisher.publish, topic, messages), f"publishing to {topic}",
                                   self.max_backoff)  # fmt: skip


BudgetCheck = Callable[[list[BudgetTouch]], Awaitable[None]]


@dataclass(slots=True)
class StoredBatch:
    dedup: DedupResult
    """``dedup.new``: the events stored and counted."""
    touches: list[BudgetTouch]
    refused: list[DeadLetter]
    """Dead letters of the events the store refused."""


async def store_and_apply(
    sink: ClickHouseSink, ids: EventIds, state: StreamState, priced: Sequence[PricedRecord],
    dead: Sequence[DeadLetter], offsets: dict[int, int], outbox: Outbox | None = None,
    check: BudgetCheck | None = None,
) -> StoredBatch:  # fmt: skip
    """Steps 2 to 5 of a batch (see the module text), with the state lock held.

    What does not depend on each other overlaps: the store looks the ids up (on its own
    thread, off the GIL) while the event loop encodes the messages (repeats are rare: they
    are encoded and dropped), and registering ids, updating the state and publishing go on
    together once the events are stored. Everything is done when this returns."""
    splitting = asyncio.ensure_future(ids.split(priced))
    try:
        await asyncio.sleep(0)  # the split sends its lookup to the store before encoding starts
        encoded = await outbox.encode(priced, dead) if outbox is not None else None
        dedup = await splitting
    finally:
        splitting.cancel()  # a no-op once it is done
    async with asyncio.TaskGroup() as group:
        storing = group.create_task(sink.store_batch(dedup.new, list(dead)))
        outgoing = encoded.only(dedup.new) if encoded is not None else None
        refused = await storing
        letters = refused_letters(refused, datetime.now(UTC))
        if refused:
            await sink.store_dead_letters(letters)
            gone = {id(r.record) for r in refused}
            dedup.drop(gone)
            if outgoing is not None:
                outgoing = outgoing.without(gone, letters)
        group.create_task(ids.register(dedup))
        if outbox is not None and outgoing is not None:
            group.create_task(outbox.send(outgoing))
        try:
            touches = await state.apply(dedup.new)
        except BaseException:  # cancelled (the worker stops) with part of the batch applied
            state.forget(offsets)
            raise
        state.advance(offsets)
        if check is not None:
            await check(touches)
        # Leaving the group waits for the ids and for Kafka's acknowledgement: no
        # checkpoint covers a batch whose priced events Kafka does not have (a worker
        # killed before that replays the events stored after its checkpoint, and
        # publishes them again).
    return StoredBatch(dedup, touches, letters)


async def recover_partitions(
    state: StreamState, ids: EventIds, partitions: Sequence[int], end_offsets: Mapping[int, int] | None = None
) -> tuple[list[PricedRecord], list[BudgetTouch]]:
    """Take over partitions: their checkpoints, then the events stored after them, applied
    like a batch (their ids registered, in case a worker died between storing them and
    registering them). Returns those events and the budget periods they touched; with the
    state lock held."""
    tail = await state.recover(partitions, end_offsets or {})
    if not tail:
        return [], []
    await ids.register(DedupResult(new=list(tail)))
    touches = await state.apply(tail)
    # The state now holds the tail: a checkpoint must say so, or the next owner would
    # replay these events on top of it.
    state.advance(last_offsets([record.source for record in tail]))
    return tail, touches


async def take_over(worker: "Worker", partitions: Sequence[int]) -> None:
    """Recover the partitions this worker does not hold yet and check the budgets their
    stored tail touched (a worker killed before checking them left that undone)."""
    state, budgets, settings = worker.state, worker.budgets, worker.settings
    missing = [partition for partition in partitions if partition not in state.partitions]
    if not missing:
        return
    started = time.monotonic()
    ends = await retry_until_done(partial(end_offsets, settings, settings.topic_raw, missing),
                                  "reading the raw topic's end offsets", settings.insert_retry_max_backoff)
    tail, touches = await recover_partitions(state, worker.ids, missing, ends)
    if tail:
        await retry_until_done(partial(budgets.check, touches, state.spend_of), "budget check after recovery",
                               settings.insert_retry_max_backoff)
        # A worker killed after storing these events may not have published them: publish
        # them again (the priced topic is at-least-once; its consumers dedupe by event_id).
        outbox = outbox_of(worker)
        await outbox.send(await outbox.encode(tail, ()))
    log.info("took over partitions %s in %.2f s (%d stored events replayed)", missing, time.monotonic() - started,
             len(tail))


def outbox_of(worker: "Worker") -> Outbox:
    settings = worker.settings
    return Outbox(worker.publisher, settings.topic_priced, settings.topic_dlq, settings.insert_retry_max_backoff)


def of_this_generation(app: faust.App, read: list[ReadMessage]) -> list[ReadMessage]:
    """The messages fetched since the last rebalance, while none is under way. Faust's
    streams skip the others: the partitions may have moved, and the consumer has sought
    back to the committed offsets, so the messages are read again if they are still ours."""
    generation = app.consumer_generation_id
    if not app.flow_control.is_active():
        current: list[ReadMessage] = []
    else:
        current = [m for m in read if m.consumed.generation_id == generation]
    if len(current) < len(read):
        log.info("dropped %d messages fetched before a rebalance; they are read again from the committed offsets",
                 len(read) - len(current))
    return current


def register_ingest_agent(worker: "Worker") -> None:
    app, settings, topics = worker.app, worker.settings, worker.topics
    sink, counters, state, ids, budgets = worker.sink, worker.counters, worker.state, worker.ids, worker.budgets
    outbox = outbox_of(worker)

    async def check_budgets(touches: list[BudgetTouch]) -> None:
        await retry_until_done(partial(budgets.check, touches, state.spend_of), "budget check",
                               settings.insert_retry_max_backoff)  # fmt: skip

    def price(consumed: Any) -> ReadMessage:
        message = source_message(consumed)
        # worker.book is read for every message: a reload swaps it
        return ReadMessage(consumed, message, process_messages([message], worker.book, datetime.now(UTC)))

    @app.agent(topics["raw"], name="costream.ingest")
    async def ingest(stream: faust.StreamT[bytes]) -> None:
        # Subscribed, so Faust's consumer holds the raw topic's partitions; their records
        # come through the feed, not this stream (see stream.broker.feed).
        consumer = app.consumer
        # A batch is bounded in messages and in bytes, so what it builds (priced events,
        # rows, messages) stays bounded whatever the messages hold.
        async for taken in batches(worker.raw, settings.insert_batch_size, settings.insert_batch_wait, price,
                                   message_size, BATCH_BYTES, SLICE_BYTES, counters.intake):  # fmt: skip
            async with state.lock:
                read = of_this_generation(app, taken)
                if not read:
                    continue
                for message in read:  # a rebalance waits for these to be acked, as for a stream's events
                    consumer.track_message(message.consumed)
                result = priced_batch(read)
                offsets = last_offsets([m.message for m in read])
                with stalls.watching(worker.stalls, tuple(sorted(offsets))):
                    await take_over(worker, sorted(offsets))
                    stored = await store_and_apply(sink, ids, state, result.priced, result.dead, offsets, outbox,
                                                   check_budgets)  # fmt: skip
            counters.add(len(read), stored.dedup.new, stored.dedup, len(result.dead) + len(stored.refused))
            for message in read:  # stored and published: their offsets may be committed
                consumer.ack(message.consumed)
