"""Auditing the catalog against an independent price table (``costream prices audit``).

For every id the other table (LiteLLM's) prices for an audited provider, the catalog's
price for the same id is taken at the other table's data date (so a price change after
that date is not a disagreement), rate by rate: genai-prices' own rate, the correction
over it if any, and the other table's. A rate differs when the two are more than 1%
apart (relative to the larger). For a model with time-of-day prices (off-peak
discounts) the other table, which has one price, agrees when it matches one of the
day's prices. A cache rate of 0 in the other table means "not priced there" and is not
compared.

A disagreement is resolved when the catalog's price there comes from a correction (a
rate checked on the provider's page, with its source) or a resolution entry says the
other table is wrong for that model; otherwise it is unresolved. A correction that
disagrees with the other table where both cite the same page is always reported: one of
the two misread it. Models missing from either side are listed, not failed.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from urllib.parse import urlsplit

from stream.canonical import canonical_provider
from stream.pricing import genai
from stream.pricing.book import PriceBook, ResolvedPrice
from stream.pricing.corrections import SOURCE as CORRECTIONS
from stream.pricing.corrections import Corrections
from stream.pricing.litellm import NAME as LITELLM
from stream.pricing.litellm import PROVIDERS, LiteLLMEntry, LiteLLMTable
from stream.pricing.normalize import same_id_forms
from stream.pricing.rates import CompiledRates

TOLERANCE = Decimal("0.01")
_ROUTING_ID = re.compile(r"^(?:bedrock/[a-z]{2}(?:-gov)?-[a-z]+-\d/|azure/[a-z-]+/)")
"""LiteLLM's own routing spellings (``bedrock/us-gov-east-1/<model>``, ``azure/eu/<model>``):
a region's price list rather than an id a caller sends or a provider returns; not compared."""
AUDITED_PROVIDERS = tuple(sorted(set(PROVIDERS.values())))
_CACHE_RATES = ("cache_read", "cache_write_5m", "cache_write_1h")


class Kind(StrEnum):
    RATE = "rate"
    """A rate differs by more than 1%."""
    CITED = "correction_vs_cited"
    """A correction differs from another source that cites the same page."""
    MISSING_IN_CATALOG = "missing_in_catalog"
    MISSING_IN_OTHER = "missing_in_other"


class Status(StrEnum):
    UNRESOLVED = "unresolved"
    RESOLVED = "resolved"
    INFO = "info"


@dataclass(frozen=True, slots=True)
class Source:
    name: str
    version: str
    data_date: date | None
    origin: str


@dataclass(frozen=True, slots=True)
class Finding:
    kind: Kind
    status: Status
    provider: str
    model: str
    """The catalog's model id (``provider/model``), or the other table's id when the catalog has none."""
    compared_id: str | None
    """The id the other table prices (and the catalog was asked for)."""
    rate: str | None
    genai_prices: Decimal | None
    correction: Decimal | None
    other: Decimal | None
    catalog_source: str | None
    """The layer that prices the id in the catalog."""
    in_use: bool
    note: str = ""

    @property
    def difference(self) -> Decimal | None:
        catalog = self.correction if self.correction is not None else self.genai_prices
        if catalog is None or self.other is None:
            return None
        return _relative(catalog, self.other)


@dataclass(slots=True)
class AuditReport:
    at: datetime
    sources: list[Source]
    findings: list[Finding] = field(default_factory=list)
    compared: int = 0
    """Ids of the other table compared with the catalog."""

    @property
    def failed(self) -> bool:
        return any(f.in_use and f.status is Status.UNRESOLVED for f in self.findings)


def _relative(a: Decimal, b: Decimal) -> Decimal:
    larger = max(abs(a), abs(b))
    return Decimal(0) if not larger else abs(a - b) / larger


def _page(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url)
    return f"{parts.netloc.lower().removeprefix('www.')}{parts.path.rstrip('/')}"


def _day_prices(book: PriceBook, provider: str, model: str, at: datetime) -> list[ResolvedPrice]:
    """The distinct prices in force for an id over the day starting at ``at`` (more than one
    for a model with time-of-day prices)."""
    found = book.resolve(provider, model, at)
    if found is None:
        return []
    info = genai.find_model(book.snapshot, provider, model)
    cuts = genai.time_of_day_cuts(info[1]) if info is not None else ()
    prices = [found]
    for seconds in cuts:
        price = book.resolve(provider, model, at + timedelta(seconds=seconds))
        if price is not None and price.rates != found.rates and all(price.rates != p.rates for p in prices):
            prices.append(price)
    return prices


def _rates(price: ResolvedPrice) -> dict[str, Decimal]:
    return dict(price.rates.describe())


def _value(rates: dict[str, Decimal], name: str) -> Decimal | None:
    """A rate by name; a tier rate the source does not state is its base rate."""
    if name in rates:
        return rates[name]
    base = name.split(">", 1)[0]
    return rates.get(base) if ">" in name else None


TIER_SNAP = Decimal("0.05")
"""Tier thresholds less than 5% apart (128k and 131,072; 199,999 and 200,000) are one tier."""


def _probes(entry: LiteLLMEntry, catalog: list[CompiledRates]) -> list[tuple[str, int]]:
    """(rate, input tokens) pairs to compare at: the base rates, then each tier of either side."""
    ours = sorted({threshold for rates in catalog for threshold, _ in rates.tiers})
    thresholds = set(ours)
    for name in entry.rates:
        if ">" in name:
            theirs = int(name.split(">", 1)[1])
            if not any(_relative(Decimal(theirs), Decimal(t)) <= TIER_SNAP for t in ours):
                thresholds.add(theirs)
    names = sorted({name.split(">", 1)[0] for name in entry.rates})
    return [(name, probe) for probe in [0, *sorted(thresholds)] for name in names]


def _other_at(entry: LiteLLMEntry, name: str, probe: int) -> Decimal | None:
    """The other table's rate for a request of more than ``probe`` input tokens."""
    best: tuple[int, Decimal] | None = None
    for key, value in entry.rates.items():
        if key.startswith(f"{name}>"):
            threshold = int(key.split(">", 1)[1])
            snapped = probe if probe and _relative(Decimal(threshold), Decimal(probe)) <= TIER_SNAP else threshold
            if snapped <= probe and (best is None or snapped > best[0]):
                best = (snapped, value)
    return best[1] if best is not None else entry.rates.get(name)


def audit(
    book: PriceBook, table: LiteLLMTable, *, seen: Iterable[tuple[str, str]] | None = None,
    today: date | None = None,
) -> AuditReport:
    """Compare ``book`` with ``table``. ``seen``: the (provider, model) pairs in use (the
    store's); without it, every current model of the audited providers counts as in use."""
    at = datetime.combine(table.uploaded or (today or datetime.now(UTC).date()), datetime.min.time(), UTC)
    today = today or datetime.now(UTC).date()
    base = PriceBook(data=book.data, corrections=Corrections.empty())
    corrections_date = max((c.entry.checked for c in book.corrections.entries), default=None)
    report = AuditReport(at, [
        Source(genai.SOURCE, book.data.version, book.data.data_date, book.data.origin),
        Source(CORRECTIONS, book.corrections.revision, corrections_date, "stream/pricing/data/corrections"),
        Source(LITELLM, table.version, table.uploaded, "stream/pricing/data/audit"),
    ])
    in_use: set[str] | None = None
    if seen is not None:
        in_use = set()
        for provider, model in seen:
            price = book.resolve(provider, model, datetime.now(UTC))
            in_use.add(price.resolved_model if price is not None else model.lower())
    hit: set[str] = set()
    for entry in table.entries:
        if entry.deprecation_date is not None and entry.deprecation_date <= today:
            continue
        if _ROUTING_ID.match(entry.key):
            continue
        report.compared += 1
        _compare(book, base, entry, at, in_use, hit, report)
    for data_provider in book.snapshot.providers:
        if data_provider.id not in AUDITED_PROVIDERS:
            continue
        for info in data_provider.models:
            model_id = f"{data_provider.id}/{info.id}"
            if info.deprecated or model_id in hit:
                continue
            report.findings.append(Finding(
                Kind.MISSING_IN_OTHER, Status.INFO, data_provider.id, model_id, None, None, None, None, None,
                genai.SOURCE, in_use is not None and model_id in in_use, f"no {LITELLM} id resolves to it",
            ))
    report.findings.sort(key=lambda f: (f.status is not Status.UNRESOLVED, f.kind, f.provider, f.model,
                                        f.compared_id or "", f.rate or ""))
    return report


def _compare(
    book: PriceBook, base: PriceBook, entry: LiteLLMEntry, at: datetime, in_use: set[str] | None,
    hit: set[str], report: AuditReport,
) -> None:
    provider = canonical_provider(entry.provider) or entry.provider
    prices = _day_prices(book, provider, entry.key, at)
    if not prices:
        model = entry.key.lower()
        report.findings.append(Finding(
            Kind.MISSING_IN_CATALOG, Status.INFO, provider, model, entry.key, None, None, None, None, None,
            in_use is not None and model in in_use, "unpriced in the catalog",
        ))
        return
    model = prices[0].resolved_model
    hit.add(model)
    used = in_use is None or model in in_use
    corrected = prices[0].price_source == CORRECTIONS
    genai_prices = [_rates(p) for p in _day_prices(base, provider, entry.key, at)]
    correction = book.corrections.candidates({provider}, [entry.key.lower(), model, model.split("/", 1)[-1]],
                                             same_id_forms(entry.key))
    cited = corrected and any(_page(c.entry.source.unicode_string()) == _page(entry.source) for c in correction
                              if c.version == prices[0].price_version)
    catalog_rates = [p.rates for p in prices]
    for name, probe in _probes(entry, catalog_rates):
        other = _other_at(entry, name, probe)
        if other is None or (name in _CACHE_RATES and not other):
            continue
        values = [getattr(rates.for_input(probe + 1), name) for rates in catalog_rates]
        values = [v for v in values if v is not None]
        if not values or any(_relative(v, other) <= TOLERANCE for v in values):
            continue
        ours = min(values, key=lambda v: _relative(v, other))
        name = f"{name}>{probe}" if probe else name
        genai_value = ours if not corrected else next(
            (v for v in (_value(r, name) for r in genai_prices) if v is not None), None)
        resolution = book.corrections.resolution(provider, model, LITELLM, compared_id=entry.key, rate=name)
        if cited and resolution is None:
            kind, status = Kind.CITED, Status.UNRESOLVED
            note = f"the correction and {LITELLM} cite the same page: {entry.source}"
        elif corrected:
            kind, status = Kind.RATE, Status.RESOLVED
            where = next((c for c in correction if c.version == prices[0].price_version), None)
            note = (f"corrected ({where.where}, checked {where.entry.checked}, {where.entry.source})"
                    if where is not None else "corrected")
        elif resolution is not None:
            kind, status = Kind.RATE, Status.RESOLVED
            note = f"kept ({resolution.reason}; checked {resolution.checked}, {resolution.source})"
        else:
            kind, status, note = Kind.RATE, Status.UNRESOLVED, ""
        report.findings.append(Finding(
            kind, status, provider, model, entry.key, name, genai_value, ours if corrected else None, other,
            prices[0].price_source, used, note,
        ))
