"""Re-pricing stored events with the catalog now in force for their ``occurred_at``.

The events are read from ``usage_events FINAL`` a page at a time, in sorting-key order
(keyset pagination, so the memory a run needs follows the page, not the period). Each is
priced again from its stored canonical tokens, provider, model, tenant and time, exactly
as the ingest pipeline prices it (:func:`stream.pricing.event.cost_of_record`). An event
whose price changed gets a corrected row: the same sorting key ``(tenant_id, occurred_at,
event_id)``, the same Kafka partition and offset, and a later ``ingested_at``, which is the
table's version column, so the corrected row is the one ``FINAL`` and merges keep. Writing
it twice, or from two runs at once, leaves one row; an event stays one event (the
``event_ids`` table is not touched). A second run with the same catalog finds nothing to
change.

Then the windows holding a changed event are computed again from the store and written
with a higher version, with the hour and day rollups they fall in
(:func:`refresh_windows`), and one audit row per (tenant, provider, model) read goes to
``reprice_runs``. What the worker holds (open windows, budget spend) is the caller's: see
:mod:`stream.reprice.worker`.
"""

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

from schemas import PricedUsageEvent, TrackingType
from schemas.limits import MAX_ID_CHARS
from schemas.money import MONEY_CONTEXT, plain_decimal
from schemas.windows import WindowAggregate
from stream.ingest.records import PricedRecord
from stream.pricing.book import PriceBook
from stream.pricing.event import UNKNOWN_MODEL, cost_of_record
from stream.reports.params import parse_instant
from stream.sinks.clickhouse import ClickHouseSink
from stream.store.rows import EVENT_COLUMNS, EVENT_INSERT_COLUMNS, event_insert_row, priced_record_from_row
from stream.windows.keys import window_end, window_start
from stream.windows.state import Window, WindowKey, aggregates
from stream.windows.store import load_windows, store_aggregates

PAGE_SIZE = 5_000
"""Events read, priced and written per page."""

AUDIT_COLUMNS = (
    "run_id", "ran_at", "since", "until", "tenant_filter", "model_filter", "catalog", "tenant_id", "provider",
    "model", "old_prices", "new_prices", "events", "changed", "old_unpriced", "new_unpriced", "old_total",
    "new_total",
)  # fmt: skip

_PRICING_FIELDS = (
    "resolved_model", "tracking_type", "priced", "token_cost", "total_cost", "cost_drift_usd", "cache_savings_usd",
    "price_source", "price_version",
)  # fmt: skip
_MS = timedelta(milliseconds=1)


@dataclass(frozen=True, slots=True)
class RepriceRequest:
    since: datetime
    until: datetime | None = None
    tenant: str | None = None
    model: str | None = None
    """Matches the model id as sent or as the catalog resolved it."""
    dry_run: bool = False

    @classmethod
    def from_json(cls, body: Any) -> "RepriceRequest":
        """From ``{"since", "until"?, "tenant"?, "model"?, "dry_run"?}`` (times as
        :func:`stream.reports.params.parse_instant` reads them); ValueError names the field."""
        if not isinstance(body, dict):
            raise ValueError("expected a JSON object {since, until, tenant, model, dry_run}")
        unknown = sorted(set(body) - {"since", "until", "tenant", "model", "dry_run"})
        if unknown:
            raise ValueError(f"unknown field {unknown[0]!r}: use since, until, tenant, model, dry_run")
        times: dict[str, datetime | None] = {}
        for name in ("since", "until"):
            value = body.get(name)
            if value is None:
                if name == "since":
                    raise ValueError("since is required: the earliest occurred_at to re-price")
                times[name] = None
                continue
            if not isinstance(value, str):
                raise ValueError(f"{name}: expected a time such as 2026-05-01T00:00:00Z")
            try:
                times[name] = parse_instant(value)
            except ValueError as exc:
                raise ValueError(f"{name}: {exc}") from None
        since, until = times["since"], times["until"]
        assert since is not None
        if until is not None and until <= since:
            raise ValueError("until must be after since")
        texts: dict[str, str | None] = {}
        for name in ("tenant", "model"):
            value = body.get(name)
            if value is not None and (not isinstance(value, str) or not value or len(value) > MAX_ID_CHARS):
                raise ValueError(f"{name}: expected a non-empty string of at most {MAX_ID_CHARS} characters")
            texts[name] = value
        dry_run = body.get("dry_run", False)
        if not isinstance(dry_run, bool):
            raise ValueError("dry_run: expected true or false")
        return cls(since, until, texts["tenant"], texts["model"], dry_run)

    def as_json(self) -> dict[str, Any]:
        return {"since": self.since.isoformat(), "until": self.until.isoformat() if self.until else None,
                "tenant": self.tenant, "model": self.model, "dry_run": self.dry_run}  # fmt: skip


@dataclass(slots=True)
class GroupDiff:
    """Old and new totals of one (tenant, provider, model) in a run."""

    tenant_id: str
    provider: str
    model: str
    events: int = 0
    changed: int = 0
    old_total: Decimal = Decimal(0)
    new_total: Decimal = Decimal(0)
    old_unpriced: int = 0
    new_unpriced: int = 0
    old_prices: set[str] = field(default_factory=set)
    new_prices: set[str] = field(default_factory=set)

    def add(self, old: PricedUsageEvent, new: PricedUsageEvent, changed: bool) -> None:
        self.events += 1
        self.changed += changed
        self.old_total = MONEY_CONTEXT.add(self.old_total, old.total_cost or 0)
        self.new_total = MONEY_CONTEXT.add(self.new_total, new.total_cost or 0)
        self.old_unpriced += not old.priced
        self.new_unpriced += not new.priced
        self.old_prices.add(price_label(old))
        self.new_prices.add(price_label(new))

    @property
    def delta(self) -> Decimal:
        return MONEY_CONTEXT.subtract(self.new_total, self.old_total)

    def as_json(self) -> dict[str, Any]:
        return {
            "tenant_id": self.tenant_id, "provider": self.provider, "model": self.model, "events": self.events,
            "changed": self.changed, "old_total_usd": plain_decimal(self.old_total),
            "new_total_usd": plain_decimal(self.new_total), "delta_usd": plain_decimal(self.delta),
            "old_unpriced": self.old_unpriced, "new_unpriced": self.new_unpriced,
            "old_prices": sorted(self.old_prices), "new_prices": sorted(self.new_prices),
        }  # fmt: skip


@dataclass(frozen=True, slots=True)
class Change:
    """An event whose price changed: its stored row and its corrected one."""

    old: PricedUsageEvent
    new: PricedRecord


@dataclass(slots=True)
class RepriceReport:
    run_id: str
    ran_at: datetime
    request: RepriceRequest
    catalog: str
    groups: dict[tuple[str, str, str], GroupDiff] = field(default_factory=dict)
    windows_refreshed: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
    """What the worker did with its held state (see stream.reprice.worker)."""

    @property
    def events(self) -> int:
        return sum(g.events for g in self.groups.values())

    @property
    def changed(self) -> int:
        return sum(g.changed for g in self.groups.values())

    def as_json(self) -> dict[str, Any]:
        old = sum((g.old_total for g in self.groups.values()), Decimal(0))
        new = sum((g.new_total for g in self.groups.values()), Decimal(0))
        return {
            "run_id": self.run_id, "ran_at": self.ran_at.isoformat(), **self.request.as_json(),
            "catalog": self.catalog, "events": self.events, "changed": self.changed,
            "old_total_usd": plain_decimal(old), "new_total_usd": plain_decimal(new),
            "delta_usd": plain_decimal(MONEY_CONTEXT.subtract(new, old)), "windows_refreshed": self.windows_refreshed,
            "groups": [g.as_json() for _, g in sorted(self.groups.items())], **self.extra,
        }  # fmt: skip


def price_label(event: PricedUsageEvent) -> str:
    """Which price an event had: ``<source>@<version>``, or ``unpriced``."""
    if not event.priced or event.price_source is None:
        return "provider_cost" if event.tracking_type is TrackingType.PROVIDER_COST else "unpriced"
    return f"{event.price_source} {event.price_version}"


def catalog_of(book: PriceBook) -> str:
    """The catalog in force, by the versions of its layers."""
    return (f"genai-prices {book.data.version} ({book.data.origin}); corrections {book.corrections.revision}; "
            f"overrides {book.overrides.revision}")  # fmt: skip


def repriced(event: PricedUsageEvent, book: PriceBook, ingested_at: datetime) -> PricedUsageEvent:
    """The event priced again with ``book``, as the ingest pipeline prices it, stamped
    with ``ingested_at`` (its row's version; the caller makes it later than the stored one)."""
    quote = None
    if event.model and event.model != UNKNOWN_MODEL:
        quote = book.quote(event.provider, event.model, event.tokens, event.occurred_at, event.tenant_id)
    token_cost = quote.breakdown if quote is not None else None
    tracking, total, drift = cost_of_record(event.provider_cost_usd, token_cost.total if token_cost else None)
    return event.model_copy(update={
        "ingested_at": ingested_at, "resolved_model": quote.resolved_model if quote else None,
        "token_cost": token_cost, "total_cost": total, "cost_drift_usd": drift,
        "cache_savings_usd": quote.cache_savings if quote else None, "tracking_type": tracking,
        "priced": tracking is not TrackingType.UNPRICED, "price_source": quote.price_source if quote else None,
        "price_version": quote.price_version if quote else None,
    })  # fmt: skip


def _same_price(old: PricedUsageEvent, new: PricedUsageEvent) -> bool:
    for name in _PRICING_FIELDS:
        a, b = getattr(old, name), getattr(new, name)
        if name == "token_cost" and a is not None and b is not None:
            if any(getattr(a, line) != getattr(b, line) for line in type(b).model_fields):
                return False
        elif a != b:
            return False
    return True


def _filters(request: RepriceRequest) -> tuple[str, dict[str, Any]]:
    where = ["occurred_at >= {since:DateTime64(3, 'UTC')}"]
    parameters: dict[str, Any] = {"since": request.since}
    if request.until is not None:
        where.append("occurred_at < {until:DateTime64(3, 'UTC')}")
        parameters["until"] = request.until
    if request.tenant:
        where.append("tenant_id = {tenant:String}")
        parameters["tenant"] = request.tenant
    if request.model:
        where.append("(model = {model:String} OR resolved_model = {model:String})")
        parameters["model"] = request.model
    return " AND ".join(where), parameters


async def count_events(sink: ClickHouseSink, request: RepriceRequest) -> int:
    where, parameters = _filters(request)
    result = await sink.store.query_consistent(f"SELECT count() FROM usage_events FINAL WHERE {where}", parameters)
    return int(result.result_rows[0][0])


Progress = Callable[[int], None]
OnChanges = Callable[[Sequence[Change]], None]


async def reprice_events(
    sink: ClickHouseSink, book: PriceBook, request: RepriceRequest, *, size_seconds: int,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC), progress: Progress | None = None,
    on_changes: OnChanges | None = None, page_size: int = PAGE_SIZE,
) -> tuple[RepriceReport, set[WindowKey]]:  # fmt: skip
    """Price the events again, write the corrected rows (unless a dry run), and return the
    diff and the windows (of ``size_seconds``) that hold a changed event."""
    now = clock()
    report = RepriceReport(uuid.uuid4().hex, now, request, catalog_of(book))
    touched: set[WindowKey] = set()
    where, parameters = _filters(request)
    sql = (f"SELECT {', '.join(EVENT_COLUMNS)} FROM usage_events FINAL WHERE {where} "
           "AND (tenant_id, occurred_at, event_id) > ({after_tenant:String}, {after_at:DateTime64(3, 'UTC')}, "
           "{after_id:String}) ORDER BY tenant_id, occurred_at, event_id LIMIT {page:UInt32}")  # fmt: skip
    after: tuple[str, datetime, str] = ("", request.since, "")
    stamp = now.replace(microsecond=now.microsecond // 1000 * 1000)
    while True:
        page = await sink.store.query_consistent(
            sql, {**parameters, "after_tenant": after[0], "after_at": after[1], "after_id": after[2],
                  "page": page_size})  # fmt: skip
        rows = list(page.named_results())
        if not rows:
            break
        changes: list[Change] = []
        for row in rows:
            record = priced_record_from_row(row)
            old = record.event
            new = repriced(old, book, max(stamp, old.ingested_at + _MS))
            changed = not _same_price(old, new)
            key = (old.tenant_id, old.provider, old.model)
            group = report.groups.get(key)
            if group is None:
                group = report.groups[key] = GroupDiff(*key)
            group.add(old, new, changed)
            if changed:
                changes.append(Change(old, PricedRecord(new, record.source)))
                touched.add((old.tenant_id, window_start(old.occurred_at, size_seconds)))
        if changes and not request.dry_run:
            corrected = [change.new for change in changes]
            await sink.insert_until_stored("usage_events", partial(map, event_insert_row, corrected),
                                           EVENT_INSERT_COLUMNS, len(corrected), as_json=True)  # fmt: skip
        if on_changes is not None and changes:
            on_changes(changes)
        if progress is not None:
            progress(len(rows))
        last = rows[-1]
        after = (last["tenant_id"], last["occurred_at"], last["event_id"])
        if len(rows) < page_size:
            break
    return report, touched


HeldWindow = Callable[[WindowKey], Window | None]


async def refresh_windows(
    sink: ClickHouseSink, keys: set[WindowKey], *, size_seconds: int, dimensions: Sequence[str], max_groups: int,
    grace: timedelta, now: datetime, held: HeldWindow = lambda key: None,
) -> tuple[list[WindowAggregate], list[WindowKey]]:  # fmt: skip
    """Compute these windows again from the store (the corrected rows are in it) and write
    them with a higher version, then their hour and day rollups. A window ``held`` by the
    worker takes the new content (and a version above both) and is left for the worker to
    emit. Returns the rows written and the held windows changed."""
    if not keys:
        return [], []
    loaded = await load_windows(sink, sorted(keys), size_seconds, dimensions, max_groups)
    rows: list[WindowAggregate] = []
    held_changed: list[WindowKey] = []
    for key, window in sorted(loaded.items()):
        own = held(key)
        if own is not None:
            own.groups = window.groups
            own.version = max(own.version + 1, window.version)
            held_changed.append(key)
            continue
        open_ = now < window_end(window.start, size_seconds) + grace
        rows += aggregates(window, size_seconds, open_, now)
    await store_aggregates(sink, rows, size_seconds)
    return rows, held_changed


async def write_audit(sink: ClickHouseSink, report: RepriceReport) -> None:
    """One ``reprice_runs`` row per (tenant, provider, model) the run read."""
    request = report.request
    rows = [
        [report.run_id, report.ran_at, request.since, request.until, request.tenant or "", request.model or "",
         report.catalog, g.tenant_id, g.provider, g.model, sorted(g.old_prices), sorted(g.new_prices), g.events,
         g.changed, g.old_unpriced, g.new_unpriced, g.old_total, g.new_total]
        for _, g in sorted(report.groups.items())
    ]  # fmt: skip
    if rows:
        await sink.insert_until_stored("reprice_runs", rows, AUDIT_COLUMNS)
