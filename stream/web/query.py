"""``POST /v1/query``: read-only SQL over the worker's store.

In embedded mode the worker process owns the chDB data path, so ad-hoc queries from
``costream query`` come here. Queries run on the store's reader connection, with
``readonly=2`` (no writes, no DDL) and ``final=1`` (every ReplacingMergeTree read as if
with FINAL, so duplicates from redelivery never show). The endpoint binds to 127.0.0.1
by default.
"""

from typing import Any

from pydantic import BaseModel, Field, ValidationError

from stream.reason import first_line
from stream.store.client import ClickHouseStore


class QueryRequest(BaseModel):
    sql: str = Field(min_length=1, max_length=100_000)
    parameters: dict[str, Any] = Field(default_factory=dict)


class QueryError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


async def run_query(store: ClickHouseStore, body: bytes) -> dict[str, Any]:
    try:
        request = QueryRequest.model_validate_json(body)
    except ValidationError as exc:
        raise QueryError(400, f"invalid request: {exc.errors(include_url=False)[0]['msg']}") from None
    try:
        result = await store.query_readonly(request.sql, parameters=request.parameters or None)
    except Exception as exc:
        raise QueryError(400, first_line(exc, 2000)) from None
    return {
        "columns": list(result.column_names),
        "types": [column_type.name for column_type in result.column_types],
        "rows": [list(row) for row in result.result_rows],
    }
