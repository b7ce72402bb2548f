"""Every capture shape of a stream gives the tokens of the bare list: the recorded
streams of tests/unit/test_canonical_extract.py, sent as a gateway would capture them
(raw SSE text with its event lines, JSON Lines, wrapped in {"chunks"} or {"events"})."""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from schemas.usage import TokenUsage
from stream.canonical import extract_usage
from stream.canonical.errors import UsageError
from stream.ingest.decode import SourceMessage
from stream.ingest.pipeline import process_messages
from stream.pricing import PriceBook
from tests.unit.test_canonical_extract import (
    ANTHROPIC_STREAM,
    BEDROCK_STREAM,
    GEMINI_STREAM,
    OPENAI_STREAM,
    RESPONSES_STREAM,
)


def _dump(item: Any) -> str:
    return orjson.dumps(item).decode()


def sse_openai_chat(items: list[Any]) -> str:
    """OpenAI Chat Completions: data lines only, ending with [DONE]."""
    return "".join(f"data: {_dump(item)}\n\n" for item in items) + "data: [DONE]\n\n"


def sse_typed(items: list[Any]) -> str:
    """Anthropic and OpenAI Responses: an event line naming the data's type."""
    return "".join(f"event: {item['type']}\ndata: {_dump(item)}\n\n" for item in items)


def sse_gemini(items: list[Any]) -> str:
    """Gemini's streamGenerateContent?alt=sse: data lines, CRLF line ends."""
    return "".join(f"data: {_dump(item)}\r\n\r\n" for item in items)


def sse_bedrock(items: list[Any]) -> str:
    """ConverseStream relayed as SSE: the event's name, then its body as data."""
    out = []
    for item in items:
        ((name, body),) = item.items()
        out.append(f"event: {name}\ndata: {_dump(body)}\n\n")
    return "".join(out)


def ndjson(items: list[Any]) -> str:
    return "".join(f"{_dump(item)}\n" for item in items)


STREAMS: list[tuple[str, str, list[Any], Callable[[list[Any]], str]]] = [
    ("openai", "chat", OPENAI_STREAM, sse_openai_chat),
    ("openai", "responses", RESPONSES_STREAM, sse_typed),
    ("anthropic", "default", ANTHROPIC_STREAM, sse_typed),
    ("google", "default", GEMINI_STREAM, sse_gemini),
    ("aws", "converse-stream", BEDROCK_STREAM, sse_bedrock),
]


@pytest.mark.parametrize(("provider", "flavor", "stream", "as_sse"), STREAMS, ids=[s[0] + "-" + s[1] for s in STREAMS])
def test_every_capture_shape_gives_the_tokens_of_the_bare_list(
    provider: str, flavor: str, stream: list[Any], as_sse: Callable[[list[Any]], str]
) -> None:
    bare = extract_usage(provider, flavor, stream)
    assert bare.tokens.input_tokens > 0
    for shape in ({"chunks": stream}, {"events": stream}, as_sse(stream), ndjson(stream)):
        found = extract_usage(provider, flavor, shape)
        assert (found.tokens, found.model) == (bare.tokens, bare.model), shape


def test_sse_comments_ids_and_multi_line_data_are_read_as_the_spec_says() -> None:
    dumped = _dump(OPENAI_STREAM[-1])
    cut = dumped.index(',"choices"')  # between two members
    text = f": keep-alive\nid: 7\nretry: 1000\ndata: {dumped[:cut]}\ndata: {dumped[cut:]}\n\ndata: [DONE]\n"
    # two data lines of one event are joined with a newline, which JSON reads as whitespace
    assert extract_usage("openai", "chat", text).tokens == extract_usage("openai", "chat", OPENAI_STREAM).tokens


@pytest.mark.parametrize(("text", "error"), [
    ("", "no JSON chunk"),
    ("data: [DONE]\n\n", "no JSON chunk"),
    ("data: {not json}\n\n", "the event at line 1: not JSON"),
    ('data: {"usage": null}\nhello\n', "line 2: neither an SSE field"),
    ('{"usage": {}}\n{oops\n', "line 2: not JSON"),
])  # fmt: skip
def test_unreadable_stream_text_is_refused_with_the_line(text: str, error: str) -> None:
    with pytest.raises(UsageError, match=error):
        extract_usage("openai", "chat", text)


def test_a_wrapper_beside_a_usage_object_is_a_response_body_not_a_stream() -> None:
    body = {"events": [{"x": 1}], "usage": {"prompt_tokens": 5, "completion_tokens": 2}}
    assert extract_usage("openai", "chat", body).tokens.input_tokens == 5


def test_an_sse_capture_goes_through_the_worker_pipeline() -> None:
    event = {"event_id": "e1", "tenant_id": "t", "occurred_at": "2026-05-01T00:00:00Z", "provider": "anthropic",
             "response": sse_typed(ANTHROPIC_STREAM)}
    message = SourceMessage(orjson.dumps(event), None, "raw", 0, 0)
    result = process_messages([message], PriceBook.load(), datetime.now(UTC))
    assert not result.dead
    (record,) = result.priced
    expected = extract_usage("anthropic", "default", ANTHROPIC_STREAM).tokens
    assert {name: getattr(record.event.tokens, name) for name in TokenUsage.model_fields} == expected.model_dump()
