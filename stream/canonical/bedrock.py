"""AWS Bedrock Converse / ConverseStream usage
(https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_TokenUsage.html).

``inputTokens`` EXCLUDES cache (``totalTokens`` = input + output + cache read + cache
write): canonical input = inputTokens + cacheReadInputTokens + cacheWriteInputTokens.
``cacheDetails`` splits the writes by TTL (``[{"ttl": "1h", "inputTokens": n}, ...]``).
ConverseStream reports usage once, in its final ``metadata`` event.

genai-prices' aws extractor maps a Converse response the same way, but does not read
ConverseStream event lists; one hand path serves both.
"""

from typing import Any

from stream.canonical.errors import UsageError
from stream.canonical.fields import Match
from stream.canonical.result import ExtractedUsage
from stream.canonical.spec import UsageSpec, read_raw, to_tokens

CONVERSE = UsageSpec(
    input=("inputTokens",),
    output=(("outputTokens",),),
    cache_read=(("cacheReadInputTokens",),),
    cache_write=(("cacheWriteInputTokens",),),
    cache_write_1h=(("cacheDetails", Match("ttl", "1h"), "inputTokens"),),
    cache_write_5m=(("cacheDetails", Match("ttl", "5m"), "inputTokens"),),
    input_excludes_cache=True,
)


def _usage_of(event: Any, prefix: str) -> tuple[Any, str] | None:
    if type(event) is not dict:
        return None
    usage = event.get("usage")
    if type(usage) is dict:
        return usage, f"{prefix}.usage"
    metadata = event.get("metadata")
    if type(metadata) is dict and type(metadata.get("usage")) is dict:
        return metadata["usage"], f"{prefix}.metadata.usage"
    if "inputTokens" in event:
        return event, prefix  # the producer sent just the usage object
    return None


def _locate(response: Any) -> tuple[Any, str]:
    if type(response) is list:
        for index in range(len(response) - 1, -1, -1):
            found = _usage_of(response[index], f"response[{index}]")
            if found is not None:
                return found
        raise UsageError("response", "no event of the stream carries usage (ConverseStream's metadata event)")
    found = _usage_of(response, "response")
    if found is None:
        raise UsageError("response.usage", "missing: no Converse usage object in the response")
    return found


def extract_bedrock(response: Any) -> ExtractedUsage:
    usage, where = _locate(response)
    return ExtractedUsage(to_tokens(read_raw(usage, CONVERSE, where), CONVERSE, where), None, None)
