"""Provider ids and their aliases, and which usage shape each speaks.

Ids follow genai-prices' provider ids, so the canonical id is also the price book's.
"""

from enum import StrEnum


class Shape(StrEnum):
    OPENAI = "openai"  # Chat Completions / Responses usage objects, and OpenAI-compatible APIs
    ANTHROPIC = "anthropic"  # Messages API usage (input excludes cache)
    GEMINI = "gemini"  # usageMetadata
    BEDROCK = "bedrock"  # Converse / ConverseStream usage (inputTokens excludes cache)
    GENERIC = "generic"  # already canonical


ALIASES: dict[str, str] = {
    "openai": "openai",
    "azure": "azure", "azure-openai": "azure", "azure_openai": "azure", "azureopenai": "azure",
    "anthropic": "anthropic", "claude": "anthropic",
    "google": "google", "gemini": "google", "vertex": "google", "vertexai": "google", "google-vertex": "google",
    "google-gla": "google", "google-vertex-ai": "google",
    "aws": "aws", "bedrock": "aws", "aws-bedrock": "aws", "amazon-bedrock": "aws",
    "deepseek": "deepseek",
    "openrouter": "openrouter",
    "mistral": "mistral", "mistralai": "mistral",
    "x-ai": "x-ai", "xai": "x-ai", "grok": "x-ai",
    "groq": "groq",
    "together": "together", "fireworks": "fireworks", "cerebras": "cerebras", "perplexity": "perplexity",
    "moonshotai": "moonshotai", "zai": "zai", "cohere": "cohere",
    "generic": "generic",
}  # fmt: skip

SHAPES: dict[str, Shape] = {
    "anthropic": Shape.ANTHROPIC,
    "google": Shape.GEMINI,
    "aws": Shape.BEDROCK,
    "generic": Shape.GENERIC,
}
"""Every other known provider speaks the OpenAI shape."""

KNOWN_PROVIDERS: frozenset[str] = frozenset(ALIASES.values())


def canonical_provider(provider: str) -> str | None:
    return ALIASES.get(provider.strip().lower())


def shape_for(provider_id: str, api_flavor: str) -> Shape:
    flavor = api_flavor.lower()
    if flavor in ("anthropic", "messages"):
        return Shape.ANTHROPIC  # Claude on Bedrock (InvokeModel) or Vertex speaks Anthropic's shape
    if flavor in ("converse", "converse-stream") and provider_id == "aws":
        return Shape.BEDROCK
    if flavor in ("chat", "openai", "responses") and provider_id in ("google", "aws"):
        return Shape.OPENAI  # OpenAI-compatible endpoints of Vertex and Bedrock
    return SHAPES.get(provider_id, Shape.OPENAI)
