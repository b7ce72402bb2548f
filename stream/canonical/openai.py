"""OpenAI's usage shapes, and the OpenAI-compatible APIs that copy them (Azure OpenAI,
DeepSeek, OpenRouter, Mistral, xAI, Groq, ...).

- Chat Completions: ``prompt_tokens`` includes ``prompt_tokens_details.cached_tokens``;
  ``completion_tokens`` includes ``completion_tokens_details.reasoning_tokens``.
- Responses: ``input_tokens`` / ``input_tokens_details.cached_tokens``, ``output_tokens``
  / ``output_tokens_details.reasoning_tokens``, same inclusive convention.
- Streaming: a list of chunks; usage comes on the final chunk (``include_usage``), the
  others carry ``"usage": null``. Responses streams end with ``response.completed``.
- DeepSeek reports cache hits as ``prompt_cache_hit_tokens`` (part of prompt_tokens).
- OpenRouter adds ``usage.cost`` (USD it charged) and ``prompt_tokens_details.cache_write_tokens``.
- xAI reports reasoning tokens *outside* ``completion_tokens`` (its ``total_tokens`` is
  prompt + completion + reasoning). Any provider doing so is recognised by that total.
"""

from typing import Any

from stream.canonical.errors import UsageError
from stream.canonical.fields import count, dig, money, text
from stream.canonical.result import ExtractedUsage, build_tokens

_USAGE_KEYS = ("prompt_tokens", "completion_tokens", "input_tokens", "output_tokens")


def _locate(response: Any) -> tuple[Any, str, Any]:
    """(usage object, its dotted location, the object naming the model)."""
    if isinstance(response, list):
        found: tuple[Any, str, Any] | None = None
        for index, chunk in enumerate(response):
            if not isinstance(chunk, dict):
                continue
            if isinstance(chunk.get("usage"), dict):
                found = (chunk["usage"], f"response[{index}].usage", chunk)
            elif isinstance(dig(chunk, ("response", "usage")), dict):
                found = (chunk["response"]["usage"], f"response[{index}].response.usage", chunk["response"])
        if found is None:
            raise UsageError(
                "response", "no chunk of the stream carries usage (request it with stream_options.include_usage)"
            )
        return found
    if isinstance(response, dict):
        if isinstance(response.get("usage"), dict):
            return response["usage"], "response.usage", response
        if isinstance(dig(response, ("response", "usage")), dict):
            return response["response"]["usage"], "response.response.usage", response["response"]
        if any(key in response for key in _USAGE_KEYS):
            return response, "response", response
    raise UsageError("response.usage", "missing: no usage object in the response")


def extract_openai(provider_id: str, response: Any) -> ExtractedUsage:
    usage, where, named = _locate(response)
    model = text(named, ("model",))
    cost = money(usage, ("cost",), where)
    if "prompt_tokens" in usage or "completion_tokens" in usage:
        prompt = count(usage, ("prompt_tokens",), where)
        if prompt is None:
            raise UsageError(f"{where}.prompt_tokens", "missing")
        completion = count(usage, ("completion_tokens",), where) or 0
        cached = count(usage, ("prompt_tokens_details", "cached_tokens"), where)
        if cached is None:
            cached = count(usage, ("prompt_cache_hit_tokens",), where) or 0
        cache_write = count(usage, ("prompt_tokens_details", "cache_write_tokens"), where) or 0
        input_audio = count(usage, ("prompt_tokens_details", "audio_tokens"), where) or 0
        reasoning = count(usage, ("completion_tokens_details", "reasoning_tokens"), where) or 0
        output_audio = count(usage, ("completion_tokens_details", "audio_tokens"), where) or 0
        reported_total = count(usage, ("total_tokens",), where)
        reasoning_outside = reasoning > 0 and (
            reported_total == prompt + completion + reasoning
            or (reported_total is None and provider_id == "x-ai")
        )
        output = completion + reasoning if reasoning_outside else completion
        return ExtractedUsage(
            build_tokens(where, input_tokens=prompt, cache_read_tokens=cached, cache_write_tokens=cache_write,
                         output_tokens=output, reasoning_tokens=reasoning, input_audio_tokens=input_audio,
                         output_audio_tokens=output_audio),
            model, cost,
        )
    input_tokens = count(usage, ("input_tokens",), where)
    if input_tokens is None:
        raise UsageError(f"{where}.input_tokens", "missing")
    return ExtractedUsage(
        build_tokens(
            where,
            input_tokens=input_tokens,
            cache_read_tokens=count(usage, ("input_tokens_details", "cached_tokens"), where) or 0,
            output_tokens=count(usage, ("output_tokens",), where) or 0,
            reasoning_tokens=count(usage, ("output_tokens_details", "reasoning_tokens"), where) or 0,
        ),
        model, cost,
    )
