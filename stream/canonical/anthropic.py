"""Anthropic Messages usage (direct, on Bedrock InvokeModel, on Vertex, on Azure).

``input_tokens`` EXCLUDES cache: canonical input = input_tokens +
cache_read_input_tokens + cache_creation_input_tokens. ``cache_creation`` splits writes
into ``ephemeral_5m_input_tokens`` and ``ephemeral_1h_input_tokens``. Thinking tokens
are inside ``output_tokens`` and not reported apart.

Streaming splits usage across events: ``message_start.message.usage`` carries input and
cache (and an early output count), ``message_delta.usage`` carries the cumulative output
(and, in newer API versions, cumulative input and cache too). Every value is a running
total, so fields merge by taking the largest seen: nothing counted twice, nothing dropped.

genai-prices' anthropic extractor maps a single Messages response the same way, but
reads no stream event lists; one hand path serves both.
"""

from typing import Any

from stream.canonical.errors import UsageError
from stream.canonical.fields import text
from stream.canonical.result import ExtractedUsage
from stream.canonical.spec import Raw, UsageSpec, merge_cumulative, read_raw, to_tokens

MESSAGES = UsageSpec(
    input=("input_tokens",),
    output=(("output_tokens",),),
    cache_read=(("cache_read_input_tokens",),),
    cache_write=(("cache_creation_input_tokens",),),
    cache_write_1h=(("cache_creation", "ephemeral_1h_input_tokens"),),
    cache_write_5m=(("cache_creation", "ephemeral_5m_input_tokens"),),
    input_excludes_cache=True,
)


def _from_stream(events: list[Any]) -> tuple[Raw, str | None]:
    merged: Raw | None = None
    model: str | None = None
    for index, event in enumerate(events):
        if type(event) is not dict:
            continue
        message = event.get("message")
        if type(message) is dict and type(message.get("usage")) is dict:  # message_start
            usage, where = message["usage"], f"response[{index}].message.usage"
            model = text(message, ("model",)) or model
        elif type(event.get("usage")) is dict:  # message_delta
            usage, where = event["usage"], f"response[{index}].usage"
        else:
            continue
        raw = read_raw(usage, MESSAGES, where)
        if merged is None:
            merged = raw
        else:
            merge_cumulative(merged, raw)
    if merged is None:
        raise UsageError("response", "no message_start or message_delta event of the stream carries usage")
    return merged, model


def extract_anthropic(response: Any) -> ExtractedUsage:
    if type(response) is list:
        raw, model = _from_stream(response)
        return ExtractedUsage(to_tokens(raw, MESSAGES, "response"), model, None)
    if type(response) is not dict:
        raise UsageError("response", "expected a Messages response object or a list of stream events")
    usage = response.get("usage")
    where = "response.usage"
    if type(usage) is not dict:
        if "input_tokens" not in response:
            raise UsageError("response.usage", "missing: no usage object in the response")
        usage, where = response, "response"  # the producer sent just the usage object
    tokens = to_tokens(read_raw(usage, MESSAGES, where), MESSAGES, where)
    return ExtractedUsage(tokens, text(response, ("model",)), None)
