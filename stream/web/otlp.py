"""``POST /v1/traces``: OTLP/HTTP spans that follow the OpenTelemetry GenAI semantic
conventions, turned into raw usage events (protobuf or JSON bodies).

One span with token counts is one event:

- ``event_id``: ``<trace id>-<span id>`` (hex), so a re-exported span is counted once;
- ``tenant_id``: attribute ``costream.tenant_id`` of the span, else of the resource, else
  the token's tenant;
- ``occurred_at``: the span's end time;
- ``provider``: ``gen_ai.provider.name``, else ``gen_ai.system`` (``aws.bedrock`` ->
  ``aws``, ``gcp.*`` -> ``google``, ``azure.ai.openai`` -> ``azure``, see :data:`PROVIDERS`);
- ``model``: ``gen_ai.response.model``, else ``gen_ai.request.model``;
- ``usage``: canonical counts from ``gen_ai.usage.*`` (see :data:`INPUT_EXCLUDES_CACHE`);
- ``attributes``: ``operation`` = ``gen_ai.operation.name``, ``request_id`` =
  ``gen_ai.response.id``, ``latency_ms`` = the span's duration, and ``feature``,
  ``user_id``, ``session_id``, ``agent`` from ``costream.*`` (or ``user.id``,
  ``session.id``, ``gen_ai.agent.name``).

Spans without ``gen_ai.usage.input_tokens`` or ``gen_ai.usage.output_tokens`` (HTTP
spans, tool calls) are skipped. Each event is then validated and published as
``POST /v1/events`` does; refused spans are reported in OTLP's ``partial_success``.
"""

import base64
from datetime import UTC, datetime
from typing import Any

import orjson
from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from stream.web.auth import Principal
from stream.web.events_api import IngestError, IngestResult, Publish, ingest_lines

PROTOBUF = "application/x-protobuf"

PROVIDERS = {"aws.bedrock": "aws", "gcp.gemini": "google", "gcp.vertex_ai": "google", "gcp.gen_ai": "google",
             "vertex_ai": "google", "gemini": "google", "azure.ai.openai": "azure", "az.ai.openai": "azure",
             "azure.ai.inference": "azure", "x_ai": "x-ai", "xai": "x-ai", "mistral_ai": "mistral"}  # fmt: skip
"""``gen_ai.provider.name`` / ``gen_ai.system`` values -> costream provider ids (others kept)."""

INPUT_EXCLUDES_CACHE = frozenset({"anthropic"})
"""Providers whose ``gen_ai.usage.input_tokens`` is taken to leave cache reads and writes
out, as their API reports it (Anthropic's ``input_tokens``, copied by its instrumentations):
costream adds the cache counts to get all input. For every other provider the count is
taken to include cache reads, as the semantic conventions ask. A span can say otherwise
with the boolean attribute ``costream.input_includes_cache``."""

OUTPUT_EXCLUDES_REASONING = frozenset({"google"})
"""Providers whose output count leaves reasoning (thinking) tokens out (Gemini's
``candidates_token_count``): costream adds them."""

CACHE_READ = ("gen_ai.usage.cache_read.input_tokens", "gen_ai.usage.cache_read_input_tokens")
CACHE_WRITE = ("gen_ai.usage.cache_creation.input_tokens", "gen_ai.usage.cache_creation_input_tokens")
REASONING = ("gen_ai.usage.reasoning.output_tokens", "gen_ai.usage.reasoning_tokens",
             "gen_ai.usage.output_tokens_details.reasoning_tokens")  # fmt: skip


class OtlpError(IngestError):
    pass


def _value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: _value(kv.value) for kv in value.kvlist_value.values}
    return getattr(value, kind)


def _attributes(pairs: Any) -> dict[str, Any]:
    return {kv.key: _value(kv.value) for kv in pairs if isinstance(kv, KeyValue)}


def _hex_ids_to_base64(document: Any) -> None:
    """OTLP/JSON writes trace and span ids in hex; protobuf's JSON reader wants base64."""
    def items(parent: Any, name: str) -> list[Any]:
        found = parent.get(name) if isinstance(parent, dict) else None
        return [item for item in found if isinstance(item, dict)] if isinstance(found, list) else []

    for resource in items(document, "resourceSpans"):
        for scope in items(resource, "scopeSpans"):
            for span in items(scope, "spans"):
                for name in ("traceId", "spanId", "parentSpanId"):
                    if isinstance(span.get(name), str) and span[name]:
                        try:
                            span[name] = base64.b64encode(bytes.fromhex(span[name])).decode()
                        except ValueError:
                            raise OtlpError(400, f"{name} {span[name][:64]!r} is not hex") from None


def parse_request(body: bytes, content_type: str) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    if "json" in content_type:
        try:
            document = orjson.loads(body)
            if not isinstance(document, dict):
                raise OtlpError(400, "an OTLP/JSON body is an object with resourceSpans")
            _hex_ids_to_base64(document)
            json_format.ParseDict(document, request, ignore_unknown_fields=True)
        except orjson.JSONDecodeError as exc:
            raise OtlpError(400, f"the body is not valid JSON: {exc}") from None
        except json_format.ParseError as exc:
            raise OtlpError(400, f"not an OTLP trace export: {str(exc)[:300]}") from None
        return request
    if content_type and PROTOBUF not in content_type:
        raise OtlpError(415, f"send {PROTOBUF} or application/json, not {content_type}")
    try:
        request.ParseFromString(body)
    except Exception as exc:  # protobuf's DecodeError
        raise OtlpError(400, f"not an OTLP protobuf trace export: {exc}") from None
    return request


def _count(attributes: dict[str, Any], names: tuple[str, ...]) -> int:
    for name in names:
        if name in attributes:
            return _token_count(attributes[name], name)
    return 0


def _token_count(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name}: a token count is a whole number, got {value!r}")
    return value


def span_event(span: Any, resource: dict[str, Any], principal: Principal) -> dict[str, Any] | None:
    """The raw event of one GenAI span, or None when the span carries no token counts."""
    attributes = _attributes(span.attributes)
    if "gen_ai.usage.input_tokens" not in attributes and "gen_ai.usage.output_tokens" not in attributes:
        return None
    system = str(attributes.get("gen_ai.provider.name") or attributes.get("gen_ai.system") or "")
    provider = PROVIDERS.get(system, system)
    raw_input = _count(attributes, ("gen_ai.usage.input_tokens",))
    raw_output = _count(attributes, ("gen_ai.usage.output_tokens",))
    cache_read, cache_write = _count(attributes, CACHE_READ), _count(attributes, CACHE_WRITE)
    reasoning = _count(attributes, REASONING)
    includes = attributes.get("costream.input_includes_cache")
    excludes_cache = provider in INPUT_EXCLUDES_CACHE if not isinstance(includes, bool) else not includes
    usage = {
        "input_tokens": raw_input + cache_read + cache_write if excludes_cache else raw_input,
        "cache_read_tokens": cache_read, "cache_write_tokens": cache_write,
        "output_tokens": raw_output + reasoning if provider in OUTPUT_EXCLUDES_REASONING else raw_output,
        "reasoning_tokens": reasoning,
    }  # fmt: skip
    tenant = attributes.get("costream.tenant_id") or resource.get("costream.tenant_id") or principal.tenant
    start, end = span.start_time_unix_nano, span.end_time_unix_nano
    labels = {
        "operation": attributes.get("gen_ai.operation.name"),
        "request_id": attributes.get("gen_ai.response.id"),
        "feature": attributes.get("costream.feature") or resource.get("costream.feature"),
        "user_id": attributes.get("costream.user_id") or attributes.get("user.id"),
        "session_id": attributes.get("costream.session_id") or attributes.get("session.id"),
        "agent": attributes.get("costream.agent") or attributes.get("gen_ai.agent.name"),
        "latency_ms": (end - start) // 1_000_000 if end >= start > 0 else None,
    }
    event: dict[str, Any] = {
        "event_id": f"{span.trace_id.hex()}-{span.span_id.hex()}",
        "tenant_id": tenant,
        "occurred_at": datetime.fromtimestamp(end / 1e9, UTC).isoformat() if end else None,
        "provider": provider or None,
        "model": attributes.get("gen_ai.response.model") or attributes.get("gen_ai.request.model"),
        "usage": usage,
        "attributes": {k: v for k, v in labels.items() if v is not None},
    }
    return {k: v for k, v in event.items() if v is not None}


async def receive_traces(body: bytes, content_type: str, principal: Principal, topic: str, publish: Publish,
                         ) -> tuple[IngestResult, int]:  # fmt: skip
    """(the ingest result, spans skipped for carrying no usage)."""
    request = parse_request(body, content_type)
    lines: list[bytes] = []
    failed = IngestResult()
    skipped = 0
    for resource_spans in request.resource_spans:
        resource = _attributes(resource_spans.resource.attributes)
        for scope in resource_spans.scope_spans:
            for span in scope.spans:
                try:
                    event = span_event(span, resource, principal)
                except ValueError as exc:
                    failed.reject(len(lines) + failed.rejected + 1, str(exc))
                    continue
                if event is None:
                    skipped += 1
                    continue
                lines.append(orjson.dumps(event))
    result = await ingest_lines(lines, principal, topic, publish)
    result.rejected += failed.rejected
    result.errors = failed.errors + result.errors
    return result, skipped


def response_body(result: IngestResult, content_type: str) -> tuple[bytes, str]:
    """OTLP's answer: ``partial_success`` counts and names the refused spans."""
    answer = ExportTraceServiceResponse()
    if result.rejected:
        answer.partial_success.rejected_spans = result.rejected
        answer.partial_success.error_message = "; ".join(
            f"span {e.get('event_id', e['line'])}: {e['reason']}" for e in result.errors[:20])[:4000]
    if "json" in content_type:
        return json_format.MessageToJson(answer).encode(), "application/json"
    return answer.SerializeToString(), PROTOBUF
