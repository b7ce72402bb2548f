"""Providers read through genai-prices' own extractors: those without a hand-written
table here (Perplexity, Cohere, Cloudflare, Databricks, ...).

genai-prices' ``Usage`` follows the canonical convention (input includes cache reads and
writes, output includes reasoning), so its counts are taken over, then checked like any
other: it lets floats and subsets larger than their totals through.

The hand-written shapes do not go through here: genai-prices' extraction costs 25-90 us
a call (measured; the hand tables take a few), it reads no stream lists (OpenAI chunks,
Anthropic message_start/message_delta, ConverseStream, Gemini chunks) and it drops
DeepSeek's prompt_cache_hit_tokens and OpenRouter's reported cost.
"""

from typing import Any

from genai_prices import data_snapshot
from genai_prices.types import ArrayMatch, ClauseEquals, Provider, UsageExtractor

from stream.canonical.errors import UsageError
from stream.canonical.fields import Match, Path, check_count, count, text
from stream.canonical.result import ExtractedUsage
from stream.canonical.spec import build_tokens

PROVIDERS: dict[str, Provider] = {
    provider.id: provider for provider in data_snapshot.get_snapshot().providers if provider.extractors
}

# genai-prices usage key -> canonical field
_KEYS = {
    "input_tokens": "input_tokens",
    "cache_read_tokens": "cache_read_tokens",
    "cache_write_tokens": "cache_write_tokens",
    "cache_write_1h_tokens": "cache_write_1h_tokens",
    "output_tokens": "output_tokens",
    "output_reasoning_tokens": "reasoning_tokens",
    "input_audio_tokens": "input_audio_tokens",
    "output_audio_tokens": "output_audio_tokens",
}


def _path(raw: object) -> Path | None:
    """A genai-prices extract path as ours; None for match clauses we do not mirror."""
    steps: list[str | Match] = []
    for step in raw if isinstance(raw, list) else [raw]:
        if isinstance(step, str):
            steps.append(step)
        elif isinstance(step, ArrayMatch) and isinstance(step.match, ClauseEquals):
            steps.append(Match(step.field, step.match.equals))
        else:
            return None
    return tuple(steps)


def _precheck(extractor: UsageExtractor, response: Any) -> None:
    """Check every count the extractor will read ourselves first, so that a bad value is
    named by its real path (genai-prices takes floats and names no fields)."""
    root = _path(extractor.root)
    if root is None:
        return
    usage = response
    for step in root:
        usage = usage.get(step) if isinstance(usage, dict) and isinstance(step, str) else None
    where = ".".join(["response", *(str(step) for step in root)])
    for mapping in extractor.mappings:
        path = _path(mapping.path)
        if path is not None:
            count(usage, path, where)


def extract_via_genai_prices(provider_id: str, api_flavor: str, response: Any) -> ExtractedUsage:
    provider = PROVIDERS[provider_id]
    flavors = [extractor.api_flavor for extractor in provider.extractors or ()]
    if api_flavor not in flavors:
        raise UsageError("api_flavor", f"'{api_flavor[:64]}' is not one of {provider_id}'s: {', '.join(flavors)}")
    extractor = next(extractor for extractor in provider.extractors or () if extractor.api_flavor == api_flavor)
    _precheck(extractor, response)
    try:
        model, usage = provider.extract_usage(response, api_flavor=api_flavor)
    except Exception as exc:  # a third-party parser failing on junk means bad usage
        raise UsageError("response", f"not a {provider_id} {api_flavor} response: {exc}"[:300]) from None
    reported = usage.__dict__  # only the keys the extractor found; the public getters infer the rest
    counts = {name: check_count(reported[key], f"response.usage ({key})") for key, name in _KEYS.items()
              if reported.get(key) is not None}  # fmt: skip
    if "cache_write_tokens" not in counts:
        five_minute = reported.get("cache_write_5m_tokens")
        if five_minute is not None:
            five_minute = check_count(five_minute, "response.usage (cache_write_5m_tokens)")
        counts["cache_write_tokens"] = (five_minute or 0) + counts.get("cache_write_1h_tokens", 0)
    counts.setdefault("input_tokens", 0)
    counts.setdefault("output_tokens", 0)
    return ExtractedUsage(
        build_tokens("response.usage", **counts),
        model if isinstance(model, str) and model else text(response, ("model",)),
        None,
    )
