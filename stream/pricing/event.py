"""Pricing one event: tracking type, cost of record, drift (pure)."""

from datetime import datetime
from decimal import Decimal

from schemas import PricedUsageEvent, RawUsageEvent, TrackingType
from schemas.money import MONEY_CONTEXT
from schemas.wire import PricedEventStruct, RawEventStruct
from stream.canonical import ExtractedUsage
from stream.pricing.book import PriceBook

UNKNOWN_MODEL = "unknown"


def cost_of_record(
    reported: Decimal | None, token_total: Decimal | None
) -> tuple[TrackingType, Decimal | None, Decimal | None]:
    """Tracking type, total cost and drift from a reported cost and a token cost (either
    may be missing): the reported cost is the cost of record, else the token cost, else
    the event is unpriced (total None, never $0). Used at ingestion and by re-pricing."""
    drift = MONEY_CONTEXT.subtract(reported, token_total) if reported is not None and token_total is not None else None
    if reported is not None:
        return TrackingType.PROVIDER_COST, reported, drift
    if token_total is not None:
        return TrackingType.TOKENS, token_total, None
    return TrackingType.UNPRICED, None, None


def price_event(
    event: RawUsageEvent | RawEventStruct, extracted: ExtractedUsage, book: PriceBook, ingested_at: datetime
) -> PricedUsageEvent:
    """Exactly one tracking type: provider_cost (a cost was reported) > tokens (the book
    prices the model) > unpriced (cost null, tokens kept). With both a reported cost and
    a token price, both are kept and their difference is the drift.

    The event is a :data:`schemas.wire.PricedEventStruct`, built without validating it
    again: every part is validated already, the event on decoding, tokens on
    extraction, costs by construction in the book. It has every attribute of
    PricedUsageEvent; encode it with stream.ingest.encode."""
    model = event.model or extracted.model
    quote = (
        book.quote(event.provider, model, extracted.tokens, event.occurred_at, event.tenant_id, trusted=True)
        if model else None
    )
    reported = event.provider_cost_usd if event.provider_cost_usd is not None else extracted.reported_cost_usd
    token_cost = quote.breakdown if quote is not None else None
    tracking, total, drift = cost_of_record(reported, token_cost.total if token_cost is not None else None)
    return PricedEventStruct(
        event_id=event.event_id,
        tenant_id=event.tenant_id,
        occurred_at=event.occurred_at,
        ingested_at=ingested_at,
        provider=event.provider,
        api_flavor=event.api_flavor,
        model=model or UNKNOWN_MODEL,
        resolved_model=quote.resolved_model if quote is not None else None,
        tokens=extracted.tokens,
        token_cost=token_cost,
        provider_cost_usd=reported,
        total_cost=total,
        cost_drift_usd=drift,
        cache_savings_usd=quote.cache_savings if quote is not None else None,
        tracking_type=tracking,
        priced=tracking is not TrackingType.UNPRICED,
        price_source=quote.price_source if quote is not None else None,
        price_version=quote.price_version if quote is not None else None,
        currency="USD",
        attributes=event.attributes,
    )
