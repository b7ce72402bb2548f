"""Provider ids, their aliases, and which usage shape each speaks: one table.

Ids follow genai-prices' provider ids, so the canonical id is also the price book's.
Providers genai-prices has usage extractors for, and that have no row here, are known
too and read through genai-prices (see via_genai).
"""

from enum import StrEnum

from stream.canonical.via_genai import PROVIDERS as GENAI_PRICES_PROVIDERS


class Shape(StrEnum):
    OPENAI = "openai"  # Chat Completions / Responses usage, and OpenAI-compatible APIs
    ANTHROPIC = "anthropic"  # Messages API usage (input excludes cache)
    GEMINI = "gemini"  # generateContent usageMetadata
    BEDROCK = "bedrock"  # Converse / ConverseStream usage (inputTokens excludes cache)
    GENERIC = "generic"  # already canonical
    GENAI_PRICES = "genai-prices"  # genai-prices' extractor for the provider and flavour


PROVIDERS: dict[str, tuple[Shape, tuple[str, ...]]] = {
    # id: (shape of its native API, aliases)
    "openai": (Shape.OPENAI, ()),
    "azure": (Shape.OPENAI, ("azure-openai", "azure_openai", "azureopenai", "azure-ai", "azure-foundry")),
    "anthropic": (Shape.ANTHROPIC, ("claude",)),
    "google": (Shape.GEMINI, ("gemini", "vertex", "vertexai", "vertex-ai", "vertex_ai", "google-vertex",
                              "google-vertex-ai", "google-gla", "google-genai", "google-ai-studio")),
    "aws": (Shape.BEDROCK, ("bedrock", "aws-bedrock", "amazon-bedrock", "amazon", "bedrock-runtime")),
    "deepseek": (Shape.OPENAI, ()),
    "openrouter": (Shape.OPENAI, ()),
    "mistral": (Shape.OPENAI, ("mistralai", "mistral-ai")),
    "x-ai": (Shape.OPENAI, ("xai", "x.ai", "grok")),
    "groq": (Shape.OPENAI, ()),
    "together": (Shape.OPENAI, ("togetherai", "together-ai")),
    "fireworks": (Shape.OPENAI, ("fireworks-ai", "fireworksai")),
    "cerebras": (Shape.OPENAI, ()),
    "moonshotai": (Shape.OPENAI, ("moonshot", "kimi")),
    "zai": (Shape.OPENAI, ("z-ai", "zhipu")),
    "generic": (Shape.GENERIC, ("canonical",)),
}  # fmt: skip

FLAVOR_SHAPES: dict[str, Shape] = {
    # An api_flavor naming a wire format overrides the provider's native shape: Claude on
    # Bedrock (InvokeModel), Vertex or Azure speaks Anthropic's; OpenAI-compatible
    # endpoints of Vertex and Bedrock speak OpenAI's. Other flavours ("default", ...)
    # keep the native shape.
    "anthropic": Shape.ANTHROPIC, "messages": Shape.ANTHROPIC,
    "converse": Shape.BEDROCK, "converse-stream": Shape.BEDROCK, "converse_stream": Shape.BEDROCK,
    "chat": Shape.OPENAI, "chat-completions": Shape.OPENAI, "openai": Shape.OPENAI, "responses": Shape.OPENAI,
    "gemini": Shape.GEMINI, "generate-content": Shape.GEMINI,
}  # fmt: skip

_ALIASES: dict[str, str] = {
    **{provider_id: provider_id for provider_id in GENAI_PRICES_PROVIDERS},
    **{name: provider_id for provider_id, (_, aliases) in PROVIDERS.items() for name in (provider_id, *aliases)},
}

KNOWN_PROVIDERS: frozenset[str] = frozenset(_ALIASES.values())


def canonical_provider(provider: str) -> str | None:
    """The one id of ``provider`` (any alias, any case), or None if unknown."""
    if not isinstance(provider, str):
        return None
    found = _ALIASES.get(provider)
    return _ALIASES.get(provider.strip().lower()) if found is None else found


def shape_for(provider_id: str, api_flavor: str) -> Shape:
    row = PROVIDERS.get(provider_id)
    if row is None:
        return Shape.GENAI_PRICES  # flavours are genai-prices' own there
    native = row[0]
    if native is Shape.GENERIC:
        return native
    return FLAVOR_SHAPES.get(api_flavor) or FLAVOR_SHAPES.get(api_flavor.strip().lower(), native)
