"""OpenAI's usage shapes, and the OpenAI-compatible APIs that copy them (Azure OpenAI,
DeepSeek, OpenRouter, Mistral, xAI, Groq, ...).

- Chat Completions: ``prompt_tokens`` includes ``prompt_tokens_details.cached_tokens``;
  ``completion_tokens`` includes ``completion_tokens_details.reasoning_tokens``; audio
  tokens are in both details. Already canonical.
- Responses: ``input_tokens`` / ``input_tokens_details.cached_tokens``, ``output_tokens``
  / ``output_tokens_details.reasoning_tokens``, same inclusive convention.
- Streaming: a list of chunks; usage comes on the final chunk (``stream_options.
  include_usage``), the others carry ``"usage": null``. Responses streams carry it in the
  ``response`` of ``response.completed``; Groq streams in ``x_groq.usage``.
"""

from dataclasses import replace
from typing import Any

from stream.canonical.anthropic import MESSAGES
from stream.canonical.errors import UsageError
from stream.canonical.fields import money, text
from stream.canonical.result import ExtractedUsage
from stream.canonical.spec import UsageSpec, read_raw, to_tokens

CHAT = UsageSpec(
    input=("prompt_tokens",),
    output=(("completion_tokens",),),
    cache_read=(("prompt_tokens_details", "cached_tokens"),),
    cache_write=(("prompt_tokens_details", "cache_write_tokens"),),  # OpenRouter, Moonshot
    reasoning=(("completion_tokens_details", "reasoning_tokens"),),
    input_audio=(("prompt_tokens_details", "audio_tokens"),),
    output_audio=(("completion_tokens_details", "audio_tokens"),),
    total=("total_tokens",),
)

RESPONSES = UsageSpec(
    input=("input_tokens",),
    output=(("output_tokens",),),
    cache_read=(("input_tokens_details", "cached_tokens"),),
    cache_write=(("input_tokens_details", "cache_write_tokens"),),
    reasoning=(("output_tokens_details", "reasoning_tokens"),),
    total=("total_tokens",),
)

CHAT_BY_PROVIDER: dict[str, UsageSpec] = {
    # DeepSeek: prompt_tokens = prompt_cache_hit_tokens + prompt_cache_miss_tokens; older
    # responses have no prompt_tokens_details (https://api-docs.deepseek.com/api/create-chat-completion).
    "deepseek": replace(CHAT, cache_read=(*CHAT.cache_read, ("prompt_cache_hit_tokens",))),
    # xAI reports reasoning_tokens apart from completion_tokens and bills them as output:
    # total_tokens = prompt + completion + reasoning (https://docs.x.ai/docs/guides/reasoning,
    # the usage example there: 32 + 9 + 94 = 135; genai-prices' x-ai chat extractor adds them
    # too). If a response's total says otherwise, the total wins (see spec._reasoning_outside).
    "x-ai": replace(CHAT, output_excludes_reasoning=True),
    # Moonshot (Kimi) reports cache hits at the top level of usage.
    "moonshotai": replace(CHAT, cache_read=(*CHAT.cache_read, ("cached_tokens",))),
}

REPORTS_COST = frozenset({"openrouter"})
"""Providers whose ``usage.cost`` is the USD they charged (OpenRouter; other APIs use the
name for objects or other currencies)."""


def _locate(response: Any) -> tuple[dict[str, Any], str, Any]:
    """(usage object, its dotted location, the object naming the model). In a stream the
    last chunk carrying usage wins: it holds the totals."""
    if type(response) is dict:
        usage = response.get("usage")
        if type(usage) is dict:
            return usage, "response.usage", response
        inner = response.get("response")
        if type(inner) is dict and type(inner.get("usage")) is dict:
            return inner["usage"], "response.response.usage", inner
        if "prompt_tokens" in response or "input_tokens" in response:
            return response, "response", response  # the producer sent just the usage object
        raise UsageError("response.usage", "missing: no usage object in the response")
    if type(response) is list:
        for index in range(len(response) - 1, -1, -1):
            chunk = response[index]
            if type(chunk) is not dict:
                continue
            usage = chunk.get("usage")
            if type(usage) is dict:
                return usage, f"response[{index}].usage", chunk
            inner = chunk.get("response")
            if type(inner) is dict and type(inner.get("usage")) is dict:
                return inner["usage"], f"response[{index}].response.usage", inner
            groq = chunk.get("x_groq")
            if type(groq) is dict and type(groq.get("usage")) is dict:
                return groq["usage"], f"response[{index}].x_groq.usage", chunk
        raise UsageError(
            "response", "no chunk of the stream carries usage (request it with stream_options.include_usage)"
        )
    raise UsageError("response", "expected a response object or a list of stream chunks")


def extract_openai(provider_id: str, response: Any) -> ExtractedUsage:
    usage, where, named = _locate(response)
    if "prompt_tokens" in usage or "completion_tokens" in usage:
        spec = CHAT_BY_PROVIDER.get(provider_id, CHAT)
    elif "cache_read_input_tokens" in usage or "cache_creation_input_tokens" in usage:
        # An Anthropic Messages body sent with an OpenAI flavour: its input_tokens exclude
        # cache, so reading it as a Responses usage would silently undercount input.
        spec = MESSAGES
    else:
        spec = RESPONSES
    return ExtractedUsage(
        to_tokens(read_raw(usage, spec, where), spec, where),
        text(named, ("model",)),
        money(usage, ("cost",), where) if provider_id in REPORTS_COST else None,
    )

