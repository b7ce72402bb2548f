"""The HTTP API: bearer tokens, tenant isolation under crafted input, JSON errors,
OpenAPI, and Prometheus metrics, on the real worker."""

import json
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import orjson
import pytest
from openapi_spec_validator import validate

from tests.integration.helpers import canonical_event
from tests.integration.test_budgets_e2e import set_budget
from tests.stack import ISOLATION_TENANTS, Stack, wait_until

pytestmark = pytest.mark.integration

A, B = ISOLATION_TENANTS
SINCE = "2026-09-01"


def call(stack: Stack, path: str, token: str | None, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"http://127.0.0.1:{stack.http_port}{path}", data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            raw = response.read()
            return response.status, json.loads(raw) if response.headers.get_content_type() == "application/json" \
                else raw.decode()
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.fixture(scope="module")
def two_tenants(stack: Stack) -> dict[str, int]:
    nonce = uuid.uuid4().hex[:8]
    at = datetime(2026, 9, 3, 12, tzinfo=UTC)
    events = [canonical_event(f"{nonce}-{t}-{n}", t, at, 1000, 10) for t in (A, B) for n in range(3 if t == A else 4)]
    stack.publish([(e["tenant_id"].encode(), orjson.dumps(e)) for e in events])
    counts = {A: 3, B: 4}

    def rolled_up() -> bool:
        rows = stack.query("SELECT tenant_id, sum(requests) AS n FROM usage_rollup_day "
                           "WHERE tenant_id IN {t:Array(String)} GROUP BY tenant_id", t=[A, B])
        return {r["tenant_id"]: r["n"] for r in rows} == counts

    wait_until(rolled_up, 60, what="isolation events to reach the rollups")
    return counts


def tenants_seen(answer: dict[str, Any]) -> set[str]:
    index = answer["columns"].index("tenant")
    return {row[index] for row in answer["rows"]}


def test_a_tenant_token_sees_only_its_own_rows(stack: Stack, two_tenants: dict[str, int]) -> None:
    status, answer = call(stack, f"/v1/reports/cost?{urlencode({'by': 'tenant', 'since': SINCE})}", stack.tokens[A])
    assert status == 200 and tenants_seen(answer) == {A}
    status, answer = call(stack, f"/v1/reports/requests?{urlencode({'since': SINCE})}", stack.tokens[B])
    assert status == 200 and tenants_seen(answer) == {B} and len(answer["rows"]) >= two_tenants[B]
    # the admin sees both
    status, answer = call(stack, f"/v1/reports/cost?{urlencode({'by': 'tenant', 'since': SINCE})}",
                          stack.tokens["admin"])
    assert status == 200 and {A, B} <= tenants_seen(answer)


@pytest.mark.parametrize("tenant", [B, f"{A}' OR '1'='1", f"{A}\u0000", "%", f"{A} --"])
def test_naming_another_tenant_is_refused(stack: Stack, two_tenants: dict[str, int], tenant: str) -> None:
    status, answer = call(stack, f"/v1/reports/cost?{urlencode({'tenant': tenant})}", stack.tokens[A])
    assert status == 403 and answer == {"status": 403, "message": answer["message"]} and "tenant" in answer["message"]


@pytest.mark.parametrize("crafted", [
    {"feature": "x' OR '1'='1"}, {"session": "') UNION ALL SELECT * FROM system.tables --"},
    {"model": "gpt-4o-mini\\' OR 1=1"}, {"user": "*"},
])
def test_crafted_filters_are_values_not_sql(stack: Stack, two_tenants: dict[str, int], crafted: dict[str, str]) -> None:
    for token in (stack.tokens[A], stack.tokens["admin"]):
        status, answer = call(stack, f"/v1/reports/requests?{urlencode({**crafted, 'since': SINCE})}", token)
        assert status == 200 and answer["rows"] == []


@pytest.mark.parametrize(("query", "fragment"), [
    ({"by": "tenant;DROP TABLE usage_events"}, "by.0"),
    ({"by": "tenant) OR (1=1"}, "by.0"),
    ({"limit": "1; SELECT 1"}, "limit"),
    ({"since": "yesterday'--"}, "since"),
    ({"tenant_id": A}, "unknown parameter"),
])
def test_invalid_input_is_a_json_400(stack: Stack, query: dict[str, str], fragment: str) -> None:
    status, answer = call(stack, f"/v1/reports/cost?{urlencode(query)}", stack.tokens["admin"])
    assert status == 400 and answer["status"] == 400 and fragment in answer["message"]


def test_tokens_are_required_and_checked(stack: Stack) -> None:
    assert call(stack, "/v1/reports/cost", None)[0] == 401
    assert call(stack, "/v1/reports/cost", "cst_not-a-real-token")[0] == 401
    status, answer = call(stack, "/v1/reports/no-such-report", stack.tokens["admin"])
    assert status == 404 and "cost" in answer["message"]


def test_raw_sql_and_stats_are_admin_only(stack: Stack) -> None:
    status, answer = call(stack, "/v1/query", stack.tokens[A], {"sql": "SELECT count() FROM usage_events"})
    assert status == 403 and answer["status"] == 403
    assert call(stack, "/v1/stats", stack.tokens[A])[0] == 403
    assert call(stack, "/v1/stats", stack.tokens["admin"])[0] == 200


def test_budgets_are_scoped_to_the_tokens_tenant(stack: Stack) -> None:
    for tenant in (A, B):
        set_budget(stack, f"iso-{tenant}", tenant, "month", "100")
    status, budgets = call(stack, "/v1/budgets", stack.tokens[A])
    assert status == 200 and budgets and {b["tenant_id"] for b in budgets} == {A}


def test_openapi_document_is_valid_and_lists_every_report(stack: Stack) -> None:
    status, document = call(stack, "/v1/openapi.json", None)
    assert status == 200
    validate(document)
    names = document["paths"]["/v1/reports/{name}"]["get"]["parameters"][0]["schema"]["enum"]
    assert set(names) == {"cost", "top", "breakdown", "cache", "efficiency", "requests", "unpriced", "drift",
                          "projection"}


def test_prometheus_metrics_count_what_the_worker_did(stack: Stack, two_tenants: dict[str, int]) -> None:
    status, text = call(stack, "/metrics", None)
    assert status == 200
    samples = {line.split(" ")[0]: float(line.split(" ")[1]) for line in text.splitlines()
               if line and not line.startswith("#")}
    stats = stack.stats()
    assert samples["costream_events_priced_total"] >= sum(two_tenants.values())
    assert samples["costream_events_priced_total"] <= stats["events_priced"]
    assert samples["costream_insert_seconds_count"] > 0
    lags = {name: value for name, value in samples.items() if name.startswith("costream_consumer_lag{")}
    assert lags and all(f'topic="{stack.settings.topic_raw}"' in name for name in lags)

    def drained() -> bool:  # everything published so far was stored and committed
        _, text = call(stack, "/metrics", None)
        return all(line.endswith(" 0.0") for line in text.splitlines() if line.startswith("costream_consumer_lag{"))

    wait_until(drained, 60, what="consumer lag to drain to 0")
