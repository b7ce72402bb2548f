"""Provider response -> canonical tokens: one entry point for every provider.

The mapping of each provider's fields is in its shape's module (openai, anthropic,
gemini, bedrock) as a table of field paths; providers without a table here go through
genai-prices' extractors (via_genai).
"""

from typing import Any

from pydantic import ValidationError

from schemas.usage import TokenUsage
from schemas.wire import as_model
from stream.canonical.anthropic import extract_anthropic
from stream.canonical.bedrock import extract_bedrock
from stream.canonical.capture import stream_items
from stream.canonical.errors import UsageError
from stream.canonical.fields import text
from stream.canonical.gemini import extract_gemini
from stream.canonical.openai import extract_openai
from stream.canonical.providers import KNOWN_PROVIDERS, Shape, canonical_provider, shape_for
from stream.canonical.result import ExtractedUsage
from stream.canonical.via_genai import extract_via_genai_prices


def extract_usage(
    provider: str,
    api_flavor: str,
    response: dict[str, Any] | list[Any] | str | None,
    usage: TokenUsage | None = None,
    *,
    trusted: bool = False,
) -> ExtractedUsage:
    """Canonical tokens (and the model and cost the response names) for one event.

    ``usage``, when given, is already canonical and is returned as is; ``response`` then
    only supplies the model and reported cost, when it can. Raises :class:`UsageError`
    naming the field for anything unusable, and nothing else.

    The tokens are a TokenUsage; with ``trusted`` (the ingest pipeline) they may be the
    :data:`schemas.wire.TokensStruct` extraction built them as, without a pydantic object.
    """
    found = _extract_usage(provider, api_flavor, response, usage)
    if trusted or type(found.tokens) is TokenUsage:
        return found
    return ExtractedUsage(as_model(found.tokens, TokenUsage), found.model, found.reported_cost_usd)


def _extract_usage(
    provider: str, api_flavor: str, response: dict[str, Any] | list[Any] | str | None, usage: TokenUsage | None
) -> ExtractedUsage:
    if usage is not None:
        if response is None:
            return ExtractedUsage(usage, None, None)
        try:
            found = _extract(provider, api_flavor, response)
        except UsageError:
            return ExtractedUsage(usage, text(response, ("model",)), None)
        return ExtractedUsage(usage, found.model, found.reported_cost_usd)
    return _extract(provider, api_flavor, response)


def _extract(provider: str, api_flavor: str, response: Any) -> ExtractedUsage:
    provider_id = canonical_provider(provider)
    if provider_id is None:
        raise UsageError(
            "provider",
            f"unknown provider '{str(provider)[:64]}'; use one of {', '.join(sorted(KNOWN_PROVIDERS))}, "
            "or send canonical counts in 'usage'",
        )
    if response is None:
        raise UsageError("response", "missing: send the provider's response (or its usage object), or 'usage'")
    try:
        response = stream_items(response)
        shape = shape_for(provider_id, api_flavor)
        if shape is Shape.OPENAI:
            return extract_openai(provider_id, response)
        if shape is Shape.ANTHROPIC:
            return extract_anthropic(response)
        if shape is Shape.GEMINI:
            return extract_gemini(response)
        if shape is Shape.BEDROCK:
            return extract_bedrock(response)
        if shape is Shape.GENERIC:
            return _generic(response)
        return extract_via_genai_prices(provider_id, api_flavor, response)
    except UsageError:
        raise
    except (TypeError, ValueError, AttributeError, KeyError, IndexError, OverflowError, RecursionError) as exc:
        # Shapes are read defensively; this is the net under the net, so that no junk
        # input can stop the worker.
        raise UsageError("response", f"unreadable usage ({type(exc).__name__}: {exc})"[:300]) from None


def _generic(response: Any) -> ExtractedUsage:
    usage = response.get("usage") if type(response) is dict else None
    if type(usage) is not dict:
        raise UsageError("response.usage", "missing: send canonical counts in 'usage' (or response.usage)")
    try:
        tokens = TokenUsage.model_validate(usage)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        field = ".".join(["response.usage", *(str(part) for part in error["loc"])])
        raise UsageError(field, error["msg"].removeprefix("Value error, ")) from None
    return ExtractedUsage(tokens, text(response, ("model",)), None)
