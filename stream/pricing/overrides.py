"""Operator and tenant price overrides, from a YAML file.

```yaml
overrides:
  - model: acme-finetune-v7           # a custom or fine-tuned model: explicit rates
    provider: openai                  # optional; any provider alias
    effective_from: 2026-01-01T00:00:00Z
    rates: {input: "0.30", cache_read: "0.15", output: "1.20"}   # USD per million tokens
  - model: "gpt-4o*"                  # glob over the model id (as sent, normalised, or the book's id)
    tenant_id: globex                 # a tenant's negotiated price
    multiplier: "0.85"                # 15% off the price it would otherwise pay
    effective_from: 2026-06-01T00:00:00Z
    effective_until: 2027-06-01T00:00:00Z
```

An entry without ``tenant_id`` is an operator override, for everyone; one with it applies
to that tenant only. Either gives ``rates`` (a price of its own: USD per million tokens,
``per_request`` in USD per request) or a ``multiplier`` on the price below it (the
operator's, else genai-prices'): below 1 a discount, above 1 a chargeback markup.
Resolution: tenant override > operator override > genai-prices; within a layer, the
entry in force with the latest ``effective_from`` (on a tie, the later in the file).
"""

import fnmatch
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Protocol, Self, TypeVar

import yaml
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator

from stream.canonical import canonical_provider
from stream.ingest.errors import Location, describe_validation_error
from stream.pricing.rates import CompiledRates, compile_rates

Rate = Annotated[Decimal, Field(ge=0, allow_inf_nan=False)]
Name = Annotated[str, Field(min_length=1, max_length=256)]

OPERATOR = "operator"

_PRICE_KEYS = {
    "input": "input_mtok",
    "cache_read": "cache_read_mtok",
    "cache_write": "cache_write_mtok",
    "cache_write_1h": "cache_write_1h_mtok",
    "output": "output_mtok",
    "reasoning": "output_reasoning_mtok",
    "input_audio": "input_audio_mtok",
    "output_audio": "output_audio_mtok",
}


class OverrideRates(BaseModel):
    """USD per million tokens. Absent cache and reasoning rates fall back as in genai-prices:
    cache reads and writes at the input rate, reasoning at the output rate."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    input: Rate
    output: Rate
    cache_read: Rate | None = None
    cache_write: Rate | None = None
    """5-minute cache writes, and 1-hour writes too unless ``cache_write_1h`` is given."""
    cache_write_1h: Rate | None = None
    reasoning: Rate | None = None
    input_audio: Rate | None = None
    output_audio: Rate | None = None
    per_request: Rate | None = None
    """USD per request."""

    def compile(self) -> CompiledRates:
        by_key = {key: getattr(self, name) for name, key in _PRICE_KEYS.items()}
        if self.per_request is not None:
            by_key["requests_kcount"] = self.per_request * 1000
        return compile_rates(by_key.get)


class PriceOverride(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    model: Name
    provider: Name | None = None
    tenant_id: Name | None = None
    effective_from: AwareDatetime
    effective_until: AwareDatetime | None = None
    rates: OverrideRates | None = None
    multiplier: Annotated[Decimal, Field(gt=0, le=100, allow_inf_nan=False)] | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Self:
        if (self.rates is None) == (self.multiplier is None):
            raise ValueError("give exactly one of rates (a price of its own) or multiplier (on the price below)")
        if self.effective_until is not None and self.effective_until <= self.effective_from:
            raise ValueError("effective_until must be after effective_from")
        return self

    @property
    def source(self) -> str:
        return OPERATOR if self.tenant_id is None else f"tenant:{self.tenant_id}"

    def applies_to(self, provider_id: str, names: Iterable[str]) -> bool:
        if self.provider is not None and (canonical_provider(self.provider) or self.provider.lower()) != provider_id:
            return False
        pattern = self.model.lower()
        return any(fnmatch.fnmatchcase(name, pattern) for name in names)

    def in_force(self, at: datetime) -> bool:
        return self.effective_from <= at and (self.effective_until is None or at < self.effective_until)


class OverridesFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    overrides: list[PriceOverride] = Field(default_factory=list)


class OverridesError(ValueError):
    pass


class LayerEntry(Protocol):
    """An entry of one layer of the catalog (a correction, an operator or tenant override)."""

    @property
    def rates(self) -> CompiledRates | None: ...
    @property
    def version(self) -> str: ...
    @property
    def price_source(self) -> str: ...
    @property
    def multiplier(self) -> Decimal | None: ...
    @property
    def effective_from(self) -> datetime: ...
    @property
    def effective_until(self) -> datetime | None: ...


Entry = TypeVar("Entry", bound=LayerEntry)


@dataclass(frozen=True, slots=True)
class Override:
    """One validated entry, its compiled rates, and the version it prices under."""

    entry: PriceOverride
    index: int
    rates: CompiledRates | None
    version: str

    @property
    def price_source(self) -> str:
        return self.entry.source

    @property
    def multiplier(self) -> Decimal | None:
        return self.entry.multiplier

    @property
    def effective_from(self) -> datetime:
        return self.entry.effective_from

    @property
    def effective_until(self) -> datetime | None:
        return self.entry.effective_until


@dataclass(frozen=True, slots=True)
class Overrides:
    entries: tuple[Override, ...]
    revision: str
    """sha256 prefix of the file's content."""
    tenants: frozenset[str]

    @classmethod
    def empty(cls) -> "Overrides":
        return cls((), "none", frozenset())

    @classmethod
    def load(cls, path: Path) -> "Overrides":
        try:
            raw = path.read_bytes()
            document = yaml.safe_load(raw)
        except (OSError, yaml.YAMLError) as exc:
            raise OverridesError(f"cannot read price overrides {path}: {exc}") from None
        return cls.parse(document if document is not None else {}, hashlib.sha256(raw).hexdigest()[:12], str(path))

    @classmethod
    def parse(cls, document: Any, revision: str, where: str = "price overrides") -> "Overrides":
        try:
            parsed = OverridesFile.model_validate(document)
        except ValidationError as exc:
            raise OverridesError(f"{where}: {_describe(exc, document)}") from None
        seen: dict[tuple[str | None, str | None, str, datetime], int] = {}
        entries = []
        for index, entry in enumerate(parsed.overrides):
            key = (entry.tenant_id, entry.provider, entry.model.lower(), entry.effective_from.astimezone(UTC))
            if key in seen:
                raise OverridesError(
                    f"{where}: overrides.{index} (model {entry.model!r}): effective_from: same model, provider, "
                    f"tenant and effective_from as overrides.{seen[key]}; which one applies would be ambiguous"
                )
            seen[key] = index
            version = f"{revision}@{entry.effective_from.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"
            entries.append(Override(entry, index, entry.rates.compile() if entry.rates else None, version))
        tenants = frozenset(e.entry.tenant_id for e in entries if e.entry.tenant_id is not None)
        return cls(tuple(entries), revision, tenants)

    def candidates(self, tenant_id: str | None, provider_id: str, names: Iterable[str]) -> tuple[Override, ...]:
        """Entries of one layer (operator: tenant_id None) that apply to a model, at any time."""
        names = tuple(names)
        return tuple(
            override for override in self.entries
            if override.entry.tenant_id == tenant_id and override.entry.applies_to(provider_id, names)
        )


def in_force(candidates: Iterable[Entry], at: datetime) -> Entry | None:
    """The entry in force at ``at`` with the latest effective_from (on a tie, the later one)."""
    best: Entry | None = None
    for entry in candidates:
        until = entry.effective_until
        if entry.effective_from <= at and (until is None or at < until) and (
            best is None or entry.effective_from >= best.effective_from
        ):
            best = entry
    return best


def boundaries(candidates: Iterable[LayerEntry]) -> set[datetime]:
    found: set[datetime] = set()
    for entry in candidates:
        found.add(entry.effective_from)
        if entry.effective_until is not None:
            found.add(entry.effective_until)
    return found


def _describe(exc: ValidationError, document: Any) -> str:
    """``overrides.2 (model 'gpt-4o*', tenant globex).multiplier: Input should be greater than 0``"""

    def name(location: Location) -> str:
        if len(location) >= 2 and location[0] == "overrides" and isinstance(location[1], int):
            rest = "".join(f".{part}" for part in location[2:])
            return f"overrides.{location[1]}{_entry_label(document, location[1])}{rest}"
        return ".".join(str(part) for part in location) or "file"

    return describe_validation_error(exc, name=name)


def _entry_label(document: Any, index: int) -> str:
    try:
        raw = document["overrides"][index]
    except (KeyError, IndexError, TypeError):
        return ""
    if not isinstance(raw, dict):
        return ""
    label = [f"model {raw['model']!r}"] if "model" in raw else []
    if raw.get("tenant_id") is not None:
        label.append(f"tenant {raw['tenant_id']}")
    return f" ({', '.join(label)})" if label else ""
