"""Provider response -> canonical tokens: one entry point for every provider.

Written by hand rather than with genai-prices' ``extract_usage``: that costs ~55 us per
call here (measured), reads no stream lists (so it cannot merge Anthropic's
message_start/message_delta), drops DeepSeek's cache hits and OpenRouter's reported
cost, and does not see xAI's reasoning tokens outside completion_tokens. The mapping
per provider is documented in each shape's module.
"""

from typing import Any

from pydantic import ValidationError

from schemas.usage import TokenUsage
from stream.canonical.anthropic import extract_anthropic
from stream.canonical.bedrock import extract_bedrock
from stream.canonical.errors import UsageError
from stream.canonical.fields import dig, text
from stream.canonical.gemini import extract_gemini
from stream.canonical.openai import extract_openai
from stream.canonical.providers import KNOWN_PROVIDERS, Shape, canonical_provider, shape_for
from stream.canonical.result import ExtractedUsage


def _generic(response: Any) -> ExtractedUsage:
    usage = dig(response, ("usage",))
    if not isinstance(usage, dict):
        raise UsageError("usage", "missing: send canonical counts in 'usage' (or response.usage)")
    try:
        tokens = TokenUsage.model_validate(usage)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        field = ".".join(["response.usage", *(str(part) for part in error["loc"])])
        raise UsageError(field, error["msg"].removeprefix("Value error, ")) from None
    return ExtractedUsage(tokens, text(response, ("model",)), None)


def extract_usage(
    provider: str, api_flavor: str, response: dict[str, Any] | list[Any] | None, usage: TokenUsage | None = None
) -> ExtractedUsage:
    """Canonical tokens (and the model and cost the response names) for one event.

    Raises :class:`UsageError` naming the field for anything unusable; nothing else.
    """
    if usage is not None:
        model = text(response, ("model",)) if isinstance(response, dict) else None
        return ExtractedUsage(usage, model, None)
    provider_id = canonical_provider(provider)
    if provider_id is None:
        raise UsageError(
            "provider",
            f"unknown provider '{provider[:64]}'; use one of {', '.join(sorted(KNOWN_PROVIDERS))}, "
            "or send canonical counts in 'usage'",
        )
    if response is None:
        raise UsageError("response", "missing: send the provider's response (or its usage object), or 'usage'")
    shape = shape_for(provider_id, api_flavor)
    try:
        if shape is Shape.ANTHROPIC:
            return extract_anthropic(response)
        if shape is Shape.GEMINI:
            return extract_gemini(response)
        if shape is Shape.BEDROCK:
            return extract_bedrock(response)
        if shape is Shape.GENERIC:
            return _generic(response)
        return extract_openai(provider_id, response)
    except UsageError:
        raise
    except (TypeError, ValueError, AttributeError, KeyError, IndexError) as exc:
        # Shapes are read defensively; this is the net under the net, so that no junk
        # input can stop the worker.
        raise UsageError("response", f"unreadable usage ({type(exc).__name__}: {exc})") from None
