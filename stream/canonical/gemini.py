"""Google Gemini / Vertex AI ``usageMetadata``
(https://ai.google.dev/api/generate-content#UsageMetadata).

``promptTokenCount`` INCLUDES ``cachedContentTokenCount``; ``candidatesTokenCount``
EXCLUDES ``thoughtsTokenCount`` (thinking), and ``toolUsePromptTokenCount`` is counted
apart from the prompt (``totalTokenCount`` = prompt + tool-use prompt + candidates +
thoughts): canonical input = prompt + tool-use prompt, output = candidates + thoughts,
reasoning = thoughts. Audio comes from the per-modality details. A stream is a list of
chunks whose usage is cumulative: the last chunk carrying it holds the totals. The
Python SDK's ``to_dict()`` spells the same fields in snake_case; both are read.

genai-prices' google extractor maps a single response the same way, at ~90 us a call
(measured) and without stream lists or the snake_case spelling; hence this table.
"""

import re
from dataclasses import fields, replace
from typing import Any

from stream.canonical.errors import UsageError
from stream.canonical.fields import Match, Step, text
from stream.canonical.result import ExtractedUsage
from stream.canonical.spec import UsageSpec, read_raw, to_tokens

USAGE_METADATA = UsageSpec(
    input=("promptTokenCount",),
    output=(("candidatesTokenCount",),),
    cache_read=(("cachedContentTokenCount",),),
    reasoning=(("thoughtsTokenCount",),),
    input_audio=(("promptTokensDetails", Match("modality", "AUDIO"), "tokenCount"),),
    output_audio=(("candidatesTokensDetails", Match("modality", "AUDIO"), "tokenCount"),),
    extra_input=(("toolUsePromptTokenCount",),),
    total=("totalTokenCount",),
    output_excludes_reasoning=True,
)


def _snake_name(name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


def _snake(step: Step) -> Step:
    return Match(_snake_name(step.field), step.value) if isinstance(step, Match) else _snake_name(step)


def _snake_spec(spec: UsageSpec) -> UsageSpec:
    changes: dict[str, Any] = {}
    for field in fields(spec):
        if not field.init:
            continue
        value = getattr(spec, field.name)
        if field.name in ("input", "total"):
            changes[field.name] = tuple(_snake(step) for step in value)
        elif isinstance(value, tuple):
            changes[field.name] = tuple(tuple(_snake(step) for step in path) for path in value)
    return replace(spec, **changes)


USAGE_METADATA_SNAKE = _snake_spec(USAGE_METADATA)


def _metadata_of(chunk: Any, prefix: str) -> tuple[Any, str, UsageSpec] | None:
    if type(chunk) is not dict:
        return None
    metadata = chunk.get("usageMetadata")
    if type(metadata) is dict:
        return metadata, f"{prefix}.usageMetadata", USAGE_METADATA
    metadata = chunk.get("usage_metadata")
    if type(metadata) is dict:
        return metadata, f"{prefix}.usage_metadata", USAGE_METADATA_SNAKE
    if "promptTokenCount" in chunk:
        return chunk, prefix, USAGE_METADATA  # the producer sent just the usage object
    if "prompt_token_count" in chunk:
        return chunk, prefix, USAGE_METADATA_SNAKE
    return None


def _model(chunk: Any) -> str | None:
    return text(chunk, ("modelVersion",)) or text(chunk, ("model_version",))


def extract_gemini(response: Any) -> ExtractedUsage:
    if type(response) is list:
        for index in range(len(response) - 1, -1, -1):
            found = _metadata_of(response[index], f"response[{index}]")
            if found is not None:
                metadata, where, spec = found
                return ExtractedUsage(to_tokens(read_raw(metadata, spec, where), spec, where),
                                      _model(response[index]), None)
        raise UsageError("response", "no chunk of the stream carries usageMetadata")
    found = _metadata_of(response, "response")
    if found is None:
        raise UsageError("response.usageMetadata", "missing: no usageMetadata in the response")
    metadata, where, spec = found
    return ExtractedUsage(to_tokens(read_raw(metadata, spec, where), spec, where), _model(response), None)
