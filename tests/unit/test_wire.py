"""schemas.wire: Structs derived from the models, and trusted construction."""

from decimal import Decimal
from typing import Annotated

import msgspec
import pytest
from pydantic import BaseModel, StringConstraints

from schemas import CostBreakdown, PricedUsageEvent, RawUsageEvent, TokenUsage
from schemas.wire import PricedEventStruct, RawEventStruct, as_model, struct_for, trusted


def test_trusted_instances_equal_validated_ones() -> None:
    values = {"input_tokens": 10, "cache_read_tokens": 4, "cache_write_tokens": 1, "cache_write_1h_tokens": 1,
              "output_tokens": 5, "reasoning_tokens": 2, "input_audio_tokens": 0, "output_audio_tokens": 0}
    for _ in range(2):  # the first call makes the template, later ones copy it
        built = trusted(TokenUsage, values)
        assert built == TokenUsage(**values) and built.model_fields_set == set(TokenUsage.model_fields)
        values = {**values, "input_tokens": 11}
    lines = {"input": Decimal("0.1"), "cache_read": Decimal(0), "cache_write": Decimal(0), "output": Decimal("0.2"),
             "reasoning": Decimal(0), "other": Decimal(0), "total": Decimal("0.3")}
    assert trusted(CostBreakdown, lines) == CostBreakdown(**lines)
    assert trusted(CostBreakdown, lines) is not trusted(CostBreakdown, lines)


def test_a_decoded_struct_becomes_its_model() -> None:
    usage = msgspec.json.decode(b'{"input_tokens": 3, "output_tokens": 2}', type=struct_for(TokenUsage))
    assert as_model(usage, TokenUsage) == TokenUsage(input_tokens=3, output_tokens=2)
    tokens = TokenUsage(input_tokens=1)
    assert as_model(tokens, TokenUsage) is tokens


def test_structs_keep_the_models_field_names() -> None:
    for struct, model in ((RawEventStruct, RawUsageEvent), (PricedEventStruct, PricedUsageEvent)):
        assert [field.name for field in msgspec.structs.fields(struct)] == list(model.model_fields)  # type: ignore[arg-type]


def test_a_constraint_without_a_translation_is_refused_not_dropped() -> None:
    class Shouting(BaseModel):
        name: Annotated[str, StringConstraints(to_upper=True)]

    with pytest.raises(NotImplementedError):
        struct_for(Shouting)
