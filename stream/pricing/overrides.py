"""Operator and tenant price overrides, from a YAML file.

```yaml
overrides:
  - model: acme-finetune-v7           # a custom or fine-tuned model: explicit rates
    provider: openai                  # optional
    effective_from: 2026-01-01T00:00:00Z
    rates: {input: "0.30", cache_read: "0.15", output: "1.20"}   # USD per million tokens
  - model: "gpt-4o*"                  # glob over the normalised model id
    tenant_id: globex                 # a tenant's negotiated price
    multiplier: "0.85"                # 15% off the price it would otherwise pay
    effective_from: 2026-06-01T00:00:00Z
    effective_until: 2027-06-01T00:00:00Z
```

An entry with ``tenant_id`` applies to that tenant only (negotiated discounts, chargeback
markups); one without is an operator override for everyone. Either gives ``rates`` (per
million tokens; ``per_request`` in USD per request) or a ``multiplier`` on the price
below it (operator override, else genai-prices).
"""

import fnmatch
import hashlib
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Self

import yaml
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator

from stream.ingest.errors import describe_validation_error
from stream.pricing.rates import CompiledRates, compile_per_million

Rate = Annotated[Decimal, Field(ge=0, allow_inf_nan=False)]

RATE_KEYS = {
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
    model_config = ConfigDict(extra="forbid", frozen=True)

    input: Rate
    output: Rate
    cache_read: Rate | None = None
    cache_write: Rate | None = None
    cache_write_1h: Rate | None = None
    reasoning: Rate | None = None
    input_audio: Rate | None = None
    output_audio: Rate | None = None
    per_request: Rate | None = None

    def compile(self) -> CompiledRates:
        rates = {RATE_KEYS[name]: value for name in RATE_KEYS if (value := getattr(self, name)) is not None}
        if self.per_request is not None:
            rates["requests_kcount"] = self.per_request * 1000
        return compile_per_million(rates)


class PriceOverride(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    model: Annotated[str, Field(min_length=1, max_length=256)]
    provider: str | None = None
    tenant_id: str | None = None
    effective_from: AwareDatetime
    effective_until: AwareDatetime | None = None
    rates: OverrideRates | None = None
    multiplier: Annotated[Decimal, Field(gt=0, le=100, allow_inf_nan=False)] | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Self:
        if (self.rates is None) == (self.multiplier is None):
            raise ValueError("give either rates (a price of its own) or multiplier (on the price below)")
        if self.effective_until is not None and self.effective_until <= self.effective_from:
            raise ValueError("effective_until must be after effective_from")
        return self

    def matches(self, provider: str, model_variants: list[str], at: datetime) -> bool:
        if self.provider is not None and self.provider.lower() != provider:
            return False
        if at < self.effective_from or (self.effective_until is not None and at >= self.effective_until):
            return False
        pattern = self.model.lower()
        return any(fnmatch.fnmatchcase(variant, pattern) for variant in model_variants)


class OverridesFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    overrides: list[PriceOverride] = Field(default_factory=list)


class OverridesError(ValueError):
    pass


@dataclass(frozen=True)
class Overrides:
    entries: tuple[PriceOverride, ...]
    revision: str
    """sha256 prefix of the file's content: which version of the overrides priced an event."""
    compiled: dict[int, CompiledRates]

    @classmethod
    def empty(cls) -> "Overrides":
        return cls((), "none", {})

    @classmethod
    def load(cls, path: Path) -> "Overrides":
        try:
            raw = path.read_bytes()
            document = yaml.safe_load(raw) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise OverridesError(f"cannot read price overrides {path}: {exc}") from None
        try:
            parsed = OverridesFile.model_validate(document)
        except ValidationError as exc:
            raise OverridesError(f"{path}: {describe_validation_error(exc)}") from None
        entries = tuple(parsed.overrides)
        compiled = {index: e.rates.compile() for index, e in enumerate(entries) if e.rates is not None}
        return cls(entries, hashlib.sha256(raw).hexdigest()[:12], compiled)

    def find(
        self, tenant_id: str | None, provider: str, variants: list[str], at: datetime
    ) -> tuple[int, PriceOverride] | None:
        """The override in force: latest effective_from among the tenant's, else the operator's."""
        for want_tenant in (tenant_id, None) if tenant_id else (None,):
            best: tuple[int, PriceOverride] | None = None
            for index, entry in enumerate(self.entries):
                if entry.tenant_id != want_tenant or not entry.matches(provider, variants, at):
                    continue
                if best is None or entry.effective_from >= best[1].effective_from:
                    best = (index, entry)
            if best is not None:
                return best
        return None
