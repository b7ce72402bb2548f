"""The pure core of the ingest agent: a batch of raw messages in, priced events and
dead letters out. No I/O here, so ``costream price`` and the agent share it exactly."""

from dataclasses import dataclass, field
from datetime import datetime

from schemas import DeadLetter
from schemas.limits import MAX_EVENT_COST_USD
from stream.canonical import UsageError, extract_usage
from stream.ingest.decode import SourceMessage, dead_letter, decode_message
from stream.ingest.records import PricedRecord
from stream.pricing import PriceBook, price_event


@dataclass(slots=True)
class IngestResult:
    priced: list[PricedRecord] = field(default_factory=list)
    dead: list[DeadLetter] = field(default_factory=list)

    @property
    def unpriced_count(self) -> int:
        return sum(1 for record in self.priced if not record.event.priced)


def process_messages(messages: list[SourceMessage], book: PriceBook, now: datetime) -> IngestResult:
    result = IngestResult()
    for message in messages:
        decoded, dead = decode_message(message, now)
        result.dead.extend(dead)
        for item in decoded:
            event = item.event
            try:
                extracted = extract_usage(event.provider, event.api_flavor, event.response, event.usage, trusted=True)
            except UsageError as exc:
                prefix = f"events[{item.batch_index}]." if item.batch_index is not None else ""
                result.dead.append(
                    dead_letter(
                        message, "invalid_usage", f"{prefix}{exc}", now, item.batch_index,
                        {"event_id": event.event_id, "tenant_id": event.tenant_id},
                    )
                )
                continue
            priced = price_event(event, extracted, book, now)
            if priced.token_cost is not None and priced.token_cost.total > MAX_EVENT_COST_USD:
                prefix = f"events[{item.batch_index}]: " if item.batch_index is not None else ""
                reason = (f"{prefix}token cost {priced.token_cost.total} USD is over the limit of "
                          f"{MAX_EVENT_COST_USD} USD per event")  # fmt: skip
                result.dead.append(dead_letter(message, "cost_limit", reason, now, item.batch_index,
                                               {"event_id": event.event_id, "tenant_id": event.tenant_id}))  # fmt: skip
                continue
            result.priced.append(PricedRecord(priced, message, item.batch_index))
    return result
