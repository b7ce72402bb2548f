"""Unusable usage is rejected with a UsageError naming the field; junk never raises
anything else."""

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.usage import MAX_TOKENS_PER_EVENT, TokenUsage
from stream.canonical import UsageError, extract_usage
from tests.unit.test_canonical_extract import ANTHROPIC_STREAM, GEMINI_STREAM, OPENAI_STREAM


@pytest.mark.parametrize(
    ("provider", "flavor", "response", "field"),
    [
        ("openai", "chat", {"usage": {"prompt_tokens": -3, "completion_tokens": 1}}, "response.usage.prompt_tokens"),
        ("openai", "chat", {"usage": {"prompt_tokens": 2.5, "completion_tokens": 1}}, "response.usage.prompt_tokens"),
        ("openai", "chat", {"usage": {"prompt_tokens": 3.0, "completion_tokens": 1}}, "response.usage.prompt_tokens"),
        ("openai", "chat", {"usage": {"prompt_tokens": "12", "completion_tokens": 1}}, "response.usage.prompt_tokens"),
        ("openai", "chat", {"usage": {"prompt_tokens": True}}, "response.usage.prompt_tokens"),
        ("openai", "chat", {"usage": {"prompt_tokens": 10**12}}, "response.usage.prompt_tokens"),
        ("openai", "chat", {"usage": {"prompt_tokens": 5, "completion_tokens": [1]}},
         "response.usage.completion_tokens"),
        ("openai", "chat", {"usage": {"prompt_tokens": 5, "prompt_tokens_details": {"cached_tokens": -1}}},
         "response.usage.prompt_tokens_details.cached_tokens"),
        ("openai", "chat", {"id": "no usage here"}, "response.usage"),
        ("openai", "chat", {"usage": {"completion_tokens": 4}}, "response.usage.prompt_tokens"),
        ("openai", "responses", {"usage": {"output_tokens": 4}}, "response.usage.input_tokens"),
        ("openai", "chat", [{"usage": None}, {"choices": []}], "response"),
        ("openai", "chat", [{"usage": None}, {"usage": {"prompt_tokens": -1}}], "response[1].usage.prompt_tokens"),
        ("anthropic", "default", {"usage": {"input_tokens": 1, "output_tokens": -1}}, "response.usage.output_tokens"),
        ("anthropic", "default", {"content": []}, "response.usage"),
        ("anthropic", "default", [{"type": "ping"}], "response"),
        ("anthropic", "default",
         [{"type": "message_start", "message": {"usage": {"input_tokens": 1, "cache_read_input_tokens": "x"}}}],
         "response[0].message.usage.cache_read_input_tokens"),
        ("google", "default", {"usageMetadata": {"candidatesTokenCount": 3}},
         "response.usageMetadata.promptTokenCount"),
        ("google", "default",
         {"usageMetadata": {"promptTokenCount": 3,
                            "promptTokensDetails": [{"modality": "AUDIO", "tokenCount": -2}]}},
         "response.usageMetadata.promptTokensDetails[modality=AUDIO].tokenCount"),
        ("aws", "converse", {"usage": {"outputTokens": 3}}, "response.usage.inputTokens"),
        ("aws", "converse", {"usage": {"inputTokens": 1, "cacheDetails": [{"ttl": "1h", "inputTokens": 9}],
                                       "cacheWriteInputTokens": 2}}, "response.usage"),
        ("openrouter", "chat", {"usage": {"prompt_tokens": 1, "cost": "free"}}, "response.usage.cost"),
        ("openrouter", "chat", {"usage": {"prompt_tokens": 1, "cost": -0.5}}, "response.usage.cost"),
        ("openrouter", "chat", {"usage": {"prompt_tokens": 1, "cost": float("nan")}}, "response.usage.cost"),
        ("openrouter", "chat", {"usage": {"prompt_tokens": 1, "cost": 1e300}}, "response.usage.cost"),
        ("openrouter", "chat", {"usage": {"prompt_tokens": 1, "cost": True}}, "response.usage.cost"),
        ("nonsense-ai", "default", {"usage": {}}, "provider"),
        ("generic", "default", {"usage": {"input_tokens": 1, "reasoning_tokens": 2}}, "response.usage"),
        ("generic", "default", {"usage": {"input_tokens": 1.0}}, "response.usage.input_tokens"),
        ("generic", "default", {"usage": {"input_tokens": 1, "surprise_tokens": 2}}, "response.usage.surprise_tokens"),
        ("generic", "default", {"model": "m"}, "response.usage"),
        ("perplexity", "default", {"usage": {"prompt_tokens": 1.5, "completion_tokens": 1}},
         "response.usage.prompt_tokens"),
        ("cohere", "default", {"usage": {"billed_units": {"input_tokens": 1, "output_tokens": -4}}},
         "response.usage.billed_units.output_tokens"),
        ("perplexity", "no-such-flavor", {"usage": {"prompt_tokens": 1, "completion_tokens": 1}}, "api_flavor"),
        ("cohere", "default", {"id": "x"}, "response"),
        ("openai", "chat", None, "response"),
    ],
)
def test_bad_input_is_rejected_naming_the_field(provider: str, flavor: str, response: Any, field: str) -> None:
    with pytest.raises(UsageError) as caught:
        extract_usage(provider, flavor, response)
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}: ")


@pytest.mark.parametrize(
    ("provider", "flavor", "usage", "message"),
    [
        ("openai", "chat", {"prompt_tokens": 5, "prompt_tokens_details": {"cached_tokens": 9}}, "exceed input"),
        ("openai", "chat", {"prompt_tokens": 5, "completion_tokens": 2,
                            "completion_tokens_details": {"reasoning_tokens": 3}}, "reasoning tokens (3)"),
        ("openai", "chat", {"prompt_tokens": 5, "prompt_tokens_details": {"audio_tokens": 6}}, "audio input"),
        ("openai", "chat", {"prompt_tokens": 5, "completion_tokens": 1,
                            "completion_tokens_details": {"audio_tokens": 2}}, "audio output"),
        ("anthropic", "default", {"input_tokens": 1, "cache_creation_input_tokens": 10,
                                  "cache_creation": {"ephemeral_1h_input_tokens": 11}}, "1-hour cache writes"),
        # each count is within limits, their canonical sum is not
        ("anthropic", "default", {"input_tokens": MAX_TOKENS_PER_EVENT, "cache_read_input_tokens": 1}, "beyond"),
    ],
)
def test_parts_that_do_not_fit_their_totals_are_rejected(
    provider: str, flavor: str, usage: dict[str, Any], message: str
) -> None:
    with pytest.raises(UsageError) as caught:
        extract_usage(provider, flavor, {"usage": usage})
    assert caught.value.field == "response.usage"
    assert message in str(caught.value)


def test_usage_error_is_a_value_error_carrying_field_and_message() -> None:
    error = UsageError("response.usage.prompt_tokens", "cannot be negative (-1)")
    assert isinstance(error, ValueError)
    assert (error.field, str(error)) == ("response.usage.prompt_tokens",
                                         "response.usage.prompt_tokens: cannot be negative (-1)")


KEYS = ["usage", "usageMetadata", "usage_metadata", "prompt_tokens", "input_tokens", "output_tokens", "metadata",
        "promptTokenCount", "candidatesTokenCount", "thoughtsTokenCount", "totalTokenCount", "promptTokensDetails",
        "modality", "tokenCount", "inputTokens", "outputTokens", "cacheDetails", "ttl", "message", "type", "cost",
        "prompt_tokens_details", "completion_tokens_details", "reasoning_tokens", "cached_tokens", "cache_creation",
        "ephemeral_1h_input_tokens", "cache_read_input_tokens", "completion_tokens", "total_tokens", "response",
        "x_groq", "billed_units", "model", "x"]
SCALARS = (st.none() | st.booleans() | st.integers() | st.integers(0, 2000) | st.floats() | st.text(max_size=8)
           | st.sampled_from(["AUDIO", "1h", "5m", "message_start"]))
JSON = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=4),
                                                                      children, max_size=6),
    max_leaves=30,
)
PROVIDERS = ["openai", "azure", "anthropic", "google", "aws", "deepseek", "openrouter", "x-ai", "groq", "mistral",
             "generic", "perplexity", "cohere", "cloudflare", "unknown-ai"]
FLAVORS = ["default", "chat", "responses", "anthropic", "converse", "embeddings", "weird"]


def _only_usage_or_usage_error(provider: str, flavor: str, response: Any) -> None:
    try:
        result = extract_usage(provider, flavor, response)
    except UsageError as exc:
        assert exc.field
    else:
        assert isinstance(result.tokens, TokenUsage)
        # whatever came out satisfies the canonical constraints
        assert TokenUsage.model_validate(result.tokens.model_dump()) == result.tokens


@settings(max_examples=600, deadline=None)
@given(provider=st.sampled_from(PROVIDERS), flavor=st.sampled_from(FLAVORS), response=JSON)
def test_junk_never_raises_anything_but_usage_error(provider: str, flavor: str, response: Any) -> None:
    _only_usage_or_usage_error(provider, flavor, response)


@settings(max_examples=300, deadline=None)
@given(provider=st.sampled_from(PROVIDERS), index=st.integers(0, 20), junk=JSON)
def test_junk_spliced_into_real_streams_never_raises_anything_else(provider: str, index: int, junk: Any) -> None:
    for stream in (OPENAI_STREAM, ANTHROPIC_STREAM, GEMINI_STREAM):
        spliced = [*stream[:index], junk, *stream[index:]]
        _only_usage_or_usage_error(provider, "default", spliced)
