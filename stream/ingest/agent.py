"""The ingest agent: the I/O shell around :func:`process_messages`.

Messages are taken from the raw topic in batches (``take_events``). For each batch the
rows are stored in ClickHouse first, the windows they touch are noted, budgets are
checked against the stored spend, then priced events and dead letters are published and
awaited; only when the batch handler returns does Faust ack the batch's messages, so
committed offsets never pass a row that is not stored (at-least-once; the store
deduplicates by event_id).
"""

import asyncio
import base64
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any

import faust

from schemas import DeadLetter
from stream.ingest.decode import SourceMessage
from stream.ingest.encode import encode_priced_event
from stream.ingest.pipeline import IngestResult, process_messages
from stream.retry import retry_until_done

if TYPE_CHECKING:
    from stream.worker.app import Worker

log = logging.getLogger(__name__)


@dataclass(slots=True)
class IngestCounters:
    messages: int = 0
    events_priced: int = 0
    events_unpriced: int = 0
    dead_letters: int = 0
    batches: int = 0

    def add(self, messages: int, result: IngestResult) -> None:
        unpriced = result.unpriced_count
        self.messages += messages
        self.events_priced += len(result.priced) - unpriced
        self.events_unpriced += unpriced
        self.dead_letters += len(result.dead)
        self.batches += 1


MAX_DEAD_LETTER_BYTES = 512 * 1024
"""Kafka refuses messages over ~1 MB by default; a dead letter of a huge payload carries
the start of it on the topic, and the whole of it in the dead_letters table."""


def dead_letter_payload(letter: DeadLetter) -> bytes:
    payload = letter.model_dump_json().encode()
    if len(payload) <= MAX_DEAD_LETTER_BYTES:
        return payload
    size = len(base64.b64decode(letter.original_b64))
    keep = MAX_DEAD_LETTER_BYTES // 2 // 4 * 4  # whole base64 quanta
    return letter.model_copy(
        update={"original_b64": letter.original_b64[:keep], "original_truncated": True, "original_size": size}
    ).model_dump_json().encode()


def source_message(event: Any) -> SourceMessage:
    message = event.message
    value = message.value if isinstance(message.value, bytes) else bytes(message.value or b"")
    return SourceMessage(value, message.key, message.topic, message.partition, message.offset)


def register_ingest_agent(worker: "Worker") -> None:
    app, settings, topics = worker.app, worker.settings, worker.topics
    sink, counters, windows, budgets = worker.sink, worker.counters, worker.windows, worker.budgets

    priced_topic, dlq_topic = settings.topic_priced, settings.topic_dlq

    async def publish(result: IngestResult) -> None:
        # Straight to the producer: a Faust topic.send per event costs more than pricing it.
        producer = app.producer
        pending = [
            await producer.send(priced_topic, record.event.tenant_id.encode(),
                                encode_priced_event(record.event), None, None, None)
            for record in result.priced
        ]
        pending += [
            await producer.send(dlq_topic, (letter.tenant_id or "").encode() or None,
                                dead_letter_payload(letter), None, None, None)
            for letter in result.dead
        ]
        if pending:
            await asyncio.gather(*pending)

    @app.agent(topics["raw"], name="costream.ingest")
    async def ingest(stream: faust.StreamT[bytes]) -> None:
        batches = stream.take_events(settings.insert_batch_size, within=settings.insert_batch_wait)  # type: ignore[attr-defined]
        async for events in batches:
            messages = [source_message(event) for event in events]
            now = datetime.now(UTC)
            result = process_messages(messages, worker.book, now)  # reloads swap worker.book
            windows.begin_batch(now)
            await sink.store_batch(result.priced, result.dead)
            priced_events = [record.event for record in result.priced]
            windows.note(priced_events)
            await retry_until_done(
                partial(budgets.check, priced_events), "budget check", settings.insert_retry_max_backoff
            )
            await retry_until_done(partial(publish, result), "publishing priced events and dead letters",
                                   settings.insert_retry_max_backoff)
            counters.add(len(messages), result)
