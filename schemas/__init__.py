"""Wire and row models of costream, one module per message family.

Every model here is pydantic v2, serialises to JSON (Decimals as strings) and is exported
as a JSON Schema file under ``schemas/json/`` by ``python -m schemas.export``.
"""

from schemas.dead_letter import DeadLetter
from schemas.events import EventAttributes, RawUsageEvent, UsageBatch
from schemas.priced import CostBreakdown, PricedUsageEvent, TrackingType
from schemas.usage import TokenUsage

__all__ = [
    "CostBreakdown",
    "DeadLetter",
    "EventAttributes",
    "PricedUsageEvent",
    "RawUsageEvent",
    "TokenUsage",
    "TrackingType",
    "UsageBatch",
]
