"""Applying compiled rates to canonical tokens: the cost breakdown of one event.

Each token is billed once, on the line of its most specific priced type (the same leaf
decomposition as genai-prices): uncached text input, cache reads, 5-minute and 1-hour
cache writes, output other than reasoning, reasoning, and audio and per-request fees
(``other``). Where the canonical counts overlap in a way genai-prices rejects (audio
that must also have been cached, reasoning that must also have been audio), the overlap
is billed once, on the line already counting it, instead of failing.

Rounding: published per-million rates give products with at most ~12 decimal places,
well inside the 18 of schemas.money, so nothing is rounded. A rate with more digits (a
float-derived rate in the data, an odd multiplier) can give more; then each line is
rounded half-even to 18 places and the total is the sum of the rounded lines, so the
parts always add up exactly.
"""

from decimal import ROUND_HALF_EVEN, Decimal, getcontext, localcontext

from schemas import CostBreakdown, TokenUsage
from schemas.money import COST_QUANTUM, MONEY_CONTEXT
from schemas.wire import CostStruct, as_model
from stream.pricing.rates import CompiledRates

_ZERO = Decimal(0)
_PLAIN_PRECISION = 28  # see CompiledRates.small


def price_tokens(rates: CompiledRates, tokens: TokenUsage) -> CostBreakdown:
    return as_model(breakdown_of(rates, tokens), CostBreakdown)


def breakdown_of(rates: CompiledRates, tokens: TokenUsage) -> CostBreakdown:
    """As :func:`price_tokens`, as a :data:`schemas.wire.CostStruct`: the same attributes,
    exact by construction, without a pydantic object (the ingest pipeline's path)."""
    if rates.tiers:
        rates = rates.for_input(tokens.input_tokens)
    if rates.exact and rates.small and getcontext().prec >= _PLAIN_PRECISION:
        return _price(rates, tokens, rounded=False)
    with localcontext(MONEY_CONTEXT):
        return _price(rates, tokens, rounded=not rates.exact)


def _price(rates: CompiledRates, tokens: TokenUsage, rounded: bool) -> CostBreakdown:
    (p_input, p_cache_read, p_write_5m, p_write_1h, p_output, p_reasoning, p_input_audio, p_output_audio,
     p_request) = rates.per_token
    cache_read, cache_write = tokens.cache_read_tokens, tokens.cache_write_tokens
    write_1h, output, reasoning = tokens.cache_write_1h_tokens, tokens.output_tokens, tokens.reasoning_tokens

    uncached = tokens.input_tokens - cache_read - cache_write
    input_audio = min(tokens.input_audio_tokens, uncached) if rates.input_audio is not None else 0
    output_audio = tokens.output_audio_tokens if rates.output_audio is not None else 0
    if reasoning > output - output_audio:
        reasoning = output - output_audio
    text_input = uncached - input_audio
    text_output = output - output_audio - reasoning

    input_cost = p_input * text_input if text_input else _ZERO
    read_cost = p_cache_read * cache_read if cache_read else _ZERO
    write_cost = _ZERO
    if cache_write:
        write_5m = cache_write - write_1h
        write_cost = p_write_5m * write_5m + p_write_1h * write_1h if write_1h else p_write_5m * write_5m
    output_cost = p_output * text_output if text_output else _ZERO
    reasoning_cost = (p_output if rates.reasoning is None else p_reasoning) * reasoning if reasoning else _ZERO
    other_cost = _ZERO
    if input_audio or output_audio or rates.per_request is not None:
        other_cost = p_input_audio * input_audio + p_output_audio * output_audio + p_request

    if rounded:
        input_cost, read_cost, write_cost, output_cost, reasoning_cost, other_cost = (
            line.quantize(COST_QUANTUM, ROUND_HALF_EVEN)
            for line in (input_cost, read_cost, write_cost, output_cost, reasoning_cost, other_cost)
        )
    total = input_cost + output_cost
    for line in (read_cost, write_cost, reasoning_cost, other_cost):
        if line:
            total += line
    # Not validated again: every line above is non-negative, at most 18 decimal places, and
    # the total is their exact sum by construction; validating would cost more than the
    # pricing itself (a test checks the result validates as a CostBreakdown and equals it).
    return CostStruct(
        input=input_cost, cache_read=read_cost, cache_write=write_cost, output=output_cost,
        reasoning=reasoning_cost, other=other_cost, total=total,
    )


def cache_read_savings(rates: CompiledRates, tokens: TokenUsage, breakdown: CostBreakdown) -> Decimal:
    """What the cache reads saved: their tokens at the uncached input rate (of the tier
    this request is billed at) minus what they cost as cache reads."""
    if not tokens.cache_read_tokens:
        return _ZERO
    if rates.tiers:
        rates = rates.for_input(tokens.input_tokens)
    uncached = MONEY_CONTEXT.multiply(rates.per_token[0], Decimal(tokens.cache_read_tokens))
    return MONEY_CONTEXT.subtract(uncached, breakdown.cache_read).quantize(COST_QUANTUM, ROUND_HALF_EVEN)
