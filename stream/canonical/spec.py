"""One usage object -> canonical tokens, driven by a table of field paths per shape.

Each shape module declares a :class:`UsageSpec` (where its usage object keeps each
count, and which counts it reports apart from their totals) and finds the usage object
in a response or stream; reading and checking the counts is shared here.
"""

from dataclasses import dataclass, field
from typing import Any

from schemas.usage import MAX_TOKENS_PER_EVENT, TokenUsage
from schemas.wire import TokensStruct
from stream.canonical.errors import UsageError
from stream.canonical.fields import Match, Path, check_count, dotted, match

Paths = tuple[Path, ...]


@dataclass(frozen=True, slots=True)
class UsageSpec:
    """Paths are relative to the usage object. For the optional counts, the first path
    present wins (fallbacks for older or variant spellings); absent means 0."""

    input: Path
    """Required: without it the object is not usage."""
    output: Paths = ()
    cache_read: Paths = ()
    cache_write: Paths = ()
    cache_write_1h: Paths = ()
    cache_write_5m: Paths = ()
    """Only used to derive cache writes when the total is not reported."""
    reasoning: Paths = ()
    input_audio: Paths = ()
    output_audio: Paths = ()
    extra_input: Paths = ()
    """Input the provider counts apart from ``input`` (summed into canonical input)."""
    total: Path | None = None
    """The provider's own total, used only to tell where reasoning tokens are counted."""
    input_excludes_cache: bool = False
    output_excludes_reasoning: bool = False
    """The default when ``total`` does not settle it."""
    plan: tuple[tuple[str, Paths, bool], ...] = field(init=False, repr=False, compare=False)
    """(raw name, paths, summed) for every count: the table flattened for the hot loop."""

    def __post_init__(self) -> None:
        plan: list[tuple[str, Paths, bool]] = [("input", (self.input,), False)]
        plan += [(name, getattr(self, name), False) for name in _FIRST_PRESENT if getattr(self, name)]
        if self.extra_input:
            plan.append(("extra_input", self.extra_input, True))
        if self.total is not None:
            plan.append(("total", (self.total,), False))
        object.__setattr__(self, "plan", tuple(plan))


_FIRST_PRESENT = ("output", "cache_read", "cache_write", "cache_write_1h", "cache_write_5m", "reasoning",
                  "input_audio", "output_audio")  # fmt: skip


Raw = dict[str, int | None]
"""The counts of one usage object as reported (None: not reported)."""


def read_raw(usage: Any, spec: UsageSpec, where: str) -> Raw:
    """Every count ``spec`` names, validated one by one, still in the provider's convention.

    Runs once or more per event: the path walk is inlined rather than calling
    ``fields.count`` per path, which halves the cost of a typical response.
    """
    raw: Raw = dict.fromkeys(_RAW_NAMES)
    for name, paths, summed in spec.plan:
        result: int | None = None
        for path in paths:
            value = usage
            for step in path:
                if type(value) is dict and type(step) is str:
                    value = value.get(step)
                elif type(step) is Match:
                    value = match(value, step)
                else:
                    value = None
                if value is None:
                    break
            if value is None:
                continue
            if type(value) is not int or not 0 <= value <= MAX_TOKENS_PER_EVENT:
                value = check_count(value, dotted(where, path))
            if not summed:
                result = value
                break
            result = (result or 0) + value
        raw[name] = result
    return raw


_RAW_NAMES = ("input", *_FIRST_PRESENT, "extra_input", "total")


def merge_cumulative(into: Raw, update: Raw) -> None:
    """Merge the counts of a later stream event: every value is a running total, so the
    largest seen is the final one, and nothing is counted twice."""
    for name, value in update.items():
        if value is not None:
            current = into[name]
            if current is None or value > current:
                into[name] = value


def to_tokens(raw: Raw, spec: UsageSpec, where: str) -> TokenUsage:
    """The canonical tokens of ``raw``; any count that cannot fit names ``where``."""
    uncounted_input = raw["input"]
    if uncounted_input is None:
        raise UsageError(dotted(where, spec.input), "missing")
    cache_read = raw["cache_read"] or 0
    write_1h = raw["cache_write_1h"] or 0
    cache_write = raw["cache_write"]
    if cache_write is None:
        cache_write = (raw["cache_write_5m"] or 0) + write_1h
    input_tokens = uncounted_input + (raw["extra_input"] or 0)
    if spec.input_excludes_cache:
        input_tokens += cache_read + cache_write
    reasoning = raw["reasoning"] or 0
    output = raw["output"] or 0
    if _reasoning_outside(raw, spec, input_tokens, output, reasoning):
        output += reasoning
    return build_tokens(
        where, input_tokens=input_tokens, output_tokens=output, cache_read_tokens=cache_read,
        cache_write_tokens=cache_write, cache_write_1h_tokens=write_1h, reasoning_tokens=reasoning,
        input_audio_tokens=raw["input_audio"] or 0, output_audio_tokens=raw["output_audio"] or 0,
    )  # fmt: skip


def _reasoning_outside(raw: Raw, spec: UsageSpec, input_tokens: int, output: int, reasoning: int) -> bool:
    total = raw["total"]
    if reasoning and total is not None:
        # The provider's own total says which convention this response follows; it
        # catches an OpenAI-compatible API that reports reasoning apart, and a provider
        # that switches conventions.
        if total == input_tokens + output + reasoning:
            return True
        if total == input_tokens + output:
            return False
    return spec.output_excludes_reasoning


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
    """Checks how the counts fit together, with a message naming where they came from.

    Every count must come from ``fields.check_count`` (or sums of them): each is then a
    non-negative int, so with the checks below the record meets every constraint of
    TokenUsage and is built without validating it a second time, as a
    :data:`schemas.wire.TokensStruct` (extract_usage gives callers the model).
    """
    if input_tokens > MAX_TOKENS_PER_EVENT or output_tokens > MAX_TOKENS_PER_EVENT:
        raise UsageError(where, f"input ({input_tokens}) or output ({output_tokens}) tokens add up beyond any "
                                f"real request (limit {MAX_TOKENS_PER_EVENT})")
    if cache_read_tokens + cache_write_tokens > input_tokens:
        raise UsageError(where, f"cached tokens ({cache_read_tokens} read + {cache_write_tokens} written) "
                                f"exceed input tokens ({input_tokens})")
    if reasoning_tokens > output_tokens:
        raise UsageError(where, f"reasoning tokens ({reasoning_tokens}) exceed output tokens ({output_tokens})")
    if input_audio_tokens > input_tokens:
        raise UsageError(where, f"audio input tokens ({input_audio_tokens}) exceed input tokens ({input_tokens})")
    if output_audio_tokens > output_tokens:
        raise UsageError(where, f"audio output tokens ({output_audio_tokens}) exceed output tokens ({output_tokens})")
    if cache_write_1h_tokens > cache_write_tokens:
        raise UsageError(where, f"1-hour cache writes ({cache_write_1h_tokens}) exceed cache writes "
                                f"({cache_write_tokens})")
    return TokensStruct(
        input_tokens=input_tokens, cache_read_tokens=cache_read_tokens, cache_write_tokens=cache_write_tokens,
        cache_write_1h_tokens=cache_write_1h_tokens, output_tokens=output_tokens, reasoning_tokens=reasoning_tokens,
        input_audio_tokens=input_audio_tokens, output_audio_tokens=output_audio_tokens,
    )  # fmt: skip
