"""The HTTP API fuzzed against its own OpenAPI document: whatever a client sends, the
worker never answers with a server error (5xx). Examples are bounded so the run stays
short; the document itself is checked elsewhere (test_openapi)."""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from tests.stack import Stack

pytestmark = pytest.mark.integration

EXAMPLES_PER_OPERATION = 25


def test_no_input_makes_the_api_fail_with_a_server_error(stack: Stack) -> None:
    schema = schemathesis.openapi.from_url(f"http://127.0.0.1:{stack.http_port}/v1/openapi.json")
    headers = {"Authorization": f"Bearer {stack.tokens['admin']}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 9, "the document lists the operations"
    calls = 0
    for operation in operations:
        if operation.path == "/readyz":  # 503 by design while rebalancing or stalled
            continue

        @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))  # fmt: skip
        @given(case=operation.as_strategy())
        def no_server_error(case: schemathesis.Case) -> None:
            nonlocal calls
            calls += 1
            case.call_and_validate(headers=headers, checks=[not_a_server_error], timeout=60)

        no_server_error()
    assert calls >= 4 * len(operations), "each operation got several requests"
