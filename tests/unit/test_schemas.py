import subprocess
import sys
from datetime import datetime

import pytest
from pydantic import ValidationError


def test_exported_json_schemas_match_the_models() -> None:
    result = subprocess.run([sys.executable, "-m", "schemas.export", "--check"], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr


def _datetime_fields(model: type) -> list[tuple[str, str]]:
    from typing import get_args

    found = []
    for name, info in model.model_fields.items():  # type: ignore[attr-defined]
        options = get_args(info.annotation) or (info.annotation,)
        if any(option is datetime for option in options):
            found.append((model.__name__, name))
    return found


def test_no_schema_takes_a_naive_datetime() -> None:
    from schemas.budgets import BudgetBreach, BudgetStatus
    from schemas.dead_letter import DeadLetter
    from schemas.events import RawUsageEvent
    from schemas.priced import PricedUsageEvent
    from schemas.windows import WindowAggregate

    models = (RawUsageEvent, PricedUsageEvent, DeadLetter, WindowAggregate, BudgetBreach, BudgetStatus)
    # a plain ``datetime`` field would take "2026-12-01T10:00:00" and leave its zone to guessing
    assert [field for model in models for field in _datetime_fields(model)] == []
    with pytest.raises(ValidationError, match="timezone"):
        DeadLetter(original_b64="", topic="t", partition=0, offset=0, error_type="x", error="y",
                   dead_lettered_at=datetime(2026, 12, 1, 10))  # fmt: skip
