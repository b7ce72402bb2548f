"""Capture usage from the official SDKs' responses: wrap a response, or a stream, and its
usage is published with the tenant and attributes (a stream once, when it ends).

The provider's own JSON is sent as it came (``model_dump`` of the SDK's type), so the
worker reads it with the same code as any other producer's. OpenAI streams carry usage
only when asked: pass ``stream_options={"include_usage": True}``.
"""

from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any, Protocol

from costream_client.events import usage_event


class Publisher(Protocol):
    def publish(self, event: Mapping[str, Any]) -> bool: ...


def _dump(item: Any) -> Any:
    dump = getattr(item, "model_dump", None)
    return dump(mode="json", exclude_none=True) if callable(dump) else item


def _openai_flavor(first: Mapping[str, Any]) -> str:
    kind = str(first.get("object") or first.get("type") or "")
    return "chat" if kind.startswith("chat.completion") else "responses"


def _model(dumps: list[Any]) -> str | None:
    for item in dumps:
        if isinstance(item, Mapping):
            model = item.get("model") or (item.get("message") or {}).get("model") \
                or (item.get("response") or {}).get("model") or item.get("model_version")
            if model:
                return str(model)
    return None


def _publish(publisher: Publisher, provider: str, tenant_id: str, body: Any, attributes: Mapping[str, Any] | None,
             model: str | None = None, flavor: str | None = None) -> None:  # fmt: skip
    items = body if isinstance(body, list) else [body]
    if flavor is None:
        flavor = _openai_flavor(items[0]) if provider == "openai" and items and isinstance(items[0], Mapping) \
            else "default"
    publisher.publish(usage_event(tenant_id, provider, model or _model(items), response=body, api_flavor=flavor,
                                  attributes=attributes))  # fmt: skip


class CapturedStream:
    """Iterates the SDK's stream as it is; publishes the collected chunks once at the end
    (or when closed early, with what was received)."""

    def __init__(self, stream: Any, publisher: Publisher, provider: str, tenant_id: str,
                 attributes: Mapping[str, Any] | None, model: str | None = None,
                 flavor: str | None = None) -> None:  # fmt: skip
        self.model = model
        self.flavor = flavor
        self.stream = stream
        self.publisher = publisher
        self.provider = provider
        self.tenant_id = tenant_id
        self.attributes = attributes
        self.chunks: list[Any] = []
        self.published = False

    def _finish(self) -> None:
        if not self.published and self.chunks:
            self.published = True
            _publish(self.publisher, self.provider, self.tenant_id, self.chunks, self.attributes, self.model,
                     self.flavor)  # fmt: skip

    def __iter__(self) -> Iterator[Any]:
        try:
            for chunk in self.stream:
                self.chunks.append(_dump(chunk))
                yield chunk
        finally:
            self._finish()

    async def __aiter__(self) -> AsyncIterator[Any]:
        try:
            async for chunk in self.stream:
                self.chunks.append(_dump(chunk))
                yield chunk
        finally:
            self._finish()

    def close(self) -> None:
        self._finish()
        close = getattr(self.stream, "close", None)
        if callable(close):
            close()


def _capture(provider: str, response: Any, publisher: Publisher, tenant_id: str,
             attributes: Mapping[str, Any] | None) -> Any:  # fmt: skip
    if hasattr(response, "model_dump"):
        _publish(publisher, provider, tenant_id, _dump(response), attributes)
        return response
    return CapturedStream(response, publisher, provider, tenant_id, attributes)


def capture_openai(response: Any, publisher: Publisher, tenant_id: str,
                   attributes: Mapping[str, Any] | None = None) -> Any:  # fmt: skip
    """A Chat Completions or Responses result (returned as is), or a stream (returned
    wrapped: iterate it as before)."""
    return _capture("openai", response, publisher, tenant_id, attributes)


def capture_google(response: Any, publisher: Publisher, tenant_id: str,
                   attributes: Mapping[str, Any] | None = None) -> Any:  # fmt: skip
    """A google-genai ``GenerateContentResponse`` (returned as is), or the iterator
    ``generate_content_stream`` returns (wrapped): its last chunk's usage is the call's."""
    return _capture("google", response, publisher, tenant_id, attributes)


def capture_anthropic(response: Any, publisher: Publisher, tenant_id: str,
                      attributes: Mapping[str, Any] | None = None) -> Any:  # fmt: skip
    """A ``Message`` (returned as is), or a ``stream=True`` event stream (wrapped)."""
    return _capture("anthropic", response, publisher, tenant_id, attributes)


def capture_bedrock(response: Mapping[str, Any], publisher: Publisher, tenant_id: str, model_id: str,
                    attributes: Mapping[str, Any] | None = None) -> Any:  # fmt: skip
    """What boto3's ``bedrock-runtime`` ``converse`` returns (returned as is), or what
    ``converse_stream`` returns: the same dict with its ``stream`` wrapped (iterate it as
    before; the final ``metadata`` event carries the usage). Converse responses do not
    name the model: pass the ``modelId`` the call used."""
    if "stream" in response:
        wrapped = CapturedStream(response["stream"], publisher, "aws", tenant_id, attributes, model_id, "converse")
        return {**response, "stream": wrapped}
    body = {key: value for key, value in response.items() if key != "ResponseMetadata"}
    _publish(publisher, "aws", tenant_id, body, attributes, model_id, "converse")
    return response
