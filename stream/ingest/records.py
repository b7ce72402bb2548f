"""A priced event together with the message it came from."""

from dataclasses import dataclass

from schemas import PricedUsageEvent
from stream.ingest.decode import SourceMessage


@dataclass(frozen=True, slots=True)
class PricedRecord:
    event: PricedUsageEvent
    source: SourceMessage
