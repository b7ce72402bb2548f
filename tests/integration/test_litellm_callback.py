"""The LiteLLM callback on the real broker and worker: ``litellm.acompletion`` and
``litellm.completion`` answered by LiteLLM's own ``ModelResponse`` built from a recorded
OpenAI response (``mock_response``: LiteLLM's whole call and logging path, no network)
publish their usage, which arrives priced at the stated rates; a call without a tenant is
skipped and counted."""

import asyncio
import os
import time
import uuid
from decimal import Decimal
from typing import Any

import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # LiteLLM's bundled prices: no fetch at import
litellm = pytest.importorskip("litellm", reason="LiteLLM 1.110.2 (the client's 'litellm' extra) is not installed")

from costream_client import AsyncPublisher  # noqa: E402
from costream_client.litellm import CostreamLogger, canonical_usage  # noqa: E402
from costream_client.sync import SyncPublisher  # noqa: E402
from tests.integration.helpers import gpt_4o_mini_cost  # noqa: E402
from tests.stack import Stack, wait_until  # noqa: E402

pytestmark = pytest.mark.integration

# An OpenAI chat completion as recorded: 1,200 input tokens of which 1,000 cache reads, 80 output.
RECORDED: dict[str, Any] = {
    "id": "chatcmpl-CQ7rL2xk9Zt0yV1aB3cD4eF5gH6iJ", "object": "chat.completion", "created": 1760000000,
    "model": "gpt-4o-mini-2024-07-18", "system_fingerprint": "fp_560af6e559",
    "choices": [{"index": 0, "finish_reason": "stop",
                 "message": {"role": "assistant", "content": "Your order ships tomorrow.", "refusal": None}}],
    "usage": {"prompt_tokens": 1200, "completion_tokens": 80, "total_tokens": 1280,
              "prompt_tokens_details": {"cached_tokens": 1000, "audio_tokens": 0},
              "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                            "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}},
}  # fmt: skip
MESSAGES = [{"role": "user", "content": "When does my order ship?"}]


def priced(stack: Stack, tenant: str) -> list[dict[str, Any]]:
    return stack.query(
        "SELECT model, provider, input_tokens, cache_read_tokens, output_tokens, total_cost, user_id, feature, "
        "request_id FROM usage_events FINAL WHERE tenant_id = {t:String}", t=tenant)  # fmt: skip


def assert_priced(stack: Stack, tenant: str, feature: str) -> None:
    [row] = wait_until(lambda: (rows := priced(stack, tenant)) and rows, 60, what="the LiteLLM call to be priced")
    assert (row["input_tokens"], row["cache_read_tokens"], row["output_tokens"]) == (1200, 1000, 80)
    assert Decimal(row["total_cost"]) == gpt_4o_mini_cost(1200, 1000, 80)
    assert row["provider"] == "openai" and row["feature"] == feature
    assert row["request_id"] == RECORDED["id"]


def test_async_calls_through_litellm_arrive_priced_with_the_tenant_of_their_metadata(stack: Stack) -> None:
    tenant = f"litellm-async-{uuid.uuid4().hex[:8]}"

    async def run() -> CostreamLogger:
        async with AsyncPublisher(stack.settings.bootstrap_servers) as publisher:
            logger = CostreamLogger(publisher)  # tenant from the metadata, as on the proxy
            litellm.callbacks = [logger]
            try:
                metadata = {"costream_tenant_id": tenant, "costream_feature": "support", "user_api_key_user_id": "u-7"}
                response = await litellm.acompletion(model="openai/gpt-4o-mini", messages=MESSAGES, metadata=metadata,
                                                     mock_response=litellm.ModelResponse(**RECORDED))  # fmt: skip
                assert response.usage.prompt_tokens == 1200
                # no tenant in the metadata and no default: nothing to publish
                await litellm.acompletion(model="openai/gpt-4o-mini", messages=MESSAGES,
                                          mock_response=litellm.ModelResponse(**RECORDED))  # fmt: skip
                deadline = time.monotonic() + 30
                while logger.published + logger.skipped + logger.failed < 2 and time.monotonic() < deadline:
                    await asyncio.sleep(0.05)
                assert await publisher.flush(30)
            finally:
                litellm.callbacks = []
            return logger

    logger = asyncio.run(run())
    assert (logger.published, logger.skipped, logger.failed) == (1, 1, 0)
    assert_priced(stack, tenant, "support")
    assert priced(stack, tenant)[0]["user_id"] == "u-7"


def test_sync_calls_through_litellm_arrive_priced_with_a_fixed_tenant(stack: Stack) -> None:
    tenant = f"litellm-sync-{uuid.uuid4().hex[:8]}"
    with SyncPublisher(stack.settings.bootstrap_servers) as publisher:
        with_tenant = CostreamLogger(publisher, tenant_id=tenant, attributes={"feature": "batch"})
        litellm.callbacks = [with_tenant]  # LiteLLM calls one logger per class
        try:
            litellm.completion(model="openai/gpt-4o-mini", messages=MESSAGES,
                               mock_response=litellm.ModelResponse(**RECORDED))  # fmt: skip
            wait_until(lambda: with_tenant.published == 1, 30,
                       what="LiteLLM's sync success hooks")  # fmt: skip
        finally:
            litellm.callbacks = []
        assert publisher.flush(30)
    assert with_tenant.failed == 0 and with_tenant.skipped == 0
    assert_priced(stack, tenant, "batch")


def test_litellm_usage_with_cache_writes_and_reasoning_becomes_canonical_counts() -> None:
    # Anthropic through LiteLLM: LiteLLM's prompt_tokens already adds the cache reads and writes
    usage = litellm.Usage(prompt_tokens=25_030, completion_tokens=900, total_tokens=25_930,
                          cache_creation_input_tokens=1_000, cache_read_input_tokens=24_000,
                          completion_tokens_details={"reasoning_tokens": 600})  # fmt: skip
    assert canonical_usage(usage) == {"input_tokens": 25_030, "cache_read_tokens": 24_000,
                                      "cache_write_tokens": 1_000, "output_tokens": 900, "reasoning_tokens": 600}
    assert canonical_usage(litellm.Usage(prompt_tokens=10, completion_tokens=2, total_tokens=12)) == {
        "input_tokens": 10, "output_tokens": 2}
