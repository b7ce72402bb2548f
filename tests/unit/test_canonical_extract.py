"""One recorded, real-shaped response per provider and flavour; expected canonical
tokens are computed here from the raw numbers in the response."""

from decimal import Decimal
from typing import Any

import orjson

from schemas.usage import TokenUsage
from stream.canonical import ExtractedUsage, extract_usage

OPENAI_CHAT: dict[str, Any] = {
    "id": "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG", "object": "chat.completion", "created": 1741570283,
    "model": "gpt-4o-2024-08-06",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi", "refusal": None},
                 "logprobs": None, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 1117, "completion_tokens": 46, "total_tokens": 1163,
              "prompt_tokens_details": {"cached_tokens": 1024, "audio_tokens": 0},
              "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                            "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}},
    "service_tier": "default", "system_fingerprint": "fp_fc9f1d7035",
}
OPENAI_AUDIO: dict[str, Any] = {
    "id": "chatcmpl-audio", "object": "chat.completion", "model": "gpt-4o-audio-preview-2024-12-17",
    "usage": {"prompt_tokens": 220, "completion_tokens": 530, "total_tokens": 750,
              "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 180},
              "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 470}},
}
OPENAI_RESPONSES: dict[str, Any] = {
    "id": "resp_67ccd2bed1ec8190b14f964abc0542670bb6a6b452d3795b", "object": "response", "status": "completed",
    "model": "o3-2025-04-16",
    "usage": {"input_tokens": 2048, "input_tokens_details": {"cached_tokens": 1536},
              "output_tokens": 960, "output_tokens_details": {"reasoning_tokens": 704}, "total_tokens": 3008},
}
OPENAI_STREAM: list[Any] = [
    {"id": "chatcmpl-1", "object": "chat.completion.chunk", "model": "gpt-4o-mini-2024-07-18",
     "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}], "usage": None},
    {"id": "chatcmpl-1", "object": "chat.completion.chunk", "model": "gpt-4o-mini-2024-07-18",
     "choices": [{"index": 0, "delta": {"content": "Hello"}}], "usage": None},
    {"id": "chatcmpl-1", "object": "chat.completion.chunk", "model": "gpt-4o-mini-2024-07-18", "choices": [],
     "usage": {"prompt_tokens": 19, "completion_tokens": 10, "total_tokens": 29,
               "prompt_tokens_details": {"cached_tokens": 0}, "completion_tokens_details": {"reasoning_tokens": 0}}},
]
RESPONSES_STREAM: list[Any] = [
    {"type": "response.created", "response": {"id": "resp_1", "model": "gpt-4.1-2025-04-14", "usage": None}},
    {"type": "response.output_text.delta", "delta": "Hi"},
    {"type": "response.completed", "response": {
        "id": "resp_1", "model": "gpt-4.1-2025-04-14",
        "usage": {"input_tokens": 37, "input_tokens_details": {"cached_tokens": 0}, "output_tokens": 11,
                  "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 48}}},
]
ANTHROPIC: dict[str, Any] = {
    "id": "msg_01XFDUDYJgAACzvnptvVoYEL", "type": "message", "role": "assistant",
    "model": "claude-sonnet-4-5-20250929", "content": [{"type": "text", "text": "Hello!"}],
    "stop_reason": "end_turn", "stop_sequence": None,
    "usage": {"input_tokens": 21, "cache_creation_input_tokens": 1832, "cache_read_input_tokens": 14500,
              "cache_creation": {"ephemeral_5m_input_tokens": 1032, "ephemeral_1h_input_tokens": 800},
              "output_tokens": 393, "service_tier": "standard"},
}
ANTHROPIC_STREAM: list[Any] = [
    {"type": "message_start", "message": {
        "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-opus-4-1-20250805", "content": [],
        "usage": {"input_tokens": 472, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 20480,
                  "output_tokens": 2}}},
    {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hello"}},
    {"type": "content_block_stop", "index": 0},
    {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 15}},
    {"type": "message_stop"},
]
GEMINI: dict[str, Any] = {
    "candidates": [{"content": {"parts": [{"text": "..."}], "role": "model"}, "finishReason": "STOP"}],
    "usageMetadata": {"promptTokenCount": 12043, "candidatesTokenCount": 512, "totalTokenCount": 13985,
                      "cachedContentTokenCount": 8192, "thoughtsTokenCount": 1330, "toolUsePromptTokenCount": 100,
                      "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 11043},
                                              {"modality": "AUDIO", "tokenCount": 1000}]},
    "modelVersion": "gemini-2.5-pro", "responseId": "abc",
}
GEMINI_STREAM: list[Any] = [
    {"candidates": [{"content": {"parts": [{"text": "A"}]}}],
     "usageMetadata": {"promptTokenCount": 40, "totalTokenCount": 40}, "modelVersion": "gemini-2.5-flash"},
    {"candidates": [{"content": {"parts": [{"text": "B"}]}, "finishReason": "STOP"}],
     "usageMetadata": {"promptTokenCount": 40, "candidatesTokenCount": 25, "thoughtsTokenCount": 60,
                       "totalTokenCount": 125}, "modelVersion": "gemini-2.5-flash"},
]
DEEPSEEK: dict[str, Any] = {
    "id": "930c60df-bf64-41c9-a88e-3ec75f81e00e", "object": "chat.completion", "model": "deepseek-reasoner",
    "usage": {"prompt_tokens": 1500, "completion_tokens": 800, "total_tokens": 2300,
              "prompt_tokens_details": {"cached_tokens": 1280},
              "prompt_cache_hit_tokens": 1280, "prompt_cache_miss_tokens": 220,
              "completion_tokens_details": {"reasoning_tokens": 650}},
}
DEEPSEEK_NO_DETAILS: dict[str, Any] = {"model": "deepseek-chat", "usage": {
    "prompt_tokens": 900, "completion_tokens": 40, "total_tokens": 940,
    "prompt_cache_hit_tokens": 640, "prompt_cache_miss_tokens": 260}}
OPENROUTER: dict[str, Any] = {
    "id": "gen-1741234567-abc", "model": "anthropic/claude-3.7-sonnet", "object": "chat.completion",
    "usage": {"prompt_tokens": 3200, "completion_tokens": 410, "total_tokens": 3610, "cost": 0.016138,
              "prompt_tokens_details": {"cached_tokens": 2048, "cache_write_tokens": 512},
              "completion_tokens_details": {"reasoning_tokens": 120}},
}
BEDROCK_CONVERSE: dict[str, Any] = {
    "output": {"message": {"role": "assistant", "content": [{"text": "Hi"}]}}, "stopReason": "end_turn",
    "usage": {"inputTokens": 310, "outputTokens": 92, "totalTokens": 4498,
              "cacheReadInputTokens": 3072, "cacheWriteInputTokens": 1024},
    "metrics": {"latencyMs": 1402},
}
BEDROCK_STREAM: list[Any] = [
    {"messageStart": {"role": "assistant"}},
    {"contentBlockDelta": {"delta": {"text": "Hi"}, "contentBlockIndex": 0}},
    {"messageStop": {"stopReason": "end_turn"}},
    {"metadata": {"usage": {"inputTokens": 25, "outputTokens": 7, "totalTokens": 32}, "metrics": {"latencyMs": 300}}},
]
MISTRAL: dict[str, Any] = {"id": "cmpl-e5cc70bb28c444948073e77776eb30ef", "object": "chat.completion",
           "model": "mistral-large-latest",
           "usage": {"prompt_tokens": 16, "completion_tokens": 34, "total_tokens": 50}}
XAI: dict[str, Any] = {"id": "a3d1008e", "object": "chat.completion", "model": "grok-3-mini",
       "usage": {"prompt_tokens": 32, "completion_tokens": 9, "total_tokens": 135,
                 "prompt_tokens_details": {"text_tokens": 32, "audio_tokens": 0, "image_tokens": 0, "cached_tokens": 6},
                 "completion_tokens_details": {"reasoning_tokens": 94, "audio_tokens": 0}}}
GROQ: dict[str, Any] = {"id": "chatcmpl-f51b2cd2", "object": "chat.completion", "model": "llama-3.3-70b-versatile",
        "usage": {"queue_time": 0.037, "prompt_tokens": 18, "prompt_time": 0.0009, "completion_tokens": 556,
                  "completion_time": 0.46, "total_tokens": 574, "total_time": 0.46}}


ANTHROPIC_STREAM_CUMULATIVE: list[Any] = [
    # Newer API versions repeat the cumulative input and cache counts in message_delta.
    {"type": "message_start", "message": {
        "id": "msg_2", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5-20250929", "content": [],
        "stop_reason": None, "stop_sequence": None,
        "usage": {"input_tokens": 10, "cache_creation_input_tokens": 2000, "cache_read_input_tokens": 0,
                  "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 2000},
                  "output_tokens": 1, "service_tier": "standard"}}},
    {"type": "ping"},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "Let me"}},
    {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
     "usage": {"input_tokens": 10, "cache_creation_input_tokens": 2000, "cache_read_input_tokens": 0,
               "output_tokens": 503, "server_tool_use": {"web_search_requests": 1}}},
    {"type": "message_stop"},
]
BEDROCK_CACHE_TTL: dict[str, Any] = {
    "output": {"message": {"role": "assistant", "content": [{"text": "Done."}]}}, "stopReason": "end_turn",
    "usage": {"inputTokens": 12, "outputTokens": 340, "totalTokens": 5352, "cacheReadInputTokens": 0,
              "cacheWriteInputTokens": 5000,
              "cacheDetails": [{"ttl": "1h", "inputTokens": 3000}, {"ttl": "5m", "inputTokens": 2000}]},
    "metrics": {"latencyMs": 2210},
}
GROQ_STREAM: list[Any] = [
    {"id": "chatcmpl-9f2c", "object": "chat.completion.chunk", "created": 1733000000, "model": "llama-3.1-8b-instant",
     "system_fingerprint": "fp_a491995411", "x_groq": {"id": "req_01jbd6g2qdfw2adyrt2az8hz4w"},
     "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "logprobs": None,
                  "finish_reason": None}]},
    {"id": "chatcmpl-9f2c", "object": "chat.completion.chunk", "created": 1733000000, "model": "llama-3.1-8b-instant",
     "choices": [{"index": 0, "delta": {}, "logprobs": None, "finish_reason": "stop"}],
     "x_groq": {"id": "req_01jbd6g2qdfw2adyrt2az8hz4w",
                "usage": {"queue_time": 0.019, "prompt_tokens": 40, "prompt_time": 0.0021, "completion_tokens": 120,
                          "completion_time": 0.096, "total_tokens": 160, "total_time": 0.098}}},
]
GEMINI_TTS: dict[str, Any] = {
    "candidates": [{"content": {"parts": [{"inlineData": {"mimeType": "audio/L16;codec=pcm;rate=24000",
                                                          "data": "AAAA"}}], "role": "model"},
                    "finishReason": "STOP", "index": 0}],
    "usageMetadata": {"promptTokenCount": 9, "candidatesTokenCount": 193, "totalTokenCount": 202,
                      "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 9}],
                      "candidatesTokensDetails": [{"modality": "AUDIO", "tokenCount": 193}]},
    "modelVersion": "gemini-2.5-flash-preview-tts", "responseId": "tts-1",
}
PERPLEXITY: dict[str, Any] = {
    "id": "3c90c3cc-0d44-4b50-8888-8dd25736052a", "model": "sonar-deep-research", "created": 1748000000,
    "object": "chat.completion",
    "usage": {"prompt_tokens": 19, "completion_tokens": 2840, "total_tokens": 2859, "citation_tokens": 8110,
              "num_search_queries": 24, "reasoning_tokens": 74020, "search_context_size": "low"},
    "citations": ["https://example.org"],
    "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "..."}}],
}
COHERE: dict[str, Any] = {
    "id": "c14c80c3-18eb-4519-9460-6c92edd8cfb4", "finish_reason": "COMPLETE",
    "message": {"role": "assistant", "content": [{"type": "text", "text": "LLMs are ..."}]},
    "usage": {"billed_units": {"input_tokens": 5, "output_tokens": 418},
              "tokens": {"input_tokens": 71, "output_tokens": 418}},
}


def check(result: ExtractedUsage, **expected: int) -> None:
    assert result.tokens == TokenUsage(**expected)


def test_openai_chat_completion_is_already_cache_inclusive() -> None:
    usage = OPENAI_CHAT["usage"]
    result = extract_usage("openai", "chat", OPENAI_CHAT)
    check(result, input_tokens=usage["prompt_tokens"], cache_read_tokens=1024, output_tokens=46)
    assert result.model == "gpt-4o-2024-08-06"
    assert result.reported_cost_usd is None


def test_openai_audio_tokens_are_subsets() -> None:
    check(extract_usage("openai", "chat", OPENAI_AUDIO), input_tokens=220, input_audio_tokens=180,
          output_tokens=530, output_audio_tokens=470)


def test_openai_responses_api() -> None:
    check(extract_usage("openai", "responses", OPENAI_RESPONSES),
          input_tokens=2048, cache_read_tokens=1536, output_tokens=960, reasoning_tokens=704)


def test_openai_stream_takes_the_final_usage_chunk() -> None:
    result = extract_usage("openai", "chat", OPENAI_STREAM)
    check(result, input_tokens=19, output_tokens=10)
    assert result.model == "gpt-4o-mini-2024-07-18"
    check(extract_usage("openai", "responses", RESPONSES_STREAM), input_tokens=37, output_tokens=11)


def test_azure_openai_has_the_openai_shape() -> None:
    check(extract_usage("azure-openai", "chat", OPENAI_CHAT), input_tokens=1117, cache_read_tokens=1024,
          output_tokens=46)


def test_anthropic_input_excludes_cache_so_canonical_input_adds_it() -> None:
    usage = ANTHROPIC["usage"]
    expected_input = usage["input_tokens"] + usage["cache_read_input_tokens"] + usage["cache_creation_input_tokens"]
    result = extract_usage("anthropic", "default", ANTHROPIC)
    check(result, input_tokens=expected_input, cache_read_tokens=14500, cache_write_tokens=1832,
          cache_write_1h_tokens=800, output_tokens=393)
    assert result.tokens.input_tokens == 16353


def test_anthropic_stream_merges_message_start_and_message_delta() -> None:
    result = extract_usage("anthropic", "default", ANTHROPIC_STREAM)
    # input and cache from message_start; output is the cumulative count of message_delta
    check(result, input_tokens=472 + 20480, cache_read_tokens=20480, output_tokens=15)
    assert result.model == "claude-opus-4-1-20250805"


def test_claude_on_bedrock_and_vertex_speaks_anthropic() -> None:
    for provider in ("aws", "google"):
        check(extract_usage(provider, "anthropic", ANTHROPIC), input_tokens=16353, cache_read_tokens=14500,
              cache_write_tokens=1832, cache_write_1h_tokens=800, output_tokens=393)


def test_gemini_output_adds_thoughts_and_input_adds_tool_prompt() -> None:
    meta = GEMINI["usageMetadata"]
    result = extract_usage("google", "default", GEMINI)
    check(result, input_tokens=meta["promptTokenCount"] + meta["toolUsePromptTokenCount"],
          cache_read_tokens=meta["cachedContentTokenCount"],
          output_tokens=meta["candidatesTokenCount"] + meta["thoughtsTokenCount"],
          reasoning_tokens=meta["thoughtsTokenCount"], input_audio_tokens=1000)
    assert result.model == "gemini-2.5-pro"
    assert result.tokens.total_tokens == meta["totalTokenCount"]


def test_gemini_stream_and_vertex_alias_and_snake_case() -> None:
    check(extract_usage("vertex", "default", GEMINI_STREAM), input_tokens=40, output_tokens=85, reasoning_tokens=60)
    snake = {"usage_metadata": {"prompt_token_count": 10, "candidates_token_count": 4, "thoughts_token_count": 2,
                                "cached_content_token_count": 6}}
    check(extract_usage("gemini", "default", snake), input_tokens=10, cache_read_tokens=6, output_tokens=6,
          reasoning_tokens=2)


def test_deepseek_cache_hits() -> None:
    check(extract_usage("deepseek", "chat", DEEPSEEK), input_tokens=1500, cache_read_tokens=1280,
          output_tokens=800, reasoning_tokens=650)
    check(extract_usage("deepseek", "chat", DEEPSEEK_NO_DETAILS), input_tokens=900, cache_read_tokens=640,
          output_tokens=40)


def test_openrouter_reports_its_cost_exactly() -> None:
    result = extract_usage("openrouter", "chat", OPENROUTER)
    check(result, input_tokens=3200, cache_read_tokens=2048, cache_write_tokens=512, output_tokens=410,
          reasoning_tokens=120)
    assert str(result.reported_cost_usd) == "0.016138"


def test_bedrock_converse_input_excludes_cache() -> None:
    usage = BEDROCK_CONVERSE["usage"]
    result = extract_usage("bedrock", "converse", BEDROCK_CONVERSE)
    expected_input = usage["inputTokens"] + usage["cacheReadInputTokens"] + usage["cacheWriteInputTokens"]
    check(result, input_tokens=expected_input, cache_read_tokens=3072, cache_write_tokens=1024, output_tokens=92)
    assert result.tokens.total_tokens == usage["totalTokens"]
    check(extract_usage("aws", "converse-stream", BEDROCK_STREAM), input_tokens=25, output_tokens=7)


def test_mistral_and_groq_are_openai_compatible() -> None:
    check(extract_usage("mistral", "default", MISTRAL), input_tokens=16, output_tokens=34)
    check(extract_usage("groq", "default", GROQ), input_tokens=18, output_tokens=556)


def test_xai_reasoning_is_reported_outside_completion_tokens() -> None:
    usage = XAI["usage"]
    check(extract_usage("xai", "chat", XAI), input_tokens=32, cache_read_tokens=6,
          output_tokens=usage["completion_tokens"] + 94, reasoning_tokens=94)


def test_generic_canonical_counts_pass_through_unchanged() -> None:
    tokens = TokenUsage(input_tokens=100, cache_read_tokens=40, cache_write_tokens=10, output_tokens=30,
                        reasoning_tokens=5)
    assert extract_usage("generic", "default", None, tokens).tokens == tokens
    assert extract_usage("generic", "default", {"usage": tokens.model_dump(), "model": "m"}).tokens == tokens


def test_canonicalizing_a_canonical_record_changes_nothing() -> None:
    for provider, flavor, response in [("anthropic", "default", ANTHROPIC), ("google", "default", GEMINI),
                                       ("aws", "converse", BEDROCK_CONVERSE), ("xai", "chat", XAI)]:
        once = extract_usage(provider, flavor, response).tokens
        twice = extract_usage("generic", "default", {"usage": once.model_dump()}).tokens
        assert twice == once


def test_anthropic_stream_with_cumulative_input_in_message_delta_counts_it_once() -> None:
    start = ANTHROPIC_STREAM_CUMULATIVE[0]["message"]["usage"]
    delta = ANTHROPIC_STREAM_CUMULATIVE[3]["usage"]
    result = extract_usage("anthropic", "default", ANTHROPIC_STREAM_CUMULATIVE)
    check(result, input_tokens=start["input_tokens"] + start["cache_creation_input_tokens"],
          cache_write_tokens=2000, cache_write_1h_tokens=2000, output_tokens=delta["output_tokens"])
    assert result.model == "claude-sonnet-4-5-20250929"


def test_anthropic_body_sent_with_an_openai_flavour_still_adds_cache_to_input() -> None:
    assert extract_usage("anthropic", "chat", ANTHROPIC).tokens == extract_usage("anthropic", "default",
                                                                                 ANTHROPIC).tokens


def test_bedrock_cache_details_give_the_one_hour_writes() -> None:
    usage = BEDROCK_CACHE_TTL["usage"]
    result = extract_usage("aws", "converse", BEDROCK_CACHE_TTL)
    check(result, input_tokens=usage["inputTokens"] + usage["cacheWriteInputTokens"], cache_write_tokens=5000,
          cache_write_1h_tokens=3000, output_tokens=340)
    assert result.tokens.total_tokens == usage["totalTokens"]


def test_converse_stream_metadata_inside_an_event_list_with_cache() -> None:
    stream = [{"messageStart": {"role": "assistant"}}, {"messageStop": {"stopReason": "end_turn"}},
              {"metadata": {"usage": {"inputTokens": 3, "outputTokens": 50, "totalTokens": 1077,
                                      "cacheReadInputTokens": 1024}, "metrics": {"latencyMs": 812}}}]
    check(extract_usage("bedrock", "converse-stream", stream), input_tokens=1027, cache_read_tokens=1024,
          output_tokens=50)


def test_groq_stream_reports_usage_in_x_groq() -> None:
    result = extract_usage("groq", "chat", GROQ_STREAM)
    check(result, input_tokens=40, output_tokens=120)
    assert result.model == "llama-3.1-8b-instant"


def test_gemini_audio_output_is_a_subset_of_output() -> None:
    result = extract_usage("gemini", "default", GEMINI_TTS)
    check(result, input_tokens=9, output_tokens=193, output_audio_tokens=193)
    assert result.model == "gemini-2.5-flash-preview-tts"


def test_vertex_openai_compatible_endpoint_and_azure_responses() -> None:
    check(extract_usage("google-vertex", "chat", OPENAI_CHAT), input_tokens=1117, cache_read_tokens=1024,
          output_tokens=46)
    check(extract_usage("azure", "responses", OPENAI_RESPONSES), input_tokens=2048, cache_read_tokens=1536,
          output_tokens=960, reasoning_tokens=704)


def test_xai_total_that_includes_reasoning_in_completion_is_believed() -> None:
    usage = {"prompt_tokens": 32, "completion_tokens": 103, "total_tokens": 135,
             "completion_tokens_details": {"reasoning_tokens": 94}}
    check(extract_usage("grok", "chat", {"model": "grok-4", "usage": usage}), input_tokens=32, output_tokens=103,
          reasoning_tokens=94)


def test_an_openai_compatible_api_reporting_reasoning_apart_is_recognised_by_its_total() -> None:
    usage = {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 170,
             "completion_tokens_details": {"reasoning_tokens": 50}}
    check(extract_usage("together", "chat", {"usage": usage}), input_tokens=100, output_tokens=70,
          reasoning_tokens=50)


def test_openrouter_cost_is_parsed_from_the_json_text_not_float_arithmetic() -> None:
    response = orjson.loads(b'{"model": "openai/gpt-4o-mini", "usage": {"prompt_tokens": 10, '
                            b'"completion_tokens": 2, "total_tokens": 12, "cost": 0.000123456789}}')
    cost = extract_usage("openrouter", "chat", response).reported_cost_usd
    assert cost == Decimal("0.000123456789")
    parsed = response["usage"]["cost"]
    assert cost != Decimal(parsed)  # what reading the float's binary value would give


def test_cost_is_only_read_where_the_provider_reports_dollars() -> None:
    usage = {"prompt_tokens": 10, "completion_tokens": 2, "cost": {"total_cost": 0.01}}
    assert extract_usage("mistral", "chat", {"usage": usage}).reported_cost_usd is None


def test_perplexity_goes_through_genai_prices_extractor() -> None:
    usage = PERPLEXITY["usage"]
    result = extract_usage("perplexity", "default", PERPLEXITY)
    # as genai-prices maps it: reasoning and citation tokens are output, reported apart from completion_tokens
    check(result, input_tokens=usage["prompt_tokens"],
          output_tokens=usage["completion_tokens"] + usage["reasoning_tokens"] + usage["citation_tokens"],
          reasoning_tokens=usage["reasoning_tokens"])
    assert result.model == "sonar-deep-research"


def test_cohere_billed_units_through_genai_prices() -> None:
    check(extract_usage("cohere", "default", COHERE), input_tokens=5, output_tokens=418)


def test_given_usage_wins_and_the_response_still_names_model_and_cost() -> None:
    tokens = TokenUsage(input_tokens=1, output_tokens=1)
    result = extract_usage("openrouter", "chat", OPENROUTER, tokens)
    assert result.tokens is tokens
    assert result.model == "anthropic/claude-3.7-sonnet"
    assert result.reported_cost_usd == Decimal("0.016138")
    broken = extract_usage("anthropic", "default", {"model": "claude-x", "usage": {"input_tokens": -1}}, tokens)
    assert (broken.tokens, broken.model, broken.reported_cost_usd) == (tokens, "claude-x", None)
    assert extract_usage("no-such-provider", "default", None, tokens).tokens is tokens


def test_a_bare_usage_object_is_accepted_for_each_shape() -> None:
    check(extract_usage("openai", "chat", OPENAI_CHAT["usage"]), input_tokens=1117, cache_read_tokens=1024,
          output_tokens=46)
    check(extract_usage("anthropic", "default", ANTHROPIC["usage"]), input_tokens=16353, cache_read_tokens=14500,
          cache_write_tokens=1832, cache_write_1h_tokens=800, output_tokens=393)
    check(extract_usage("google", "default", GEMINI["usageMetadata"]), input_tokens=12143, cache_read_tokens=8192,
          output_tokens=1842, reasoning_tokens=1330, input_audio_tokens=1000)
    check(extract_usage("aws", "default", BEDROCK_CONVERSE["usage"]), input_tokens=4406, cache_read_tokens=3072,
          cache_write_tokens=1024, output_tokens=92)
