"""costream's curated price corrections: data files, one layer of the catalog.

The catalog, lowest layer first: genai-prices data < corrections < operator overrides <
tenant overrides. A correction is a price checked by hand on the provider's own pricing
page, for a model the data prices wrong, late or not at all; it is data, kept as YAML
files in ``stream/pricing/data/corrections/`` (one file per provider), each entry with
the page it was read from and the date it was checked:

```yaml
corrections:
  - provider: azure
    model: gpt-4o-2024-05-13            # the id the entry prices, matched exactly
    aliases: [gpt-4o-2024-05-13-global] # other ids of the same model
    exact: false                        # optional: true matches only the id as sent, not longer ids shortened to it
    effective_from: 2024-05-13T00:00:00Z
    effective_until: null               # optional: the price ends (a later entry or the data takes over)
    rates: {input: "5", output: "15"}   # USD per MTok; cache_read, cache_write (5m), cache_write_1h, ...
    tiers:                              # optional long-context tiers: all tokens of a request whose
      - {above: 200000, input: "6", output: "22.5"}   # input exceeds ``above`` are billed at these
    source: https://azure.microsoft.com/en-us/pricing/details/cognitive-services/openai-service/
    checked: 2026-12-01
    note: genai-prices matched the dated id to gpt-4o's later, lower price

resolutions:                            # a disagreement with an audit source, looked at and settled
  - provider: aws
    model: "regional.anthropic.*"       # glob over the catalog's model id
    against: litellm
    ids: ["global.*"]                   # optional: only these ids of the audit source
    rates: [cache_read]                 # optional: only these rates (a bare name covers its tiers)
    keep: catalog
    reason: ...
    source: https://aws.amazon.com/bedrock/pricing/
    checked: 2026-12-01
```

A correction's ``model`` and ``aliases`` match the id as sent or one of its normalised
forms, the most specific form first: a correction for ``gpt-4o-2024-05-13`` is not one
for ``gpt-4o``. ``provider`` is any alias of a provider (``aws``, ``bedrock``, ...).
"""

import fnmatch
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal, Self

import yaml
from pydantic import AnyHttpUrl, AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator

from stream.canonical import canonical_provider
from stream.ingest.errors import Location, describe_validation_error
from stream.pricing.overrides import Name, OverrideRates
from stream.pricing.rates import CompiledRates

SOURCE = "corrections"
DATA_DIR = Path(__file__).with_name("data") / "corrections"


class TierRates(OverrideRates):
    above: Annotated[int, Field(gt=0)]
    """The tier applies when a request's input tokens (cache included) exceed this."""


class CorrectionEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    provider: Name
    model: Name
    aliases: tuple[Name, ...] = ()
    exact: bool = False
    """Match the id as sent only (``model`` or an alias, with or without a router prefix such
    as ``xai/``), never as the shortened form of a longer id: a correction for a retired
    bare id (``mistral-medium``) must not price the ids that shorten to it
    (``mistral-medium-latest``, ``mistral-medium-2508``)."""
    effective_from: AwareDatetime
    effective_until: AwareDatetime | None = None
    rates: OverrideRates
    tiers: tuple[TierRates, ...] = ()
    source: AnyHttpUrl
    """The provider's page (or announcement) the rates were read from."""
    checked: date
    """When the rates were last compared with that page."""
    note: str | None = None

    @model_validator(mode="after")
    def _dates(self) -> Self:
        if self.effective_until is not None and self.effective_until <= self.effective_from:
            raise ValueError("effective_until must be after effective_from")
        if len({tier.above for tier in self.tiers}) != len(self.tiers):
            raise ValueError("two tiers with the same 'above'")
        return self

    @property
    def provider_id(self) -> str:
        return canonical_provider(self.provider) or self.provider.strip().lower()

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(name.strip().lower() for name in (self.model, *self.aliases))

    def in_force(self, at: datetime) -> bool:
        return self.effective_from <= at and (self.effective_until is None or at < self.effective_until)

    def compile(self) -> CompiledRates:
        base = self.rates.compile()
        tiers = tuple(
            (tier.above, OverrideRates.model_validate(tier.model_dump(exclude={"above"})).compile())
            for tier in sorted(self.tiers, key=lambda tier: tier.above, reverse=True)
        )
        return CompiledRates(
            input=base.input, cache_read=base.cache_read, cache_write_5m=base.cache_write_5m,
            cache_write_1h=base.cache_write_1h, output=base.output, reasoning=base.reasoning,
            input_audio=base.input_audio, output_audio=base.output_audio, per_request=base.per_request,
            tiers=tiers,
        )


class Resolution(BaseModel):
    """A disagreement with an audit source that was checked on the provider's page and
    settled in the catalog's favour (the audit source is wrong there, or prices
    something else under the same id)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    provider: Name
    model: Name
    """Glob over the catalog's model id (``provider/model`` or the model part)."""
    against: Name
    ids: tuple[Name, ...] = ()
    """Globs over the audit source's ids the resolution is for; all of them when empty."""
    rates: tuple[Name, ...] = ()
    """The rates it settles (``cache_read``, or ``input>272000`` for one tier; a bare name
    covers its tiers too); every rate when empty."""
    keep: Literal["catalog"] = "catalog"
    reason: Annotated[str, Field(min_length=10)]
    source: AnyHttpUrl
    checked: date

    def covers(self, provider_id: str, model_id: str, against: str, *, compared_id: str = "", rate: str = "") -> bool:
        if against != self.against or (canonical_provider(self.provider) or self.provider.lower()) != provider_id:
            return False
        if self.ids and not any(fnmatch.fnmatchcase(compared_id.lower(), glob.lower()) for glob in self.ids):
            return False
        if self.rates and rate not in self.rates and rate.split(">", 1)[0] not in self.rates:
            return False
        pattern = self.model.lower()
        model_id = model_id.lower()
        return fnmatch.fnmatchcase(model_id, pattern) or fnmatch.fnmatchcase(model_id.split("/", 1)[-1], pattern)


class CorrectionsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    corrections: list[CorrectionEntry] = Field(default_factory=list)
    resolutions: list[Resolution] = Field(default_factory=list)


class CorrectionsError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Correction:
    entry: CorrectionEntry
    where: str
    """``file.yaml#3``: the file and index the entry came from."""
    rates: CompiledRates
    version: str

    @property
    def price_source(self) -> str:
        return SOURCE

    @property
    def multiplier(self) -> Decimal | None:
        return None  # a correction is always a price of its own

    @property
    def effective_from(self) -> datetime:
        return self.entry.effective_from

    @property
    def effective_until(self) -> datetime | None:
        return self.entry.effective_until


@dataclass(frozen=True, slots=True)
class Corrections:
    entries: tuple[Correction, ...]
    resolutions: tuple[Resolution, ...]
    revision: str
    """sha256 prefix of the files' names and contents."""

    @classmethod
    def empty(cls) -> "Corrections":
        return cls((), (), "none")

    @classmethod
    def load(cls, folder: Path = DATA_DIR) -> "Corrections":
        """Every ``*.yaml`` file of the folder, in name order."""
        files = sorted(folder.glob("*.yaml")) if folder.is_dir() else []
        digest = hashlib.sha256()
        documents: list[tuple[str, Any]] = []
        for path in files:
            try:
                raw = path.read_bytes()
                documents.append((path.name, yaml.safe_load(raw) or {}))
            except (OSError, yaml.YAMLError) as exc:
                raise CorrectionsError(f"cannot read price corrections {path}: {exc}") from None
            digest.update(path.name.encode() + b"\0" + raw + b"\0")
        return cls.parse(documents, digest.hexdigest()[:12] if files else "none")

    @classmethod
    def parse(cls, documents: Sequence[tuple[str, Any]], revision: str) -> "Corrections":
        entries: list[Correction] = []
        resolutions: list[Resolution] = []
        seen: dict[tuple[str, str, datetime], str] = {}
        for name, document in documents:
            try:
                parsed = CorrectionsFile.model_validate(document)
            except ValidationError as exc:
                raise CorrectionsError(f"price corrections {name}: {_describe(exc, document)}") from None
            for index, entry in enumerate(parsed.corrections):
                where = f"{name}#{index}"
                start = entry.effective_from.astimezone(UTC)
                for model in entry.names:
                    key = (entry.provider_id, model, start)
                    if key in seen:
                        raise CorrectionsError(
                            f"price corrections {where} (model {entry.model!r}): effective_from: same provider, "
                            f"model and effective_from as {seen[key]}; which one applies would be ambiguous"
                        )
                    seen[key] = where
                version = f"{revision}@{start:%Y-%m-%dT%H:%M:%SZ}"
                entries.append(Correction(entry, where, entry.compile(), version))
            resolutions.extend(parsed.resolutions)
        return cls(tuple(entries), tuple(resolutions), revision)

    def candidates(
        self, provider_ids: Iterable[str], names: Sequence[str], same_id: frozenset[str] = frozenset(),
    ) -> tuple[Correction, ...]:
        """The entries for a model, at any time: those matching the most specific of its
        names (the id as sent first, then its normalised forms). An ``exact`` entry matches
        only the id as sent or another spelling of it (``same_id``, see
        :func:`stream.pricing.normalize.same_id_forms`)."""
        providers = set(provider_ids)
        for index, name in enumerate(names):
            found = tuple(c for c in self.entries if c.entry.provider_id in providers and name in c.entry.names
                          and (not c.entry.exact or index == 0 or name in same_id))  # fmt: skip
            if found:
                return found
        return ()

    def resolution(
        self, provider_id: str, model_id: str, against: str, *, compared_id: str = "", rate: str = "",
    ) -> Resolution | None:
        for resolution in self.resolutions:
            if resolution.covers(provider_id, model_id, against, compared_id=compared_id, rate=rate):
                return resolution
        return None


def _describe(exc: ValidationError, document: Any) -> str:
    """``corrections.2 (model 'gpt-4o', provider azure).rates.input: Input should be ...``"""

    def name(location: Location) -> str:
        if len(location) >= 2 and location[0] in ("corrections", "resolutions") and isinstance(location[1], int):
            rest = "".join(f".{part}" for part in location[2:])
            return f"{location[0]}.{location[1]}{_label(document, str(location[0]), location[1])}{rest}"
        return ".".join(str(part) for part in location) or "file"

    return describe_validation_error(exc, name=name)


def _label(document: Any, section: str, index: int) -> str:
    try:
        raw = document[section][index]
    except (KeyError, IndexError, TypeError):
        return ""
    if not isinstance(raw, dict):
        return ""
    label = [f"model {raw['model']!r}"] if "model" in raw else []
    if raw.get("provider") is not None:
        label.append(f"provider {raw['provider']}")
    return f" ({', '.join(label)})" if label else ""


def correction_rates(entry: CorrectionEntry) -> dict[str, Decimal]:
    """The entry's rates as the catalog lists them (``input``, ``cache_read``, ``input>200000``, ...)."""
    return dict(entry.compile().describe())
