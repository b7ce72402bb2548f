"""Provider ids, aliases and the shape each (provider, flavour) is read as."""

import pytest
from genai_prices import data_snapshot

from stream.canonical import KNOWN_PROVIDERS, canonical_provider
from stream.canonical.providers import PROVIDERS, Shape, shape_for
from stream.canonical.via_genai import PROVIDERS as GENAI_PRICES_PROVIDERS


@pytest.mark.parametrize(
    ("alias", "provider_id"),
    [
        ("google", "google"), ("gemini", "google"), ("vertex", "google"), ("google-vertex", "google"),
        ("aws", "aws"), ("bedrock", "aws"), ("azure", "azure"), ("azure-openai", "azure"),
        ("x-ai", "x-ai"), ("xai", "x-ai"), ("grok", "x-ai"), ("anthropic", "anthropic"), ("claude", "anthropic"),
        ("OpenAI", "openai"), ("  Bedrock ", "aws"), ("perplexity", "perplexity"), ("generic", "generic"),
    ],
)  # fmt: skip
def test_aliases_map_to_one_id(alias: str, provider_id: str) -> None:
    assert canonical_provider(alias) == provider_id


def test_unknown_names_have_no_id() -> None:
    assert canonical_provider("openai-but-not-really") is None
    assert "openai-but-not-really" not in KNOWN_PROVIDERS


def test_ids_are_lower_case_and_known_and_no_alias_is_claimed_twice() -> None:
    names = [name for provider_id, (_, aliases) in PROVIDERS.items() for name in (provider_id, *aliases)]
    assert len(names) == len(set(names))
    assert all(name == name.lower() for name in names)
    assert set(PROVIDERS) <= KNOWN_PROVIDERS
    assert all(canonical_provider(name) in KNOWN_PROVIDERS for name in names)


def test_table_ids_are_genai_prices_ids_so_the_price_book_finds_them() -> None:
    genai_ids = {provider.id for provider in data_snapshot.get_snapshot().providers}
    assert set(PROVIDERS) - {"generic"} <= genai_ids
    assert set(GENAI_PRICES_PROVIDERS) <= KNOWN_PROVIDERS


@pytest.mark.parametrize(
    ("provider_id", "flavor", "shape"),
    [
        ("openai", "default", Shape.OPENAI), ("openai", "responses", Shape.OPENAI),
        ("anthropic", "default", Shape.ANTHROPIC), ("aws", "default", Shape.BEDROCK),
        ("aws", "converse", Shape.BEDROCK), ("aws", "anthropic", Shape.ANTHROPIC),
        ("google", "default", Shape.GEMINI), ("google", "anthropic", Shape.ANTHROPIC),
        ("google", "chat", Shape.OPENAI), ("azure", "anthropic", Shape.ANTHROPIC),
        ("x-ai", "chat", Shape.OPENAI), ("generic", "chat", Shape.GENERIC),
        ("perplexity", "default", Shape.GENAI_PRICES), ("cohere", "default", Shape.GENAI_PRICES),
    ],
)  # fmt: skip
def test_shape_by_provider_and_flavour(provider_id: str, flavor: str, shape: Shape) -> None:
    assert shape_for(provider_id, flavor) is shape
