"""The row shapes of ``usage_events`` and of the windows and rollups, written once.

The sink, the worker's window state, the reconciliation SQL and the reports all derive
their column lists and measure expressions from here, so adding a column is one edit
(plus its migration).
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from operator import attrgetter
from typing import Any

from schemas import CostBreakdown, EventAttributes, PricedUsageEvent, TokenUsage, TrackingType
from stream.ingest.decode import SourceMessage
from stream.ingest.records import PricedRecord
from stream.store.client import as_utc

_ZERO = Decimal(0)

COST_LINES: tuple[str, ...] = ("input", "cache_read", "cache_write", "output", "reasoning", "other")
"""The parts of a token-priced cost (``CostBreakdown``) that add up to ``token_cost``;
each is stored as the column ``<line>_cost``."""


Events = Sequence[PricedUsageEvent]


# The sums run over a group's new events in C (map, filter, sum): a Python call per event
# and measure cost more than the rest of a window update.
def _count(events: Events) -> int:
    return len(events)


def _flags(path: str, count: bool) -> Callable[[Events], int]:
    get = attrgetter(path)
    return lambda events: list(map(get, events)).count(count)


def _present(path: str) -> Callable[[Events], int]:
    get = attrgetter(path)
    return lambda events: len(events) - list(map(get, events)).count(None)


def _sum(path: str, zero: int | Decimal = 0) -> Callable[[Events], Any]:
    """The sum of a field over events, an absent value (None) counting as zero."""
    get = attrgetter(path)
    return lambda events: sum(filter(None, map(get, events)), zero)


_get_breakdown = attrgetter("token_cost")


def _cost_line(line: str) -> Callable[[Events], Decimal]:
    """A line of the token cost breakdown, summed over the events that have one."""
    get = attrgetter(line)
    return lambda events: sum(map(get, filter(None, map(_get_breakdown, events))), _ZERO)


@dataclass(frozen=True, slots=True)
class Measure:
    """One summed measure of windows and rollups.

    ``name`` is its column in ``usage_windows`` and the rollups, ``over_events`` the SQL
    aggregate that computes it from ``usage_events``, ``of_events`` what a run of events
    adds to it."""

    name: str
    over_events: str
    of_events: Callable[[Events], Any]
    money: bool = False

    @property
    def zero(self) -> int | Decimal:
        return _ZERO if self.money else 0


MEASURES: tuple[Measure, ...] = (
    Measure("requests", "count()", _count),
    Measure("priced_requests", "countIf(priced)", _flags("priced", True)),
    Measure("unpriced_requests", "countIf(NOT priced)", _flags("priced", False)),
    Measure("input_tokens", "sum(input_tokens)", _sum("tokens.input_tokens")),
    Measure("cache_read_tokens", "sum(cache_read_tokens)", _sum("tokens.cache_read_tokens")),
    Measure("cache_write_tokens", "sum(cache_write_tokens)", _sum("tokens.cache_write_tokens")),
    Measure("output_tokens", "sum(output_tokens)", _sum("tokens.output_tokens")),
    Measure("reasoning_tokens", "sum(reasoning_tokens)", _sum("tokens.reasoning_tokens")),
    Measure("input_cost", "sum(ifNull(input_cost, 0))", _cost_line("input"), money=True),
    Measure("cache_read_cost", "sum(ifNull(cache_read_cost, 0))", _cost_line("cache_read"), money=True),
    Measure("cache_write_cost", "sum(ifNull(cache_write_cost, 0))", _cost_line("cache_write"), money=True),
    Measure("output_cost", "sum(ifNull(output_cost, 0))", _cost_line("output"), money=True),
    Measure("reasoning_cost", "sum(ifNull(reasoning_cost, 0))", _cost_line("reasoning"), money=True),
    Measure("other_cost", "sum(ifNull(other_cost, 0))", _cost_line("other"), money=True),
    Measure("token_cost", "sum(ifNull(token_cost, 0))", _cost_line("total"), money=True),
    Measure("provider_cost", "sum(ifNull(provider_cost, 0))", _sum("provider_cost_usd", _ZERO), money=True),
    Measure("total_cost", "sum(ifNull(total_cost, 0))", _sum("total_cost", _ZERO), money=True),
    Measure("cache_savings", "sum(ifNull(cache_savings, 0))", _sum("cache_savings_usd", _ZERO), money=True),
    Measure("latency_ms_sum", "sum(ifNull(latency_ms, 0))", _sum("attributes.latency_ms")),
    Measure("latency_requests", "count(latency_ms)", _present("attributes.latency_ms")),
)
MEASURE_NAMES: tuple[str, ...] = tuple(measure.name for measure in MEASURES)
MONEY_MEASURES = frozenset(measure.name for measure in MEASURES if measure.money)


_TOKENS = (
    "input_tokens", "cache_read_tokens", "cache_write_tokens", "cache_write_1h_tokens", "output_tokens",
    "reasoning_tokens", "input_audio_tokens", "output_audio_tokens",
)  # fmt: skip
_LINES = (*COST_LINES, "total")
_ATTRIBUTES = ("feature", "agent", "operation", "user_id", "session_id", "request_id", "api_key_id")

# column of usage_events -> the attribute of a priced record that fills it. Every value is
# written as it is (an absent attribute is NULL, which the column stores as its default).
EVENT_FIELDS: dict[str, str] = {
    "event_id": "event.event_id",
    "tenant_id": "event.tenant_id",
    "occurred_at": "event.occurred_at",
    "ingested_at": "event.ingested_at",
    "provider": "event.provider",
    "api_flavor": "event.api_flavor",
    "model": "event.model",
    "resolved_model": "event.resolved_model",
    "tracking_type": "event.tracking_type",
    "priced": "event.priced",
    **{name: f"event.tokens.{name}" for name in _TOKENS},
    **{("token_cost" if line == "total" else f"{line}_cost"): f"event.token_cost.{line}" for line in _LINES},
    "provider_cost": "event.provider_cost_usd",
    "total_cost": "event.total_cost",
    "cost_drift": "event.cost_drift_usd",
    "cache_savings": "event.cache_savings_usd",
    "currency": "event.currency",
    "price_source": "event.price_source",
    "price_version": "event.price_version",
    **{name: f"event.attributes.{name}" for name in _ATTRIBUTES},
    "latency_ms": "event.attributes.latency_ms",
    "tags": "event.attributes.tags",
    "kafka_partition": "source.partition",
    "kafka_offset": "source.offset",
}  # fmt: skip
EVENT_COLUMNS: tuple[str, ...] = tuple(EVENT_FIELDS)

_COST_PREFIX = "event.token_cost."
# The cost lines come from the event's breakdown, which an unpriced event does not have:
# rows are written with those columns last, so a row is two C-level attribute reads.
_BREAKDOWN_COLUMNS = tuple(name for name, path in EVENT_FIELDS.items() if path.startswith(_COST_PREFIX))
EVENT_INSERT_COLUMNS: tuple[str, ...] = (
    *(name for name in EVENT_COLUMNS if name not in _BREAKDOWN_COLUMNS), *_BREAKDOWN_COLUMNS,
)
_RECORD_PART = attrgetter(*(EVENT_FIELDS[name] for name in EVENT_INSERT_COLUMNS if name not in _BREAKDOWN_COLUMNS))
_BREAKDOWN_PART = attrgetter(*(EVENT_FIELDS[name].removeprefix(_COST_PREFIX) for name in _BREAKDOWN_COLUMNS))
_NO_BREAKDOWN = (None,) * len(_BREAKDOWN_COLUMNS)


def fields_of(columns: Sequence[str]) -> Callable[[PricedRecord], tuple[Any, ...]]:
    """The values of these (non-cost-line) columns for a record, as one tuple."""
    getter = attrgetter(*(EVENT_FIELDS[name] for name in columns))
    return getter if len(columns) > 1 else lambda record: (getter(record),)


def event_insert_row(record: PricedRecord) -> tuple[Any, ...]:
    """The record's ``usage_events`` row, in :data:`EVENT_INSERT_COLUMNS` order."""
    breakdown = record.event.token_cost
    return _RECORD_PART(record) + (_NO_BREAKDOWN if breakdown is None else _BREAKDOWN_PART(breakdown))




def priced_record_from_row(row: dict[str, Any]) -> PricedRecord:
    """A stored ``usage_events`` row (as :data:`EVENT_COLUMNS` names it) back as the
    record it was written from: how recovery replays stored events into worker state."""
    token_cost = None
    if row["token_cost"] is not None:
        token_cost = CostBreakdown.model_construct(
            **{line: row[f"{line}_cost"] for line in COST_LINES}, total=row["token_cost"]
        )
    attributes = EventAttributes.model_construct(
        **{name: row[name] or None for name in _ATTRIBUTES}, latency_ms=row["latency_ms"], tags=dict(row["tags"])
    )
    event = PricedUsageEvent.model_construct(
        event_id=row["event_id"], tenant_id=row["tenant_id"], occurred_at=as_utc(row["occurred_at"]),
        ingested_at=as_utc(row["ingested_at"]), provider=row["provider"], api_flavor=row["api_flavor"],
        model=row["model"], resolved_model=row["resolved_model"],
        tokens=TokenUsage.model_construct(**{name: row[name] for name in _TOKENS}),
        token_cost=token_cost, provider_cost_usd=row["provider_cost"], total_cost=row["total_cost"],
        cost_drift_usd=row["cost_drift"], cache_savings_usd=row["cache_savings"],
        tracking_type=TrackingType(row["tracking_type"]), priced=bool(row["priced"]), currency=row["currency"],
        price_source=row["price_source"], price_version=row["price_version"], attributes=attributes,
    )  # fmt: skip
    source = SourceMessage(b"", row["tenant_id"].encode(), "", int(row["kafka_partition"]), int(row["kafka_offset"]))
    return PricedRecord(event, source)
