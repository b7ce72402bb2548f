"""Anthropic Messages usage (direct, on Bedrock InvokeModel, on Vertex).

``input_tokens`` EXCLUDES cache: canonical input = input_tokens +
cache_read_input_tokens + cache_creation_input_tokens. ``cache_creation`` splits writes
into ``ephemeral_5m_input_tokens`` and ``ephemeral_1h_input_tokens``. Thinking tokens
are inside ``output_tokens`` and not reported apart.

Streaming splits usage across events: ``message_start.message.usage`` carries input and
cache, ``message_delta.usage`` carries the cumulative output (and, in newer API versions,
cumulative input and cache too). Fields are merged by taking the largest value seen,
since every value is cumulative: nothing is counted twice, nothing dropped.
"""

from typing import Any

from stream.canonical.errors import UsageError
from stream.canonical.fields import count, dig, text
from stream.canonical.result import ExtractedUsage, build_tokens

_FIELDS: dict[str, tuple[str, ...]] = {
    "input": ("input_tokens",),
    "cache_read": ("cache_read_input_tokens",),
    "cache_write": ("cache_creation_input_tokens",),
    "write_5m": ("cache_creation", "ephemeral_5m_input_tokens"),
    "write_1h": ("cache_creation", "ephemeral_1h_input_tokens"),
    "output": ("output_tokens",),
}


def _read(usage: Any, where: str) -> dict[str, int | None]:
    return {name: count(usage, path, where) for name, path in _FIELDS.items()}


def extract_anthropic(response: Any) -> ExtractedUsage:
    model: str | None = None
    if isinstance(response, list):
        merged: dict[str, int | None] = dict.fromkeys(_FIELDS)
        seen = False
        for index, event in enumerate(response):
            if not isinstance(event, dict):
                continue
            if event.get("type") == "message_start" and isinstance(dig(event, ("message", "usage")), dict):
                usage, where = event["message"]["usage"], f"response[{index}].message.usage"
                model = text(event, ("message", "model")) or model
            elif isinstance(event.get("usage"), dict):
                usage, where = event["usage"], f"response[{index}].usage"
            else:
                continue
            seen = True
            for name, value in _read(usage, where).items():
                current = merged[name]
                if value is not None and (current is None or value > current):
                    merged[name] = value
        if not seen:
            raise UsageError("response", "no message_start or message_delta event carries usage")
        values, where = merged, "response"
    elif isinstance(response, dict):
        usage = response.get("usage") if isinstance(response.get("usage"), dict) else None
        where = "response.usage"
        if usage is None and "input_tokens" in response:
            usage, where = response, "response"
        if usage is None:
            raise UsageError("response.usage", "missing: no usage object in the response")
        values = _read(usage, where)
        model = text(response, ("model",))
    else:
        raise UsageError("response", "expected a Messages response object or a list of stream events")

    write_1h = values["write_1h"] or 0
    cache_write = values["cache_write"]
    if cache_write is None:
        cache_write = (values["write_5m"] or 0) + write_1h
    cache_read = values["cache_read"] or 0
    return ExtractedUsage(
        build_tokens(
            where,
            input_tokens=(values["input"] or 0) + cache_read + cache_write,
            cache_read_tokens=cache_read,
            cache_write_tokens=cache_write,
            cache_write_1h_tokens=write_1h,
            output_tokens=values["output"] or 0,
        ),
        model,
        None,
    )
