"""What canonicalisation returns."""

from dataclasses import dataclass
from decimal import Decimal

from schemas.usage import TokenUsage
from stream.canonical.errors import UsageError


@dataclass(frozen=True, slots=True)
class ExtractedUsage:
    tokens: TokenUsage
    model: str | None
    """The model the response names, if any."""
    reported_cost_usd: Decimal | None
    """A dollar cost the response itself reports (OpenRouter's usage.cost)."""


def build_tokens(
    where: str,
    input_tokens: int,
    output_tokens: int,
    cache_read_tokens: int = 0,
    cache_write_tokens: int = 0,
    cache_write_1h_tokens: int = 0,
    reasoning_tokens: int = 0,
    input_audio_tokens: int = 0,
    output_audio_tokens: int = 0,
) -> TokenUsage:
    """Checks how the counts fit together, with a message naming where they came from."""
    if cache_read_tokens + cache_write_tokens > input_tokens:
        raise UsageError(where, f"cached tokens ({cache_read_tokens} read + {cache_write_tokens} written) "
                                f"exceed input tokens ({input_tokens})")
    if reasoning_tokens > output_tokens:
        raise UsageError(where, f"reasoning tokens ({reasoning_tokens}) exceed output tokens ({output_tokens})")
    if input_audio_tokens > input_tokens or output_audio_tokens > output_tokens:
        raise UsageError(where, "audio tokens exceed the tokens they are part of")
    if cache_write_1h_tokens > cache_write_tokens:
        raise UsageError(where, "1-hour cache writes exceed cache writes")
    return TokenUsage(
        input_tokens=input_tokens, cache_read_tokens=cache_read_tokens, cache_write_tokens=cache_write_tokens,
        cache_write_1h_tokens=cache_write_1h_tokens, output_tokens=output_tokens, reasoning_tokens=reasoning_tokens,
        input_audio_tokens=input_audio_tokens, output_audio_tokens=output_audio_tokens,
    )
