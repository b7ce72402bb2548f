"""The shapes a streamed response arrives in, made one list of chunks or events.

Gateways capture a stream in several ways; each becomes the list the shape modules read:

- a bare list of chunks or events (as the SDKs yield them);
- an object wrapping that list, ``{"chunks": [...]}`` or ``{"events": [...]}`` (with no
  usage object of its own beside it);
- the raw server-sent-events text, ``data: {...}`` lines (with ``event:``, ``id:`` and
  comment lines, blank lines between events, and OpenAI's ``data: [DONE]``);
- JSON Lines text, one chunk per line.

Bedrock's ConverseStream names each event in its ``event:`` line (``metadata``,
``messageStop``...) and sends the event's body as data; such an event is put back under
its name, as the SDK's event list has it. Anthropic and OpenAI Responses repeat the event
name inside the data (``type``), so their ``event:`` lines add nothing.
"""

from typing import Any

import orjson

from stream.canonical.errors import UsageError

WRAPPERS = ("chunks", "events")
BEDROCK_EVENTS = frozenset({
    "messageStart", "contentBlockStart", "contentBlockDelta", "contentBlockStop", "messageStop", "metadata",
})  # fmt: skip
_USAGE_KEYS = ("usage", "usageMetadata", "usage_metadata")
_SSE_FIELDS = ("data:", "event:", "id:", "retry:", ":")


def stream_items(response: Any) -> Any:
    """The response as the shape modules read it: a captured stream becomes its list;
    anything else is returned as it is."""
    if type(response) is str:
        return _from_text(response)
    if type(response) is dict and not any(key in response for key in _USAGE_KEYS):
        for key in WRAPPERS:
            if type(response.get(key)) is list:
                return response[key]
    return response


def _json(text: str, where: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise UsageError("response", f"{where}: not JSON ({exc})"[:300]) from None


def _from_text(text: str) -> list[Any]:
    lines = text.splitlines()
    sse = any(line.startswith(_SSE_FIELDS) for line in lines)
    items: list[Any] = []
    if not sse:
        for number, line in enumerate(lines, 1):
            if line.strip():
                items.append(_json(line, f"line {number}"))
    else:
        event: str | None = None
        data: list[str] = []
        start = 0

        def flush() -> None:
            nonlocal event, data
            payload = "\n".join(data)
            if data and payload.strip() != "[DONE]":
                item = _json(payload, f"the event at line {start}")
                if event in BEDROCK_EVENTS and type(item) is dict and event not in item:
                    item = {event: item}
                items.append(item)
            event, data = None, []

        for number, line in enumerate(lines, 1):
            if not line.strip():
                flush()
            elif line.startswith("data:"):
                if not data:
                    start = number
                data.append(line[5:].removeprefix(" "))
            elif line.startswith("event:"):
                if data:  # an event line right after data, without a blank line: a new event
                    flush()
                event = line[6:].strip()
            elif line.startswith(("id:", "retry:", ":")):
                continue
            else:
                raise UsageError("response", f"line {number}: neither an SSE field (data:, event:) nor blank")
        flush()
    if not items:
        raise UsageError("response", "a stream as text with no JSON chunk in it (SSE data: lines or JSON Lines)")
    return items
