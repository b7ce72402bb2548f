"""LiteLLM's price table as an audit source: a second, independent opinion on rates,
never used to price an event.

The table is ``model_prices_and_context_window_backup.json`` as shipped in the
``litellm`` wheel of a pinned release (never 1.107.0, a compromised release). The
repository keeps the entries of the providers the audit compares, reduced to their
price fields, in ``stream/pricing/data/audit/``; refresh it with

    pip download litellm==VERSION --no-deps -d /tmp/litellm
    python -m stream.pricing.litellm /tmp/litellm/litellm-VERSION-*.whl --uploaded YYYY-MM-DD

LiteLLM states rates in USD per token (floats); here they are read from their JSON
text as decimals and scaled to USD per MTok, so ``3e-06`` is exactly ``3``.
"""

import argparse
import hashlib
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson

NAME = "litellm"
DATA_DIR = Path(__file__).with_name("data") / "audit"
WHEEL_MEMBER = "litellm/model_prices_and_context_window_backup.json"
COMPROMISED = frozenset({"1.107.0"})

PROVIDERS = {
    "openai": "openai", "text-completion-openai": "openai", "anthropic": "anthropic", "gemini": "google",
    "bedrock": "aws", "bedrock_converse": "aws", "azure": "azure", "deepseek": "deepseek", "xai": "x-ai",
    "mistral": "mistral", "groq": "groq",
}  # fmt: skip
"""LiteLLM's ``litellm_provider`` -> costream's provider id, for the providers audited."""

_TIER = re.compile(r"^(input_cost_per_token|output_cost_per_token|cache_read_input_token_cost|"
                   r"cache_creation_input_token_cost)_above_(\d+)k_tokens$")
_FLAT = {
    "input_cost_per_token": "input",
    "output_cost_per_token": "output",
    "cache_read_input_token_cost": "cache_read",
    "cache_creation_input_token_cost": "cache_write_5m",
    "cache_creation_input_token_cost_above_1hr": "cache_write_1h",
    "output_cost_per_reasoning_token": "reasoning",
}
_KEEP = {"litellm_provider", "mode", "deprecation_date", "source"}
_MODES = {None, "chat", "responses", "completion"}
_MILLION = Decimal(1_000_000)


@dataclass(frozen=True, slots=True)
class LiteLLMEntry:
    key: str
    """LiteLLM's id, e.g. ``gemini/gemini-2.5-pro`` or ``us.anthropic.claude-...``."""
    provider: str
    rates: dict[str, Decimal]
    """USD per MTok, named as the catalog names them (``input``, ``cache_read``, ``input>200000``)."""
    deprecation_date: date | None
    source: str | None


@dataclass(frozen=True, slots=True)
class LiteLLMTable:
    version: str
    uploaded: date | None
    """When the wheel was uploaded to PyPI: the table's data date."""
    wheel_sha256: str | None
    entries: tuple[LiteLLMEntry, ...]

    @classmethod
    def load(cls, path: Path | None = None) -> "LiteLLMTable":
        """The table kept in the repository (the newest file in the audit folder), or ``path``."""
        if path is None:
            files = sorted(DATA_DIR.glob("litellm-*.json"))
            if not files:
                raise FileNotFoundError(f"no LiteLLM table in {DATA_DIR}")
            path = files[-1]
        document = orjson.loads(path.read_bytes(), )
        meta = document.get("_costream", {}) if isinstance(document, dict) else {}
        uploaded = meta.get("uploaded")
        return cls(
            str(meta.get("version", "unknown")),
            date.fromisoformat(uploaded) if uploaded else None,
            meta.get("wheel_sha256"),
            tuple(_entries(document)),
        )


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return Decimal(repr(value) if isinstance(value, float) else str(value))
    except ArithmeticError:
        return None


def _entries(document: Any) -> Iterator[LiteLLMEntry]:
    if not isinstance(document, dict):
        return
    for key, raw in document.items():
        if key.startswith("_") or key == "sample_spec" or not isinstance(raw, dict):
            continue
        provider = PROVIDERS.get(raw.get("litellm_provider", ""))
        if provider is None or raw.get("mode") not in _MODES or "input_cost_per_token" not in raw:
            continue
        rates: dict[str, Decimal] = {}
        for field, value in raw.items():
            per_token = _decimal(value)
            if per_token is None:
                continue
            if field in _FLAT:
                rates[_FLAT[field]] = (per_token * _MILLION).normalize()
            elif match := _TIER.match(field):
                name = _FLAT[match.group(1)]
                rates[f"{name}>{int(match.group(2)) * 1000}"] = (per_token * _MILLION).normalize()
        deprecation = raw.get("deprecation_date")
        try:
            deprecated = date.fromisoformat(deprecation) if isinstance(deprecation, str) else None
        except ValueError:
            deprecated = None
        source = raw.get("source")
        yield LiteLLMEntry(key, provider, rates, deprecated, source if isinstance(source, str) else None)


def extract(wheel: Path, uploaded: date) -> tuple[str, bytes]:
    """The audited providers' price fields from a LiteLLM wheel, as the repository keeps them."""
    version = wheel.name.split("-")[1]
    if version in COMPROMISED:
        raise ValueError(f"litellm {version} was a compromised release; pick another version")
    with zipfile.ZipFile(wheel) as archive:
        document = orjson.loads(archive.read(WHEEL_MEMBER))
    kept: dict[str, Any] = {
        "_costream": {
            "version": version, "uploaded": uploaded.isoformat(),
            "wheel_sha256": hashlib.sha256(wheel.read_bytes()).hexdigest(), "member": WHEEL_MEMBER,
        }
    }
    for key, raw in document.items():
        if not isinstance(raw, dict) or raw.get("litellm_provider") not in PROVIDERS:
            continue
        fields = {k: v for k, v in raw.items() if k in _KEEP or k in _FLAT or _TIER.match(k)}
        kept[key] = fields
    return version, orjson.dumps(kept, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


def main() -> None:
    parser = argparse.ArgumentParser(description="keep LiteLLM's price table from a wheel as an audit source")
    parser.add_argument("wheel", type=Path)
    parser.add_argument("--uploaded", required=True, type=date.fromisoformat, help="the wheel's PyPI upload date")
    args = parser.parse_args()
    version, content = extract(args.wheel, args.uploaded)
    for old in DATA_DIR.glob("litellm-*.json"):
        old.unlink()
    (DATA_DIR / f"litellm-{version}.json").write_bytes(content)


if __name__ == "__main__":
    main()
