"""AWS Bedrock Converse / ConverseStream usage.

``inputTokens`` EXCLUDES cache (``totalTokens`` = input + output + cache read + cache
write): canonical input = inputTokens + cacheReadInputTokens + cacheWriteInputTokens.
ConverseStream reports usage in its final ``metadata`` event.
"""

from typing import Any

from stream.canonical.errors import UsageError
from stream.canonical.fields import count, dig
from stream.canonical.result import ExtractedUsage, build_tokens


def _locate(response: Any) -> tuple[Any, str]:
    events = response if isinstance(response, list) else [response]
    found: tuple[Any, str] | None = None
    for index, event in enumerate(events):
        prefix = f"response[{index}]" if isinstance(response, list) else "response"
        if isinstance(dig(event, ("usage",)), dict):
            found = (event["usage"], f"{prefix}.usage")
        elif isinstance(dig(event, ("metadata", "usage")), dict):
            found = (event["metadata"]["usage"], f"{prefix}.metadata.usage")
        elif isinstance(event, dict) and "inputTokens" in event:
            found = (event, prefix)
    if found is None:
        raise UsageError("response.usage", "missing: no Converse usage (or ConverseStream metadata event)")
    return found


def extract_bedrock(response: Any) -> ExtractedUsage:
    usage, where = _locate(response)
    uncached = count(usage, ("inputTokens",), where)
    if uncached is None:
        raise UsageError(f"{where}.inputTokens", "missing")
    cache_read = count(usage, ("cacheReadInputTokens",), where) or 0
    cache_write = count(usage, ("cacheWriteInputTokens",), where) or 0
    return ExtractedUsage(
        build_tokens(
            where,
            input_tokens=uncached + cache_read + cache_write,
            cache_read_tokens=cache_read,
            cache_write_tokens=cache_write,
            output_tokens=count(usage, ("outputTokens",), where) or 0,
        ),
        None,
        None,
    )
