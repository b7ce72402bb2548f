"""Turning validation failures into one readable reason that names the field."""

from collections.abc import Callable

from pydantic import ValidationError

Location = tuple[int | str, ...]


def describe_validation_error(
    exc: ValidationError, prefix: str = "", name: Callable[[Location], str] | None = None
) -> str:
    """``"occurred_at: Input should have timezone info; usage.input_tokens: ..."``

    ``name`` spells a field's location when the dotted path alone says too little."""
    parts = []
    for error in exc.errors(include_url=False):
        location = name(error["loc"]) if name else ".".join(str(part) for part in error["loc"])
        field = f"{prefix}.{location}" if prefix and location else (prefix or location or "event")
        parts.append(f"{field}: {error['msg'].removeprefix('Value error, ')}")
    return "; ".join(parts[:5]) + (f" (+{len(parts) - 5} more)" if len(parts) > 5 else "")
