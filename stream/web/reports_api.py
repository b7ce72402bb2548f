"""``GET /v1/reports/{name}``: query-string parameters -> a report, scoped to the caller.

A tenant token's reports are always filtered to its tenant: asking for another tenant is
refused (403) rather than silently narrowed, so a misconfigured client notices.
"""

from collections.abc import Iterable
from typing import Any

from pydantic import ValidationError

from stream.ingest.errors import describe_validation_error
from stream.reports import REPORTS, ReportParams
from stream.web.auth import AuthError, Principal

_LIST_PARAMS = frozenset({"by"})
ACCEPTED = frozenset(ReportParams.model_fields)


class BadRequest(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def report_params(query: Iterable[tuple[str, str]], principal: Principal) -> ReportParams:
    values: dict[str, Any] = {}
    for key, value in query:
        if key not in ACCEPTED:
            raise BadRequest(f"unknown parameter '{key}': accepted are {', '.join(sorted(ACCEPTED))}")
        if key in _LIST_PARAMS:
            values.setdefault(key, []).extend(part for part in value.split(",") if part)
        elif key in values:
            raise BadRequest(f"parameter '{key}' given twice")
        else:
            values[key] = value
    if principal.tenant is not None:
        if values.get("tenant", principal.tenant) != principal.tenant:
            raise AuthError(403, "this token may only read its own tenant's reports")
        values["tenant"] = principal.tenant
    try:
        return ReportParams.model_validate(values)
    except ValidationError as exc:
        raise BadRequest(describe_validation_error(exc)) from None


def catalog() -> list[dict[str, Any]]:
    return [
        {"name": r.name, "title": r.title, "description": r.description, "default_by": list(r.default_by),
         "accepts_by": r.allows_by, "default_limit": r.default_limit}
        for r in REPORTS.values()
    ]  # fmt: skip
