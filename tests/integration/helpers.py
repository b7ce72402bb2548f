"""Events with stated rates, so tests compute expected cost themselves."""

from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson

MILLION = Decimal(1_000_000)
# gpt-4o-mini, per million tokens, as OpenAI lists it (and genai-prices holds it)
GPT_4O_MINI_INPUT = Decimal("0.15")
GPT_4O_MINI_CACHED = Decimal("0.075")
GPT_4O_MINI_OUTPUT = Decimal("0.6")


def gpt_4o_mini_cost(input_tokens: int, cached: int, output: int) -> Decimal:
    return ((input_tokens - cached) * GPT_4O_MINI_INPUT + cached * GPT_4O_MINI_CACHED
            + output * GPT_4O_MINI_OUTPUT) / MILLION


def canonical_event(
    event_id: str, tenant: str, at: datetime, input_tokens: int, output: int, cached: int = 0,
    feature: str = "chat",
) -> dict[str, Any]:
    """A gpt-4o-mini event whose producer already counts tokens canonically."""
    return {
        "event_id": event_id,
        "tenant_id": tenant,
        "occurred_at": at.isoformat(),
        "provider": "openai",
        "model": "gpt-4o-mini",
        "usage": {"input_tokens": input_tokens, "cache_read_tokens": cached, "output_tokens": output},
        "attributes": {"feature": feature},
    }


def keyed(events: list[dict[str, Any]]) -> list[tuple[bytes | None, bytes]]:
    return [(e["tenant_id"].encode(), orjson.dumps(e)) for e in events]
