"""Turning validation failures into one readable reason that names the field."""

from pydantic import ValidationError


def describe_validation_error(exc: ValidationError, prefix: str = "") -> str:
    """``"occurred_at: Input should have timezone info; usage.input_tokens: ..."``"""
    parts = []
    for error in exc.errors(include_url=False):
        location = ".".join(str(part) for part in error["loc"])
        field = f"{prefix}.{location}" if prefix and location else (prefix or location or "event")
        parts.append(f"{field}: {error['msg'].removeprefix('Value error, ')}")
    return "; ".join(parts[:5]) + (f" (+{len(parts) - 5} more)" if len(parts) > 5 else "")
