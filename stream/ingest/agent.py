"""The ingest agent: the I/O shell around :func:`process_messages` and the worker state.

Messages are taken from the raw topic in batches (:mod:`stream.ingest.intake`), and a
batch in parts bounded in bytes. Each part is priced in slices that yield to the event
loop between them (a big batch never holds the loop past Faust's heartbeat budget), then:

1. partitions this worker has not held yet are recovered (checkpoint + stored tail);
2. the events are split into first deliveries and repeats by (tenant_id, event_id),
   once the previous part's ids are registered;
3. under the state lock, the first deliveries and the dead letters are stored in
   ClickHouse;
4. once they are stored, together: their ids are registered, the worker state (windows,
   budget spend) takes the new events and the budgets touched are checked against it
   (breaches are published right away, with no query per budget), and the priced events
   and dead letters are published;
5. no checkpoint is written until the ids are registered and Kafka has acknowledged the
   priced events (a worker taking over publishes the events stored after the checkpoint
   again).

Parts go through these steps one after another, and while one is stored the next is
split and the one after priced. A batch's messages are acked once its last part is
acknowledged (the stream is Faust's manual-ack stream, read ahead by
:mod:`stream.ingest.intake`), so committed offsets never pass a row that is not stored or
an event Kafka does not have (at-least-once, with every effect idempotent).
"""

import asyncio
import base64
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
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
from stream.pricing import PriceBook
from stream.retry import retry_until_done
from stream.sinks.clickhouse import ClickHouseSink, Refused
from stream.state.held import StreamState
from stream.turns import SpareTurns, in_turns

if TYPE_CHECKING:
    from stream.worker.app import Worker

log = logging.getLogger(__name__)

SLICE_BYTES = 256 * 1024
"""Raw bytes priced between two yields to the event loop: a few tens of milliseconds."""

PART_BYTES = 4 * 1024 * 1024
"""Raw bytes of a batch handled at once (split, stored, applied, published): some 20,000
events, a few tens of MB of what they become. Parts are worked on in stages (see
``ingest``): at most five are held at once, about what one part of 16 MB was."""


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


async def price_in_slices(
    messages: Sequence[SourceMessage], book: PriceBook, now: datetime, spare: SpareTurns | None = None
) -> IngestResult:
    """Each slice at a turn of its own (heartbeats, commits and the HTTP API run between
    them), or at a spare one (see :class:`stream.turns.SpareTurns`)."""
    result = IngestResult()
    for part in slices(messages):
        await (spare.take() if spare is not None else asyncio.sleep(0))
        sliced = process_messages(part, book, now)
        result.priced += sliced.priced
        result.dead += sliced.dead
    return result


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


@dataclass(frozen=True, slots=True)
class PricedPart:
    """A part of a batch, priced, on its way to be stored and applied; ``acks``: the
    batch's messages when this is its last part."""

    messages: Sequence[SourceMessage]
    result: IngestResult
    acks: Sequence[Any]


@dataclass(slots=True)
class StoredBatch:
    dedup: DedupResult
    """``dedup.new``: the events stored and counted."""
    touches: list[BudgetTouch]
    refused: list[DeadLetter]
    """Dead letters of the events the store refused."""
    acknowledged: list["asyncio.Future[None]"] = field(default_factory=list)
    """Done when the new ids are registered and the messages published."""

    async def acknowledgement(self) -> None:
        """Until the ids are registered and Kafka has every message (raises what failed)."""
        if self.acknowledged:
            await asyncio.gather(*self.acknowledged)


@dataclass(slots=True)
class SplitPart:
    """A part split into first deliveries and repeats, its messages encoded; ``registered``
    is set once its new ids are in ``event_ids`` (the next part's lookup waits for it)."""

    dedup: DedupResult
    encoded: Outgoing | None
    registered: asyncio.Event = field(default_factory=asyncio.Event)


async def split_part(
    ids: EventIds, priced: Sequence[PricedRecord], dead: Sequence[DeadLetter], outbox: Outbox | None = None,
    spare: SpareTurns | None = None, after: asyncio.Event | None = None,
) -> SplitPart:  # fmt: skip
    """Step 2: the store looks the ids up (on its own thread, off the GIL, once ``after``
    is set: the previous part's ids are registered) while the event loop encodes the
    messages (repeats are rare: they are encoded and dropped)."""
    waiting = spare.waiting if spare is not None else contextlib.nullcontext

    async def lookup() -> DedupResult:
        if after is not None:
            await after.wait()
        return await ids.split(priced)

    splitting = asyncio.ensure_future(lookup())
    try:
        await asyncio.sleep(0)  # the split sends its lookup to the store before encoding starts
        encoded = await outbox.encode(priced, dead) if outbox is not None else None
        with waiting():
            dedup = await splitting
    finally:
        splitting.cancel()  # a no-op once it is done
    return SplitPart(dedup, encoded)


async def store_split(
    sink: ClickHouseSink, ids: EventIds, state: StreamState, split: SplitPart, dead: Sequence[DeadLetter],
    offsets: dict[int, int], outbox: Outbox | None = None, check: BudgetCheck | None = None,
    spare: SpareTurns | None = None,
) -> StoredBatch:  # fmt: skip
    """Steps 3 and 4, with the state lock held: once the events are stored, the state is
    updated and the budgets checked while the ids are registered and the messages
    published, which may go on past the return (:meth:`StoredBatch.acknowledgement`).
    While it only waits on the store, the loop's turns are ``spare``."""
    waiting = spare.waiting if spare is not None else contextlib.nullcontext
    dedup = split.dedup
    async with asyncio.TaskGroup() as group:
        storing = group.create_task(sink.store_batch(dedup.new, list(dead)))
        outgoing = split.encoded.only(dedup.new) if split.encoded is not None else None
        with waiting():
            refused = await storing
        letters = refused_letters(refused, datetime.now(UTC))
        if refused:
            await sink.store_dead_letters(letters)
            gone = {id(r.record) for r in refused}
            dedup.drop(gone)
            if outgoing is not None:
                outgoing = outgoing.without(gone, letters)
        # Registering the ids and publishing go on while the state is updated, and past
        # the return: the next part is stored meanwhile. Until both are done, no checkpoint
        # covers this part (a worker killed before that replays the events stored after
        # its checkpoint, registers and publishes them again).
        registering = asyncio.create_task(ids.register(dedup))

        def signal_registered(task: "asyncio.Task[None]") -> None:
            if not task.cancelled() and task.exception() is None:
                split.registered.set()

        registering.add_done_callback(signal_registered)
        acknowledged: list[asyncio.Future[None]] = [registering]
        if outbox is not None and outgoing is not None:
            acknowledged.append(asyncio.create_task(outbox.send(outgoing)))
        for task in acknowledged:
            state.acknowledging(task)
        try:
            touches = await state.apply(dedup.new)
        except BaseException:  # cancelled (the worker stops) with part of the batch applied
            state.forget(offsets)
            for task in acknowledged:
                task.cancel()
            raise
        state.advance(offsets)
        if check is not None:
            await check(touches)
    return StoredBatch(dedup, touches, letters, acknowledged)


async def store_and_apply(
    sink: ClickHouseSink, ids: EventIds, state: StreamState, priced: Sequence[PricedRecord],
    dead: Sequence[DeadLetter], offsets: dict[int, int], outbox: Outbox | None = None,
    check: BudgetCheck | None = None,
) -> StoredBatch:  # fmt: skip
    """Steps 2 to 5 of a batch (see the module text), one after the other, with the state
    lock held."""
    split = await split_part(ids, priced, dead, outbox)
    stored = await store_split(sink, ids, state, split, dead, offsets, outbox, check)
    await stored.acknowledgement()
    return stored


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
    await ids.register(DedupResult(new=list(tail)))
    touches = await state.apply(tail)
    # The state now holds the tail: a checkpoint must say so, or the next owner would
    # replay these events on top of it.
    state.advance({partition: max(record.source.offset for record in tail)})
    return tail, touches


async def take_over(worker: "Worker", partitions: Sequence[int]) -> None:
    """Recover the partitions this worker does not hold yet and check the budgets their
    stored tail touched (a worker killed before checking them left that undone)."""
    state, budgets, settings = worker.state, worker.budgets, worker.settings
    missing = [partition for partition in partitions if partition not in state.partitions]
    if not missing:
        return
    started = time.monotonic()
    replayed = 0
    ends = await retry_until_done(partial(end_offsets, settings, settings.topic_raw, missing),
                                  "reading the raw topic's end offsets", settings.insert_retry_max_backoff)
    for partition in missing:
        tail, touches = await recover_partition(state, worker.ids, partition, ends.get(partition))
        await retry_until_done(partial(budgets.check, touches, state.spend_of), "budget check after recovery",
                               settings.insert_retry_max_backoff)
        # A worker killed after storing these events may not have published them: publish
        # them again (the priced topic is at-least-once; its consumers dedupe by event_id).
        outbox = outbox_of(worker)
        await outbox.send(await outbox.encode(tail, ()))
        replayed += len(tail)
    log.info("took over partitions %s in %.2f s (%d stored events replayed)", missing, time.monotonic() - started,
             replayed)


def outbox_of(worker: "Worker") -> Outbox:
    settings = worker.settings
    return Outbox(worker.publisher, settings.topic_priced, settings.topic_dlq, settings.insert_retry_max_backoff)


def register_ingest_agent(worker: "Worker") -> None:
    app, settings, topics = worker.app, worker.settings, worker.topics
    sink, counters, state, ids, budgets = worker.sink, worker.counters, worker.state, worker.ids, worker.budgets
    outbox = outbox_of(worker)
    spare = SpareTurns()

    async def check_budgets(touches: list[BudgetTouch]) -> None:
        await retry_until_done(partial(budgets.check, touches, state.spend_of), "budget check",
                               settings.insert_retry_max_backoff)  # fmt: skip

    async def split(part: PricedPart, after: SplitPart | None) -> SplitPart:
        offsets = last_offsets(part.messages)
        if any(partition not in state.partitions for partition in offsets):
            # recovery registers the ids of a stored tail, which the lookup must see
            async with state.lock:
                await take_over(worker, sorted(offsets))
        # the lookup waits for the previous part's ids, which it must see
        registered = after.registered if after is not None else None
        return await split_part(ids, part.result.priced, part.result.dead, outbox, spare, registered)

    async def store(part: PricedPart, done: SplitPart) -> StoredBatch:
        offsets = last_offsets(part.messages)
        async with state.lock:
            with stalls.watching(worker.stalls, tuple(sorted(offsets))):
                await take_over(worker, sorted(offsets))  # none, unless a rebalance came between
                stored = await store_split(sink, ids, state, done, part.result.dead, offsets, outbox, check_budgets,
                                           spare)  # fmt: skip
        counters.add(len(part.messages), stored.dedup.new, stored.dedup, len(part.result.dead) + len(stored.refused))
        return stored

    @app.agent(topics["raw"], name="costream.ingest")
    async def ingest(stream: faust.StreamT[bytes]) -> None:
        manual = stream.noack()  # type: ignore[attr-defined]
        # Parts go through four stages, each taking them in the order they were read:
        # priced here (in the turns the others leave spare), split, stored and applied,
        # then acknowledged. A part is split (its lookup on the store's thread, its
        # messages encoded on the loop) while the one before it is applied; its lookup
        # waits for the ids that part registers. A part is stored while Kafka acknowledges
        # the one before it, and its messages are acked once Kafka has its events.
        priced: asyncio.Queue[PricedPart | None] = asyncio.Queue(maxsize=1)
        split_parts: asyncio.Queue[tuple[PricedPart, SplitPart] | None] = asyncio.Queue(maxsize=1)

        async def splitting() -> None:
            previous: SplitPart | None = None
            while (part := await priced.get()) is not None:
                with spare.busy():
                    previous = await split(part, previous)
                await split_parts.put((part, previous))
            await split_parts.put(None)

        stored_parts: asyncio.Queue[tuple[Sequence[Any], list[asyncio.Future[None]]] | None] = asyncio.Queue(1)

        async def storing() -> None:
            while (item := await split_parts.get()) is not None:
                part, done = item
                with spare.busy():
                    stored = await store(part, done)
                await stored_parts.put((part.acks, stored.acknowledged))
            await stored_parts.put(None)

        async def acking() -> None:
            while (item := await stored_parts.get()) is not None:
                acks, acknowledged = item
                await asyncio.gather(*acknowledged)
                for event in acks:  # stored and published: their offsets may be committed
                    await manual.ack(event)

        async with asyncio.TaskGroup() as group:
            group.create_task(splitting(), name="costream.split")
            group.create_task(storing(), name="costream.store")
            group.create_task(acking(), name="costream.ack")
            async for events in batches(manual, settings.insert_batch_size, settings.insert_batch_wait,
                                        counters.intake):  # fmt: skip
                # A batch is a number of messages; its parts are bounded in bytes, so what
                # a part builds (priced events, rows, messages) stays bounded whatever the
                # messages hold. The batch is acked when its last part is done.
                parts = slices([source_message(event) for event in events], PART_BYTES)
                for number, messages in enumerate(parts, 1):
                    # reloads swap worker.book
                    result = await price_in_slices(messages, worker.book, datetime.now(UTC), spare)
                    await priced.put(PricedPart(messages, result, events if number == len(parts) else ()))
            await priced.put(None)
