"""The hand-written tables against genai-prices' own extractors, on the single-response
shapes both read; and the shortcuts the hand path takes for speed."""

from typing import Any

import genai_prices
import pytest

from schemas.usage import TokenUsage
from stream.canonical import extract_usage
from tests.unit.test_canonical_extract import (
    ANTHROPIC,
    BEDROCK_CACHE_TTL,
    BEDROCK_CONVERSE,
    GEMINI,
    GEMINI_TTS,
    OPENAI_AUDIO,
    OPENAI_CHAT,
    OPENAI_RESPONSES,
    OPENROUTER,
    XAI,
)


def genai_tokens(response: Any, provider_id: str, flavor: str) -> TokenUsage:
    usage = genai_prices.extract_usage(response, provider_id=provider_id, api_flavor=flavor).usage
    return TokenUsage(
        input_tokens=usage.input_tokens, cache_read_tokens=usage.cache_read_tokens,
        cache_write_tokens=usage.cache_write_tokens, cache_write_1h_tokens=usage.cache_write_1h_tokens,
        output_tokens=usage.output_tokens, reasoning_tokens=usage.output_reasoning_tokens,
        input_audio_tokens=usage.input_audio_tokens, output_audio_tokens=usage.output_audio_tokens,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("provider", "flavor", "genai_flavor", "response"),
    [
        ("openai", "chat", "chat", OPENAI_CHAT), ("openai", "chat", "chat", OPENAI_AUDIO),
        ("openai", "responses", "responses", OPENAI_RESPONSES), ("azure", "chat", "chat", OPENAI_CHAT),
        ("anthropic", "default", "default", ANTHROPIC), ("aws", "anthropic", "anthropic", ANTHROPIC),
        ("google", "default", "default", GEMINI), ("google", "default", "default", GEMINI_TTS),
        ("aws", "converse", "default", BEDROCK_CONVERSE), ("aws", "converse", "default", BEDROCK_CACHE_TTL),
        ("x-ai", "chat", "chat", XAI), ("openrouter", "chat", "chat", OPENROUTER),
    ],
)  # fmt: skip
def test_hand_tables_agree_with_genai_prices(provider: str, flavor: str, genai_flavor: str, response: Any) -> None:
    assert extract_usage(provider, flavor, response).tokens == genai_tokens(response, provider, genai_flavor)


def test_deepseek_cache_hits_are_read_where_genai_prices_misses_them() -> None:
    response = {"model": "deepseek-chat", "usage": {"prompt_tokens": 900, "completion_tokens": 40,
                                                     "prompt_cache_hit_tokens": 640, "prompt_cache_miss_tokens": 260}}
    assert genai_tokens(response, "deepseek", "chat").cache_read_tokens == 0
    assert extract_usage("deepseek", "chat", response).tokens.cache_read_tokens == 640
