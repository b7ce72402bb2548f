"""Google Gemini / Vertex AI ``usageMetadata``.

``promptTokenCount`` INCLUDES ``cachedContentTokenCount``; ``candidatesTokenCount``
EXCLUDES ``thoughtsTokenCount`` (thinking), and ``toolUsePromptTokenCount`` is counted
apart from the prompt: canonical input = prompt + tool-use prompt, output = candidates +
thoughts, reasoning = thoughts. Audio comes from the per-modality details. A stream is a
list of chunks whose usage is cumulative: the last chunk carrying it holds the totals.
The Python SDK's ``to_dict()`` spells the same fields in snake_case; both are read.
"""

from typing import Any

from stream.canonical.errors import UsageError
from stream.canonical.fields import count, text
from stream.canonical.result import ExtractedUsage, build_tokens

_CAMEL = {
    "prompt": "promptTokenCount", "cached": "cachedContentTokenCount", "candidates": "candidatesTokenCount",
    "thoughts": "thoughtsTokenCount", "tool": "toolUsePromptTokenCount",
    "prompt_details": "promptTokensDetails", "candidates_details": "candidatesTokensDetails",
}  # fmt: skip
_SNAKE = {name: "".join("_" + c.lower() if c.isupper() else c for c in key) for name, key in _CAMEL.items()}


def _metadata(response: Any) -> tuple[dict[str, Any], str, Any]:
    candidates = response if isinstance(response, list) else [response]
    found: tuple[dict[str, Any], str, Any] | None = None
    for index, chunk in enumerate(candidates):
        if not isinstance(chunk, dict):
            continue
        prefix = f"response[{index}]" if isinstance(response, list) else "response"
        for key in ("usageMetadata", "usage_metadata"):
            if isinstance(chunk.get(key), dict):
                found = (chunk[key], f"{prefix}.{key}", chunk)
        if found is None and ("promptTokenCount" in chunk or "prompt_token_count" in chunk):
            found = (chunk, prefix, chunk)
    if found is None:
        raise UsageError("response.usageMetadata", "missing: no usageMetadata in the response")
    return found


def _modality(details: Any, modality: str, where: str) -> int:
    if not isinstance(details, list):
        return 0
    tokens = 0
    for index, item in enumerate(details):
        if isinstance(item, dict) and str(item.get("modality", "")).upper() == modality:
            key = "tokenCount" if "tokenCount" in item else "token_count"
            tokens += count(item, (key,), f"{where}[{index}]") or 0
    return tokens


def extract_gemini(response: Any) -> ExtractedUsage:
    metadata, where, chunk = _metadata(response)
    names = _SNAKE if "prompt_token_count" in metadata else _CAMEL
    prompt = count(metadata, (names["prompt"],), where)
    if prompt is None:
        raise UsageError(f"{where}.{names['prompt']}", "missing")
    thoughts = count(metadata, (names["thoughts"],), where) or 0
    tool = count(metadata, (names["tool"],), where) or 0
    candidates = count(metadata, (names["candidates"],), where) or 0
    return ExtractedUsage(
        build_tokens(
            where,
            input_tokens=prompt + tool,
            cache_read_tokens=count(metadata, (names["cached"],), where) or 0,
            output_tokens=candidates + thoughts,
            reasoning_tokens=thoughts,
            input_audio_tokens=_modality(metadata.get(names["prompt_details"]), "AUDIO", where),
            output_audio_tokens=_modality(metadata.get(names["candidates_details"]), "AUDIO", where),
        ),
        text(chunk, ("modelVersion",)) or text(chunk, ("model_version",)),
        None,
    )
