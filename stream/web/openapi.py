"""The OpenAPI description of the worker's HTTP API, built from the report catalog and
the pydantic models, so it cannot drift from what the endpoints accept."""

from typing import Any

from schemas import RawUsageEvent
from stream import __version__
from stream.reports import REPORTS, Dimension, ReportParams
from stream.reports.params import FILTERS

_ERROR = {"$ref": "#/components/schemas/Error"}


def _error_responses(*statuses: int) -> dict[str, Any]:
    text = {400: "Invalid input", 401: "Missing or unknown token", 403: "Not allowed for this token",
            404: "Unknown report", 413: "Body too large", 503: "Not ready"}
    return {str(s): {"description": text[s], "content": {"application/json": {"schema": _ERROR}}} for s in statuses}


def _query_parameters() -> list[dict[str, Any]]:
    described = {
        "tenant": "Tenant id; a tenant token may only name its own tenant (default: the token's tenant)",
        "since": "Inclusive start: 2026-05-01, 2026-05-01T12:00:00Z, 7d, 24h, today or month",
        "until": "Exclusive end, same forms (default: now)",
        "by": "Group by, comma-separated or repeated: " + ", ".join(d.value for d in Dimension),
        "limit": "Most rows returned",
    }
    parameters: list[dict[str, Any]] = []
    for name in ReportParams.model_fields:
        schema: dict[str, Any] = {"type": "string"}
        if name == "by":
            schema = {"type": "array", "items": {"type": "string", "enum": [d.value for d in Dimension]}}
        elif name == "limit":
            schema = {"type": "integer", "minimum": 1, "maximum": 100_000}
        description = described.get(name) or (f"Only rows whose {name} equals this" if name in FILTERS else name)
        parameters.append({"name": name, "in": "query", "required": False, "schema": schema,
                           "description": description, "explode": name == "by"})
    return parameters


def raw_event_schema() -> dict[str, Any]:
    """RawUsageEvent's JSON Schema as exported, its definitions moved under components."""
    schema = RawUsageEvent.model_json_schema(ref_template="#/components/schemas/RawUsageEvent/$defs/{model}")
    return schema


def openapi_document() -> dict[str, Any]:
    report_names = list(REPORTS)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "costream worker API", "version": __version__,
            "description": "Cost reports over ClickHouse, budgets, health and metrics. Send "
                           "'Authorization: Bearer <token>'; a tenant token sees only its tenant's rows.",
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {"type": "object", "required": ["status", "message"],
                          "properties": {"status": {"type": "integer"}, "message": {"type": "string"}}},
                "RawUsageEvent": raw_event_schema(),
                "IngestResult": {
                    "type": "object", "required": ["accepted", "rejected", "errors"],
                    "properties": {
                        "accepted": {"type": "integer", "minimum": 0},
                        "rejected": {"type": "integer", "minimum": 0},
                        "errors": {"type": "array", "description": "One per rejected line (the first 1000)",
                                   "items": {"type": "object", "required": ["line", "reason"], "properties": {
                                       "line": {"type": "integer", "description": "1-based line or array item"},
                                       "event_id": {"type": "string"}, "reason": {"type": "string"}}}},
                    },
                },
                "Report": {
                    "type": "object", "required": ["report", "source", "columns", "rows"],
                    "properties": {
                        "report": {"type": "string", "enum": report_names},
                        "source": {"type": "string", "description": "Table read: a rollup or usage_events"},
                        "since": {"type": ["string", "null"], "format": "date-time"},
                        "until": {"type": ["string", "null"], "format": "date-time"},
                        "columns": {"type": "array", "items": {"type": "string"}},
                        "rows": {"type": "array", "items": {"type": "array"},
                                 "description": "Money and ratios as exact decimal strings"},
                    },
                },
            },
        },
        "security": [{"bearer": []}],
        "paths": {
            "/v1/reports": {"get": {
                "summary": "The reports available", "operationId": "listReports",
                "responses": {"200": {"description": "Report names, titles and descriptions",
                                      "content": {"application/json": {"schema": {"type": "array"}}}},
                              **_error_responses(401)},
            }},
            "/v1/reports/{name}": {"get": {
                "summary": "Run a report", "operationId": "runReport",
                "description": "\n".join(f"- `{r.name}`: {r.description}" for r in REPORTS.values()),
                "parameters": [{"name": "name", "in": "path", "required": True,
                                "schema": {"type": "string", "enum": report_names}}, *_query_parameters()],
                "responses": {"200": {"description": "The report", "content": {"application/json": {
                                          "schema": {"$ref": "#/components/schemas/Report"}}}},
                              **_error_responses(400, 401, 403, 404)},
            }},
            "/v1/budgets": {"get": {
                "summary": "Budgets in force (a tenant token sees its own)", "operationId": "listBudgets",
                "responses": {"200": {"description": "Budgets",
                                      "content": {"application/json": {"schema": {"type": "array"}}}},
                              **_error_responses(401)},
            }},
            "/v1/budgets/status": {"get": {
                "summary": "Each budget's state in its current period (a tenant token sees its own)",
                "operationId": "budgetStatus",
                "responses": {"200": {"description": "Budget status: spend, % used, state, projected period end",
                                      "content": {"application/json": {"schema": {"type": "array"}}}},
                              **_error_responses(401)},
            }},
            "/v1/breaches": {"get": {
                "summary": "The latest breaches, newest first (a tenant token sees its own)",
                "operationId": "listBreaches",
                "parameters": [
                    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200}},
                    {"name": "tenant", "in": "query", "schema": {"type": "string"}},
                ],
                "responses": {"200": {"description": "Breaches as published",
                                      "content": {"application/json": {"schema": {"type": "array"}}}},
                              **_error_responses(400, 401, 403)},
            }},
            "/v1/status": {"get": {
                "summary": "How the running system is doing (admin): broker, store, lag, rates, dead letters, budgets",
                "operationId": "status",
                "responses": {"200": {"description": "Status",
                                      "content": {"application/json": {"schema": {"type": "object"}}}},
                              **_error_responses(401, 403)},
            }},
            "/v1/events": {"post": {
                "summary": "Publish usage events (one, a JSON array, an envelope or NDJSON)",
                "operationId": "postEvents",
                "description": "Each event is validated on its own against RawUsageEvent (schemas/json); valid ones "
                               "are published to the raw topic and priced by the worker. A tenant token may only send "
                               "its own tenant_id. 503 with Retry-After while Kafka cannot take them: send the same "
                               "body again (a resent event_id is counted once).",
                "requestBody": {"required": True, "content": {
                    "application/json": {"schema": {"oneOf": [
                        {"$ref": "#/components/schemas/RawUsageEvent"},
                        {"type": "array", "items": {"$ref": "#/components/schemas/RawUsageEvent"}},
                        {"type": "object", "required": ["events"], "properties": {
                            "events": {"type": "array", "items": {"$ref": "#/components/schemas/RawUsageEvent"}}}},
                    ]}},
                    "application/x-ndjson": {"schema": {"type": "string",
                                                         "description": "one RawUsageEvent per line"}},
                }},
                "responses": {
                    "202": {"description": "Accepted events are on the raw topic; rejected lines with their reason",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/IngestResult"}}}},
                    **_error_responses(400, 401, 413),
                    "503": {"description": "Kafka cannot take events now; retry after the given seconds",
                            "headers": {"Retry-After": {"schema": {"type": "integer"}}},
                            "content": {"application/json": {"schema": _ERROR}}},
                },
            }},
            "/v1/traces": {"post": {
                "summary": "OTLP/HTTP trace export: GenAI spans with token counts become usage events",
                "operationId": "postTraces",
                "description": "ExportTraceServiceRequest as application/x-protobuf or OTLP/JSON; spans without "
                               "gen_ai.usage.* are skipped; refused spans are counted in partial_success.",
                "requestBody": {"required": True, "content": {
                    "application/x-protobuf": {"schema": {"type": "string", "format": "binary"}},
                    "application/json": {"schema": {"type": "object",
                                                     "properties": {"resourceSpans": {"type": "array"}}}},
                }},
                "responses": {
                    "200": {"description": "ExportTraceServiceResponse (partial_success names refused spans)"},
                    **_error_responses(400, 401, 413),
                    "503": {"description": "Kafka cannot take events now; retry after the given seconds",
                            "headers": {"Retry-After": {"schema": {"type": "integer"}}}},
                },
            }},
            "/v1/query": {"post": {
                "summary": "Read-only SQL (admin tokens only)", "operationId": "query",
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["sql"],
                    "properties": {"sql": {"type": "string"}, "parameters": {"type": "object"}}}}}},
                "responses": {"200": {"description": "columns, types and rows",
                                      "content": {"application/json": {"schema": {"type": "object"}}}},
                              **_error_responses(400, 401, 403)},
            }},
            "/v1/reconcile": {"get": {
                "summary": "Compare worker state with the store now: drift per tenant and budget (admin)",
                "operationId": "reconcile",
                "parameters": [{"name": "repair", "in": "query", "required": False,
                                "schema": {"type": "boolean", "default": True}}],
                "responses": {"200": {"description": "Drift found (repaired unless repair=false)",
                                      "content": {"application/json": {"schema": {"type": "object"}}}},
                              **_error_responses(401, 403)},
            }},
            "/v1/reprice": {"post": {
                "summary": "Re-price stored events with the catalog now in force; old and new totals (admin)",
                "operationId": "reprice",
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["since"], "additionalProperties": False,
                    "properties": {"since": {"type": "string", "description": "earliest occurred_at"},
                                   "until": {"type": "string", "description": "end (exclusive)"},
                                   "tenant": {"type": "string"}, "model": {"type": "string"},
                                   "dry_run": {"type": "boolean", "default": False}}}}}},
                "responses": {"200": {"description": "The run: events read and changed, totals per tenant and model",
                                      "content": {"application/json": {"schema": {"type": "object"}}}},
                              **_error_responses(400, 401, 403)},
            }},
            "/v1/stats": {"get": {"summary": "Worker counters (admin)", "operationId": "stats",
                                  "responses": {"200": {"description": "Counters"}, **_error_responses(401, 403)}}},
            "/healthz": {"get": {"summary": "Liveness", "security": [], "operationId": "health",
                                 "responses": {"200": {"description": "Alive"}}}},
            "/readyz": {"get": {"summary": "Readiness: partitions assigned, budgets loaded, no partition stalled",
                                "security": [], "operationId": "ready",
                                "responses": {"200": {"description": "Ready"}, **_error_responses(503)}}},
            "/metrics": {"get": {"summary": "Prometheus metrics", "security": [], "operationId": "metrics",
                                 "responses": {"200": {"description": "Prometheus text format"}}}},
        },
    }
