"""The row shapes of ``usage_events`` and of the windows and rollups, written once.

The sink, the worker's window state, the reconciliation SQL and the reports all derive
their column lists and measure expressions from here, so adding a column is one edit
(plus its migration).
"""

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from schemas import CostBreakdown, EventAttributes, PricedUsageEvent, TokenUsage, TrackingType
from stream.ingest.decode import SourceMessage
from stream.ingest.records import PricedRecord
from stream.store.client import as_utc

_ZERO = Decimal(0)

COST_LINES: tuple[str, ...] = ("input", "cache_read", "cache_write", "output", "reasoning", "other")
"""The parts of a token-priced cost (``CostBreakdown``) that add up to ``token_cost``;
each is stored as the column ``<line>_cost``."""


def _cost(name: str) -> Callable[[PricedUsageEvent], Decimal]:
    def value(event: PricedUsageEvent) -> Decimal:
        breakdown = event.token_cost
        return getattr(breakdown, name) if breakdown is not None else _ZERO

    return value


@dataclass(frozen=True, slots=True)
class Measure:
    """One summed measure of windows and rollups.

    ``name`` is its column in ``usage_windows`` and the rollups, ``over_events`` the SQL
    aggregate that computes it from ``usage_events``, ``of_event`` what one event adds."""

    name: str
    over_events: str
    of_event: Callable[[PricedUsageEvent], Any]
    money: bool = False

    @property
    def zero(self) -> int | Decimal:
        return _ZERO if self.money else 0


MEASURES: tuple[Measure, ...] = (
    Measure("requests", "count()", lambda e: 1),
    Measure("priced_requests", "countIf(priced)", lambda e: 1 if e.priced else 0),
    Measure("unpriced_requests", "countIf(NOT priced)", lambda e: 0 if e.priced else 1),
    Measure("input_tokens", "sum(input_tokens)", lambda e: e.tokens.input_tokens),
    Measure("cache_read_tokens", "sum(cache_read_tokens)", lambda e: e.tokens.cache_read_tokens),
    Measure("cache_write_tokens", "sum(cache_write_tokens)", lambda e: e.tokens.cache_write_tokens),
    Measure("output_tokens", "sum(output_tokens)", lambda e: e.tokens.output_tokens),
    Measure("reasoning_tokens", "sum(reasoning_tokens)", lambda e: e.tokens.reasoning_tokens),
    Measure("input_cost", "sum(ifNull(input_cost, 0))", _cost("input"), money=True),
    Measure("cache_read_cost", "sum(ifNull(cache_read_cost, 0))", _cost("cache_read"), money=True),
    Measure("cache_write_cost", "sum(ifNull(cache_write_cost, 0))", _cost("cache_write"), money=True),
    Measure("output_cost", "sum(ifNull(output_cost, 0))", _cost("output"), money=True),
    Measure("reasoning_cost", "sum(ifNull(reasoning_cost, 0))", _cost("reasoning"), money=True),
    Measure("other_cost", "sum(ifNull(other_cost, 0))", _cost("other"), money=True),
    Measure("token_cost", "sum(ifNull(token_cost, 0))", _cost("total"), money=True),
    Measure("provider_cost", "sum(ifNull(provider_cost, 0))", lambda e: e.provider_cost_usd or _ZERO, money=True),
    Measure("total_cost", "sum(ifNull(total_cost, 0))", lambda e: e.total_cost or _ZERO, money=True),
    Measure("cache_savings", "sum(ifNull(cache_savings, 0))", lambda e: e.cache_savings_usd or _ZERO, money=True),
    Measure("latency_ms_sum", "sum(ifNull(latency_ms, 0))", lambda e: e.attributes.latency_ms or 0),
    Measure("latency_requests", "count(latency_ms)", lambda e: 0 if e.attributes.latency_ms is None else 1),
)
MEASURE_NAMES: tuple[str, ...] = tuple(measure.name for measure in MEASURES)
MONEY_MEASURES = frozenset(measure.name for measure in MEASURES if measure.money)


def _attribute(name: str) -> Callable[[PricedRecord], Any]:
    return lambda record: getattr(record.event.attributes, name) or ""


def _token(name: str) -> Callable[[PricedRecord], Any]:
    return lambda record: getattr(record.event.tokens, name)


def _line(name: str) -> Callable[[PricedRecord], Any]:
    def value(record: PricedRecord) -> Decimal | None:
        breakdown = record.event.token_cost
        return getattr(breakdown, name) if breakdown is not None else None

    return value


def _event(name: str) -> Callable[[PricedRecord], Any]:
    return lambda record: getattr(record.event, name)


# column of usage_events -> how a priced record fills it
EVENT_ROW: dict[str, Callable[[PricedRecord], Any]] = {
    "event_id": _event("event_id"),
    "tenant_id": _event("tenant_id"),
    "occurred_at": _event("occurred_at"),
    "ingested_at": _event("ingested_at"),
    "provider": _event("provider"),
    "api_flavor": _event("api_flavor"),
    "model": _event("model"),
    "resolved_model": _event("resolved_model"),
    "tracking_type": lambda record: record.event.tracking_type.value,
    "priced": _event("priced"),
    **{name: _token(name) for name in (
        "input_tokens", "cache_read_tokens", "cache_write_tokens", "cache_write_1h_tokens", "output_tokens",
        "reasoning_tokens", "input_audio_tokens", "output_audio_tokens",
    )},
    **{f"{line}_cost": _line(line) for line in COST_LINES},
    "token_cost": _line("total"),
    "provider_cost": _event("provider_cost_usd"),
    "total_cost": _event("total_cost"),
    "cost_drift": _event("cost_drift_usd"),
    "cache_savings": _event("cache_savings_usd"),
    "currency": _event("currency"),
    "price_source": _event("price_source"),
    "price_version": _event("price_version"),
    **{name: _attribute(name) for name in (
        "feature", "agent", "operation", "user_id", "session_id", "request_id", "api_key_id",
    )},
    "latency_ms": lambda record: record.event.attributes.latency_ms,
    "tags": lambda record: record.event.attributes.tags,
    "kafka_partition": lambda record: record.source.partition,
    "kafka_offset": lambda record: record.source.offset,
}  # fmt: skip
EVENT_COLUMNS: tuple[str, ...] = tuple(EVENT_ROW)
_EVENT_GETTERS = tuple(EVENT_ROW.values())


def event_row(record: PricedRecord) -> list[Any]:
    return [getter(record) for getter in _EVENT_GETTERS]


def event_columns_data(records: list[PricedRecord]) -> list[list[Any]]:
    """The same rows, column by column: what a columnar insert takes."""
    return [[getter(record) for record in records] for getter in _EVENT_GETTERS]


_TOKEN_COLUMNS = (
    "input_tokens", "cache_read_tokens", "cache_write_tokens", "cache_write_1h_tokens", "output_tokens",
    "reasoning_tokens", "input_audio_tokens", "output_audio_tokens",
)  # fmt: skip
_LINES = ("input", "cache_read", "cache_write", "output", "reasoning", "other")
_ATTRIBUTES = ("feature", "agent", "operation", "user_id", "session_id", "request_id", "api_key_id")


def priced_record_from_row(row: dict[str, Any]) -> PricedRecord:
    """A stored ``usage_events`` row (as :data:`EVENT_COLUMNS` names it) back as the
    record it was written from: how recovery replays stored events into worker state."""
    token_cost = None
    if row["token_cost"] is not None:
        token_cost = CostBreakdown.model_construct(
            **{line: row[f"{line}_cost"] for line in _LINES}, total=row["token_cost"]
        )
    attributes = EventAttributes.model_construct(
        **{name: row[name] or None for name in _ATTRIBUTES}, latency_ms=row["latency_ms"], tags=dict(row["tags"])
    )
    event = PricedUsageEvent.model_construct(
        event_id=row["event_id"], tenant_id=row["tenant_id"], occurred_at=as_utc(row["occurred_at"]),
        ingested_at=as_utc(row["ingested_at"]), provider=row["provider"], api_flavor=row["api_flavor"],
        model=row["model"], resolved_model=row["resolved_model"],
        tokens=TokenUsage.model_construct(**{name: row[name] for name in _TOKEN_COLUMNS}),
        token_cost=token_cost, provider_cost_usd=row["provider_cost"], total_cost=row["total_cost"],
        cost_drift_usd=row["cost_drift"], cache_savings_usd=row["cache_savings"],
        tracking_type=TrackingType(row["tracking_type"]), priced=bool(row["priced"]), currency=row["currency"],
        price_source=row["price_source"], price_version=row["price_version"], attributes=attributes,
    )  # fmt: skip
    source = SourceMessage(b"", row["tenant_id"].encode(), "", int(row["kafka_partition"]), int(row["kafka_offset"]))
    return PricedRecord(event, source)
