"""Canonical token usage: one convention for every provider.

- ``input_tokens`` is ALL input, including cache reads and cache writes.
- ``cache_read_tokens`` and ``cache_write_tokens`` are subsets of ``input_tokens``;
  ``cache_write_1h_tokens`` is the part of the cache writes made with a 1-hour TTL
  (the rest are 5-minute writes, the providers' default).
- ``output_tokens`` is ALL output, including reasoning/thinking;
  ``reasoning_tokens`` is a subset of it.
- audio token counts are subsets of input/output as well.

Canonicalising a canonical record changes nothing.
"""

from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas.limits import MAX_TOKENS_PER_EVENT

__all__ = ["MAX_TOKENS_PER_EVENT", "TokenCount", "TokenUsage", "check_subsets"]

TokenCount = Annotated[int, Field(ge=0, le=MAX_TOKENS_PER_EVENT, strict=True)]


def check_subsets(usage: Any) -> None:
    """Raises ValueError naming the count that does not fit inside its whole (``usage``
    is a TokenUsage, or the Struct schemas.wire decodes one into)."""
    checks = (
        ("cache_read_tokens + cache_write_tokens", usage.cache_read_tokens + usage.cache_write_tokens,
         "input_tokens", usage.input_tokens),
        ("cache_write_1h_tokens", usage.cache_write_1h_tokens, "cache_write_tokens", usage.cache_write_tokens),
        ("input_audio_tokens", usage.input_audio_tokens, "input_tokens", usage.input_tokens),
        ("reasoning_tokens", usage.reasoning_tokens, "output_tokens", usage.output_tokens),
        ("output_audio_tokens", usage.output_audio_tokens, "output_tokens", usage.output_tokens),
    )
    for part_name, part, whole_name, whole in checks:
        if part > whole:
            raise ValueError(f"{part_name} ({part}) cannot exceed {whole_name} ({whole})")


class TokenUsage(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    input_tokens: TokenCount = 0
    cache_read_tokens: TokenCount = 0
    cache_write_tokens: TokenCount = 0
    cache_write_1h_tokens: TokenCount = 0
    output_tokens: TokenCount = 0
    reasoning_tokens: TokenCount = 0
    input_audio_tokens: TokenCount = 0
    output_audio_tokens: TokenCount = 0

    @model_validator(mode="after")
    def _subsets_fit(self) -> Self:
        check_subsets(self)
        return self

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens
