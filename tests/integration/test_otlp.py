"""OTLP/HTTP GenAI spans from the official OpenTelemetry SDK and its OTLP HTTP exporter,
pointed at the worker: each span with token counts arrives priced, with the cache-token
convention of its provider; spans without usage are skipped; bad spans are refused
with their reason."""

import json
import time
import urllib.error
import urllib.request
import uuid
from decimal import Decimal
from typing import Any

import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from tests.integration.helpers import MILLION, gpt_4o_mini_cost
from tests.stack import Stack, wait_until

pytestmark = pytest.mark.integration

# claude-sonnet-4-5 per million tokens, as Anthropic lists it (below 200k input tokens)
SONNET_INPUT, SONNET_CACHE_READ, SONNET_CACHE_WRITE, SONNET_OUTPUT = (Decimal("3"), Decimal("0.30"),
                                                                      Decimal("3.75"), Decimal("15"))  # fmt: skip


def tracer_provider(stack: Stack, tenant: str) -> TracerProvider:
    exporter = OTLPSpanExporter(endpoint=f"http://127.0.0.1:{stack.http_port}/v1/traces",
                                headers={"Authorization": f"Bearer {stack.tokens['admin']}"}, timeout=30)  # fmt: skip
    provider = TracerProvider(resource=Resource.create({"service.name": "otlp-test", "costream.tenant_id": tenant}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider


def stored(stack: Stack, tenant: str) -> dict[str, dict[str, Any]]:
    rows = stack.query("SELECT provider, model, input_tokens, cache_read_tokens, cache_write_tokens, output_tokens, "
                       "total_cost, operation, event_id FROM usage_events FINAL WHERE tenant_id = {t:String}",
                       t=tenant)  # fmt: skip
    return {row["provider"]: row for row in rows}


def test_genai_spans_from_the_sdk_exporter_arrive_priced(stack: Stack) -> None:
    tenant = f"otlp-{uuid.uuid4().hex[:8]}"
    provider = tracer_provider(stack, tenant)
    tracer = provider.get_tracer("costream-test")
    with tracer.start_as_current_span("chat gpt-4o-mini") as span:
        span.set_attributes({"gen_ai.provider.name": "openai", "gen_ai.operation.name": "chat",
                             "gen_ai.request.model": "gpt-4o-mini", "gen_ai.response.model": "gpt-4o-mini",
                             "gen_ai.usage.input_tokens": 1200, "gen_ai.usage.cache_read.input_tokens": 200,
                             "gen_ai.usage.output_tokens": 100})  # fmt: skip
        openai_ids = (span.get_span_context().trace_id, span.get_span_context().span_id)
    with tracer.start_as_current_span("chat claude") as span:  # Anthropic's input leaves the cache out
        span.set_attributes({"gen_ai.system": "anthropic", "gen_ai.operation.name": "chat",
                             "gen_ai.request.model": "claude-sonnet-4-5", "gen_ai.usage.input_tokens": 12,
                             "gen_ai.usage.cache_read.input_tokens": 24000,
                             "gen_ai.usage.cache_creation.input_tokens": 1800, "gen_ai.usage.output_tokens": 420})
    with tracer.start_as_current_span("GET /health"):  # no usage: skipped
        pass
    provider.shutdown()

    rows = wait_until(lambda: len(stored(stack, tenant)) == 2 and stored(stack, tenant), 60,
                      what="the spans' events to be priced")  # fmt: skip
    openai, anthropic = rows["openai"], rows["anthropic"]
    assert openai["event_id"] == f"{openai_ids[0]:032x}-{openai_ids[1]:016x}" and openai["operation"] == "chat"
    assert (openai["input_tokens"], openai["cache_read_tokens"], openai["output_tokens"]) == (1200, 200, 100)
    assert Decimal(openai["total_cost"]) == gpt_4o_mini_cost(1200, 200, 100)
    assert (anthropic["input_tokens"], anthropic["cache_read_tokens"], anthropic["cache_write_tokens"]) == \
        (12 + 24000 + 1800, 24000, 1800)
    expected = (12 * SONNET_INPUT + 24000 * SONNET_CACHE_READ + 1800 * SONNET_CACHE_WRITE
                + 420 * SONNET_OUTPUT) / MILLION
    assert Decimal(anthropic["total_cost"]) == expected


def post_json(stack: Stack, document: dict[str, Any]) -> tuple[int, Any]:
    url = f"http://127.0.0.1:{stack.http_port}/v1/traces"
    request = urllib.request.Request(url, data=json.dumps(document).encode(),
                                     headers={"Content-Type": "application/json",
                                              "Authorization": f"Bearer {stack.tokens['admin']}"})  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def json_span(span_id: str, attributes: dict[str, Any]) -> dict[str, Any]:
    def value(v: Any) -> dict[str, Any]:
        return {"intValue": str(v)} if isinstance(v, int) else {"stringValue": v}

    now = time.time_ns()
    return {"traceId": "5b8efff798038103d269b633813fc60c", "spanId": span_id, "name": "chat",
            "startTimeUnixNano": str(now - 2_000_000_000), "endTimeUnixNano": str(now),
            "attributes": [{"key": k, "value": value(v)} for k, v in attributes.items()]}  # fmt: skip


def test_otlp_json_spans_are_taken_and_a_bad_span_is_refused_with_its_reason(stack: Stack) -> None:
    tenant = f"otlp-json-{uuid.uuid4().hex[:8]}"
    good = {"gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o-mini",
            "gen_ai.usage.input_tokens": 300, "gen_ai.usage.output_tokens": 30}  # fmt: skip
    no_provider = {"gen_ai.request.model": "gpt-4o-mini", "gen_ai.usage.input_tokens": 3}
    document = {"resourceSpans": [{
        "resource": {"attributes": [{"key": "costream.tenant_id", "value": {"stringValue": tenant}}]},
        "scopeSpans": [{"spans": [json_span("eee19b7ec3c1b174", good), json_span("eee19b7ec3c1b175", no_provider)]}],
    }]}  # fmt: skip
    status, answer = post_json(stack, document)
    assert status == 200, answer
    assert answer["partialSuccess"]["rejectedSpans"] == "1"
    assert "provider: Field required" in answer["partialSuccess"]["errorMessage"]
    rows = wait_until(lambda: stored(stack, tenant), 60, what="the JSON span's event")
    assert rows["openai"]["event_id"] == "5b8efff798038103d269b633813fc60c-eee19b7ec3c1b174"
    assert Decimal(rows["openai"]["total_cost"]) == gpt_4o_mini_cost(300, 0, 30)

    status, answer = post_json(stack, {"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "zz"}]}]}]})
    assert status == 400 and "traceId" in answer["message"]
