"""A realistic mix of usage events: several tenants, providers, models and features,
each carrying the provider's own response shape, plus a few unpriced and a few broken
events so the dead-letter topic and the unpriced report have something to show."""

import random
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

TENANTS = ("acme", "globex", "initech", "umbrella", "hooli")
FEATURES = ("chat", "search", "summarize", "code-review", "support-agent")
AGENTS = ("planner", "researcher", "writer")

Response = Callable[[random.Random], dict[str, Any]]


def _openai_chat(rng: random.Random) -> dict[str, Any]:
    prompt = rng.randint(200, 12_000)
    cached = rng.choice((0, 0, prompt // 1024 * 1024))
    completion = rng.randint(20, 1500)
    return {
        "id": f"chatcmpl-{uuid.UUID(int=rng.getrandbits(128)).hex[:24]}",
        "object": "chat.completion",
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "..."}, "finish_reason": "stop"}],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0, "audio_tokens": 0,
                "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0,
            },
        },
    }


def _openai_responses(rng: random.Random) -> dict[str, Any]:
    prompt = rng.randint(500, 20_000)
    cached = rng.choice((0, prompt // 2))
    reasoning = rng.randint(64, 4000)
    visible = rng.randint(50, 800)
    return {
        "id": f"resp_{uuid.UUID(int=rng.getrandbits(128)).hex}",
        "object": "response",
        "model": "o4-mini-2025-04-16",
        "status": "completed",
        "usage": {
            "input_tokens": prompt,
            "input_tokens_details": {"cached_tokens": cached},
            "output_tokens": reasoning + visible,
            "output_tokens_details": {"reasoning_tokens": reasoning},
            "total_tokens": prompt + reasoning + visible,
        },
    }


def _anthropic(rng: random.Random) -> dict[str, Any]:
    uncached = rng.randint(5, 3000)
    read = rng.choice((0, rng.randint(2000, 60_000)))
    write = rng.choice((0, 0, rng.randint(1000, 8000)))
    return {
        "id": f"msg_{uuid.UUID(int=rng.getrandbits(128)).hex[:24]}",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5-20250929",
        "content": [{"type": "text", "text": "..."}],
        "stop_reason": "end_turn",
        "usage": {
            "input_tokens": uncached,
            "cache_creation_input_tokens": write,
            "cache_read_input_tokens": read,
            "cache_creation": {"ephemeral_5m_input_tokens": write, "ephemeral_1h_input_tokens": 0},
            "output_tokens": rng.randint(20, 2000),
            "service_tier": "standard",
        },
    }


def _gemini(rng: random.Random) -> dict[str, Any]:
    prompt = rng.randint(300, 30_000)
    candidates = rng.randint(20, 1200)
    thoughts = rng.choice((0, rng.randint(100, 3000)))
    return {
        "candidates": [{"content": {"parts": [{"text": "..."}], "role": "model"}, "finishReason": "STOP"}],
        "modelVersion": "gemini-2.5-flash",
        "usageMetadata": {
            "promptTokenCount": prompt,
            "candidatesTokenCount": candidates,
            "thoughtsTokenCount": thoughts,
            "totalTokenCount": prompt + candidates + thoughts,
        },
    }


def _deepseek(rng: random.Random) -> dict[str, Any]:
    hit = rng.randint(0, 6000)
    miss = rng.randint(50, 4000)
    completion = rng.randint(20, 1500)
    return {
        "id": str(uuid.UUID(int=rng.getrandbits(128))),
        "object": "chat.completion",
        "model": "deepseek-chat",
        "usage": {
            "prompt_tokens": hit + miss,
            "completion_tokens": completion,
            "total_tokens": hit + miss + completion,
            "prompt_cache_hit_tokens": hit,
            "prompt_cache_miss_tokens": miss,
        },
    }


def _bedrock(rng: random.Random) -> dict[str, Any]:
    uncached = rng.randint(100, 5000)
    read = rng.choice((0, rng.randint(1000, 20_000)))
    output = rng.randint(20, 1000)
    return {
        "output": {"message": {"role": "assistant", "content": [{"text": "..."}]}},
        "stopReason": "end_turn",
        "usage": {
            "inputTokens": uncached,
            "outputTokens": output,
            "totalTokens": uncached + read + output,
            "cacheReadInputTokens": read,
            "cacheWriteInputTokens": 0,
        },
        "metrics": {"latencyMs": rng.randint(300, 9000)},
    }


def _openrouter(rng: random.Random) -> dict[str, Any]:
    prompt = rng.randint(200, 8000)
    completion = rng.randint(20, 1000)
    # OpenRouter reports what it charged: here priced at $3/M input and $15/M output.
    cost = (prompt * 3 + completion * 15) / 1_000_000
    return {
        "id": f"gen-{rng.getrandbits(48)}",
        "model": "anthropic/claude-3.7-sonnet",
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "cost": round(cost, 9),
        },
    }


def _unknown_model(rng: random.Random) -> dict[str, Any]:
    response = _openai_chat(rng)
    response["model"] = "acme-finetune-v7"
    return response


# (weight, provider, api_flavor, model or None to take it from the response, response maker)
MIX: tuple[tuple[int, str, str, str | None, Response], ...] = (
    (25, "openai", "chat", "gpt-4o-mini", _openai_chat),
    (10, "openai", "responses", "o4-mini", _openai_responses),
    (20, "anthropic", "default", "claude-sonnet-4-5", _anthropic),
    (15, "google", "default", "gemini-2.5-flash", _gemini),
    (10, "deepseek", "chat", "deepseek-chat", _deepseek),
    (8, "aws", "converse", "us.anthropic.claude-3-5-haiku-20241022-v1:0", _bedrock),
    (7, "openrouter", "chat", "anthropic/claude-3.7-sonnet", _openrouter),
    (3, "openai", "chat", "acme-finetune-v7", _unknown_model),
)


def demo_events(rng: random.Random, now: datetime | None = None) -> Iterator[dict[str, Any]]:
    """An endless stream of event dicts, as producers would publish them."""
    weights = [entry[0] for entry in MIX]
    while True:
        _, provider, flavor, model, make = rng.choices(MIX, weights)[0]
        at = now or datetime.now(UTC)
        event: dict[str, Any] = {
            "event_id": str(uuid.UUID(int=rng.getrandbits(128))),
            "tenant_id": rng.choice(TENANTS),
            "occurred_at": at.isoformat(),
            "provider": provider,
            "api_flavor": flavor,
            "model": model,
            "response": make(rng),
            "attributes": {
                "feature": rng.choice(FEATURES),
                "agent": rng.choice(AGENTS),
                "user_id": f"user-{rng.randint(1, 40)}",
                "session_id": f"sess-{rng.randint(1, 500)}",
                "request_id": f"req-{rng.getrandbits(40):x}",
                "latency_ms": rng.randint(150, 12_000),
            },
        }
        yield event


def broken_event(rng: random.Random) -> bytes:
    """One of the ways producers get it wrong, to show the dead-letter topic at work."""
    return rng.choice((
        b"{not json",
        b'{"event_id": "x1", "tenant_id": "acme"}',
        b'{"event_id": "x2", "tenant_id": "acme", "occurred_at": "2026-01-01T00:00:00Z", '
        b'"provider": "openai", "model": "gpt-4o", "response": {"usage": {"prompt_tokens": -5}}}',
    ))
