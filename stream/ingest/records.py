"""A priced event together with the message it came from."""

from dataclasses import dataclass

from schemas import PricedUsageEvent
from stream.ingest.decode import SourceMessage


@dataclass(slots=True)  # not frozen: built once per event, and a frozen dataclass costs three times as much
class PricedRecord:
    event: PricedUsageEvent
    source: SourceMessage
    batch_index: int | None = None
    """The event's place in its message's envelope (None for a single-event message, or
    when read back from the store)."""
