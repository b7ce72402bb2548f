"""Capture from the official SDKs, with their own response types built from recorded
responses (no network): a stream's usage is published once when it ends, a response's
at once, and both arrive priced from the stated rates."""

import uuid
from decimal import Decimal
from typing import Any

import pytest
from anthropic.types import Message
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from costream_client.capture import capture_anthropic, capture_bedrock, capture_google, capture_openai
from costream_client.sync import SyncPublisher
from tests.integration.helpers import MILLION, gpt_4o_mini_cost
from tests.integration.test_otlp import SONNET_CACHE_READ, SONNET_CACHE_WRITE, SONNET_INPUT, SONNET_OUTPUT
from tests.stack import Stack, wait_until

pytestmark = pytest.mark.integration

# an OpenAI Chat Completions stream with stream_options={"include_usage": True}, as recorded
OPENAI_STREAM = [
    {"id": "chatcmpl-A1", "object": "chat.completion.chunk", "created": 1764000000, "model": "gpt-4o-mini-2024-07-18",
     "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]},
    {"id": "chatcmpl-A1", "object": "chat.completion.chunk", "created": 1764000000, "model": "gpt-4o-mini-2024-07-18",
     "choices": [{"index": 0, "delta": {"content": "Hello"}, "finish_reason": None}]},
    {"id": "chatcmpl-A1", "object": "chat.completion.chunk", "created": 1764000000, "model": "gpt-4o-mini-2024-07-18",
     "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
    {"id": "chatcmpl-A1", "object": "chat.completion.chunk", "created": 1764000000, "model": "gpt-4o-mini-2024-07-18",
     "choices": [], "usage": {"prompt_tokens": 1200, "completion_tokens": 100, "total_tokens": 1300,
                              "prompt_tokens_details": {"cached_tokens": 200, "audio_tokens": 0},
                              "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0}}},
]  # fmt: skip
OPENAI_RESPONSE = {
    "id": "chatcmpl-B2", "object": "chat.completion", "created": 1764000000, "model": "gpt-4o-mini-2024-07-18",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi"}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 500, "completion_tokens": 40, "total_tokens": 540},
}  # fmt: skip
ANTHROPIC_MESSAGE = {
    "id": "msg_01XFDUDYJgAACzvnptvVoYEL", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
    "content": [{"type": "text", "text": "Hello"}], "stop_reason": "end_turn", "stop_sequence": None,
    "usage": {"input_tokens": 12, "cache_creation_input_tokens": 1800, "cache_read_input_tokens": 24000,
              "output_tokens": 420},
}  # fmt: skip


class Recorder:
    """A publisher that keeps what it is given (for counting publishes)."""

    def __init__(self, inner: SyncPublisher) -> None:
        self.inner = inner
        self.events: list[Any] = []

    def publish(self, event: Any) -> bool:
        self.events.append(event)
        return self.inner.publish(event)


def by_feature(stack: Stack, tenant: str, expected: int) -> dict[str, dict[str, Any]] | None:
    """The tenant's stored events by feature, once there are ``expected`` of them."""
    found = stack.query("SELECT feature, input_tokens, cache_read_tokens, output_tokens, total_cost "
                        "FROM usage_events FINAL WHERE tenant_id = {t:String}", t=tenant)  # fmt: skip
    rows = {row["feature"]: row for row in found}
    return rows if len(rows) == expected else None


def test_sdk_responses_and_streams_are_captured_once_and_arrive_priced(stack: Stack) -> None:
    tenant = f"capture-{uuid.uuid4().hex[:8]}"
    with SyncPublisher(stack.settings.bootstrap_servers) as inner:
        publisher = Recorder(inner)
        stream = capture_openai(iter([ChatCompletionChunk.model_validate(c) for c in OPENAI_STREAM]), publisher,
                                tenant, {"feature": "stream"})  # fmt: skip
        seen = []
        for chunk in stream:
            assert isinstance(chunk, ChatCompletionChunk)
            seen.append(chunk)
            assert publisher.events == [], "nothing is published before the stream ends"
        assert len(seen) == 4 and len(publisher.events) == 1
        response = ChatCompletion.model_validate(OPENAI_RESPONSE)
        assert capture_openai(response, publisher, tenant, {"feature": "plain"}) is response
        message = Message.model_validate(ANTHROPIC_MESSAGE)
        assert capture_anthropic(message, publisher, tenant, {"feature": "claude"}) is message
        assert len(publisher.events) == 3 and publisher.events[0]["api_flavor"] == "chat"
        assert inner.flush(30)

    got = wait_until(lambda: by_feature(stack, tenant, 3), 60, what="the captured usage to be priced")
    assert (got["stream"]["input_tokens"], got["stream"]["cache_read_tokens"], got["stream"]["output_tokens"]) \
        == (1200, 200, 100)
    assert Decimal(got["stream"]["total_cost"]) == gpt_4o_mini_cost(1200, 200, 100)
    assert Decimal(got["plain"]["total_cost"]) == gpt_4o_mini_cost(500, 0, 40)
    assert got["claude"]["input_tokens"] == 12 + 1800 + 24000
    assert Decimal(got["claude"]["total_cost"]) == (12 * SONNET_INPUT + 24000 * SONNET_CACHE_READ
                                                    + 1800 * SONNET_CACHE_WRITE + 420 * SONNET_OUTPUT) / MILLION


# gemini-2.5-flash list prices per million tokens (thinking is billed as output)
GEMINI_FLASH_INPUT, GEMINI_FLASH_OUTPUT = Decimal("0.30"), Decimal("2.50")
# a generate_content_stream as recorded: usage grows chunk by chunk, the last is the call's
GEMINI_STREAM = [
    {"candidates": [{"content": {"parts": [{"text": "Hel"}], "role": "model"}}], "modelVersion": "gemini-2.5-flash",
     "usageMetadata": {"promptTokenCount": 900, "candidatesTokenCount": 2, "totalTokenCount": 902}},
    {"candidates": [{"content": {"parts": [{"text": "lo"}], "role": "model"}, "finishReason": "STOP"}],
     "modelVersion": "gemini-2.5-flash",
     "usageMetadata": {"promptTokenCount": 900, "candidatesTokenCount": 60, "thoughtsTokenCount": 140,
                       "totalTokenCount": 1100}},
]  # fmt: skip


def test_a_google_genai_stream_is_captured_once_with_its_last_usage(stack: Stack) -> None:
    genai_types = pytest.importorskip("google.genai.types", reason="google-genai is not installed")
    tenant = f"capture-google-{uuid.uuid4().hex[:8]}"
    with SyncPublisher(stack.settings.bootstrap_servers) as inner:
        publisher = Recorder(inner)
        chunks = [genai_types.GenerateContentResponse.model_validate(c) for c in GEMINI_STREAM]
        assert [chunk.text for chunk in capture_google(iter(chunks), publisher, tenant, {"feature": "g"})] == \
            ["Hel", "lo"]
        assert len(publisher.events) == 1 and publisher.events[0]["model"] == "gemini-2.5-flash"
        assert inner.flush(30)

    def row() -> list[dict[str, Any]]:
        return stack.query("SELECT input_tokens, output_tokens, reasoning_tokens, total_cost FROM usage_events FINAL "
                           "WHERE tenant_id = {t:String}", t=tenant)  # fmt: skip

    (got,) = wait_until(row, 60, what="the captured Gemini usage to be priced")
    # Gemini's candidates count leaves thinking out: output = 60 + 140, of which 140 reasoning
    assert (got["input_tokens"], got["output_tokens"], got["reasoning_tokens"]) == (900, 200, 140)
    assert Decimal(got["total_cost"]) == (900 * GEMINI_FLASH_INPUT + 200 * GEMINI_FLASH_OUTPUT) / MILLION


# us.anthropic.claude-3-5-haiku on Bedrock, per million tokens: input $0.80, cache read $0.08, output $4
HAIKU_INPUT, HAIKU_CACHE_READ, HAIKU_OUTPUT = Decimal("0.80"), Decimal("0.08"), Decimal("4")
HAIKU = "us.anthropic.claude-3-5-haiku-20241022-v1:0"
# boto3's converse() and converse_stream() results as recorded (the stream's events as it yields them)
CONVERSE = {
    "ResponseMetadata": {"RequestId": "5b1c", "HTTPStatusCode": 200},
    "output": {"message": {"role": "assistant", "content": [{"text": "Hi"}]}}, "stopReason": "end_turn",
    "usage": {"inputTokens": 300, "outputTokens": 50, "totalTokens": 2350, "cacheReadInputTokens": 2000,
              "cacheWriteInputTokens": 0},
    "metrics": {"latencyMs": 812},
}  # fmt: skip
CONVERSE_STREAM_EVENTS = [
    {"messageStart": {"role": "assistant"}},
    {"contentBlockDelta": {"delta": {"text": "Hel"}, "contentBlockIndex": 0}},
    {"contentBlockStop": {"contentBlockIndex": 0}},
    {"messageStop": {"stopReason": "end_turn"}},
    {"metadata": {"usage": {"inputTokens": 120, "outputTokens": 30, "totalTokens": 150},
                  "metrics": {"latencyMs": 400}}},
]  # fmt: skip


def test_bedrock_converse_and_converse_stream_are_captured_once_and_arrive_priced(stack: Stack) -> None:
    tenant = f"capture-bedrock-{uuid.uuid4().hex[:8]}"
    with SyncPublisher(stack.settings.bootstrap_servers) as inner:
        publisher = Recorder(inner)
        assert capture_bedrock(CONVERSE, publisher, tenant, HAIKU, {"feature": "converse"}) is CONVERSE
        streamed = capture_bedrock({"ResponseMetadata": {}, "stream": iter(CONVERSE_STREAM_EVENTS)}, publisher, tenant,
                                   HAIKU, {"feature": "stream"})  # fmt: skip
        assert len(publisher.events) == 1, "the stream is published when it ends"
        assert list(streamed["stream"]) == CONVERSE_STREAM_EVENTS
        assert len(publisher.events) == 2 and all(e["api_flavor"] == "converse" for e in publisher.events)
        assert inner.flush(30)

    got = wait_until(lambda: by_feature(stack, tenant, 2), 60, what="the captured Converse usage to be priced")
    # Converse's inputTokens leaves the cache out: canonical input = 300 + 2000
    assert (got["converse"]["input_tokens"], got["converse"]["cache_read_tokens"]) == (2300, 2000)
    assert Decimal(got["converse"]["total_cost"]) == (300 * HAIKU_INPUT + 2000 * HAIKU_CACHE_READ
                                                      + 50 * HAIKU_OUTPUT) / MILLION
    assert Decimal(got["stream"]["total_cost"]) == (120 * HAIKU_INPUT + 30 * HAIKU_OUTPUT) / MILLION
