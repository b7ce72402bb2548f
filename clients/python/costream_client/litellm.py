"""A LiteLLM callback: each successful call's usage, published to costream.

Install with the ``litellm`` extra (``pip install './clients/python[litellm]'``, LiteLLM
1.110.2). In the SDK::

    litellm.callbacks = [CostreamLogger(publisher, tenant_id="acme")]

On LiteLLM's proxy, the team of the API key is the tenant unless the request's metadata
names one (``costream_tenant_id``). LiteLLM hands every provider's answer back in OpenAI's
shape with input counting cache reads and writes, so the event carries canonical token
counts (``usage``) taken from LiteLLM's ``Usage``, and the provider LiteLLM called.

Publishing only queues (see the publishers): the callback never slows a call down, and
a problem with an event is logged and counted in ``failed``, never raised into LiteLLM.
Give it a :class:`~costream_client.sync.SyncPublisher` for ``litellm.completion`` (LiteLLM
runs the sync hook on a thread) and an :class:`~costream_client.AsyncPublisher` for
``litellm.acompletion`` and the proxy.
"""

import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from litellm.integrations.custom_logger import CustomLogger

from costream_client.capture import Publisher
from costream_client.events import usage_event

log = logging.getLogger("costream_client.litellm")

TenantOf = Callable[[Mapping[str, Any]], str | None]
"""Given LiteLLM's callback kwargs, the tenant of the call (None: do not publish it)."""

ATTRIBUTE_KEYS = ("feature", "agent", "operation", "session_id", "user_id", "api_key_id")


def _get(item: Any, name: str) -> Any:
    return item.get(name) if isinstance(item, Mapping) else getattr(item, name, None)


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _metadata(kwargs: Mapping[str, Any]) -> Mapping[str, Any]:
    params = kwargs.get("litellm_params")
    found = _get(params, "metadata") if params is not None else None
    if not isinstance(found, Mapping):
        found = kwargs.get("metadata")
    return found if isinstance(found, Mapping) else {}


def canonical_usage(usage: Any) -> dict[str, int]:
    """Canonical counts from LiteLLM's ``Usage``: its prompt tokens already hold cache
    reads (``prompt_tokens_details.cached_tokens``) and writes (``cache_creation_input_tokens``)."""
    prompt, details = _count(_get(usage, "prompt_tokens")), _get(usage, "prompt_tokens_details")
    completion, out_details = _count(_get(usage, "completion_tokens")), _get(usage, "completion_tokens_details")
    read = _count(_get(details, "cached_tokens")) if details is not None else 0
    write = _count(_get(usage, "cache_creation_input_tokens")) or (
        _count(_get(details, "cache_creation_tokens")) if details is not None else 0)  # fmt: skip
    reasoning = _count(_get(out_details, "reasoning_tokens")) if out_details is not None else 0
    counts = {"input_tokens": prompt, "cache_read_tokens": min(read, prompt),
              "cache_write_tokens": min(write, max(prompt - read, 0)), "output_tokens": completion,
              "reasoning_tokens": min(reasoning, completion)}  # fmt: skip
    return {name: value for name, value in counts.items() if value or name in ("input_tokens", "output_tokens")}


def proxy_tenant(default: str | None = None) -> TenantOf:
    """The tenant of a call: ``costream_tenant_id`` in the request's metadata, else the
    proxy key's team (``user_api_key_team_id``), else ``default``."""

    def tenant_of(kwargs: Mapping[str, Any]) -> str | None:
        metadata = _metadata(kwargs)
        for key in ("costream_tenant_id", "user_api_key_team_id"):
            value = metadata.get(key)
            if isinstance(value, str) and value:
                return value
        return default

    return tenant_of


def _occurred_at(end_time: Any) -> datetime:
    if isinstance(end_time, datetime):
        # LiteLLM passes local naive times; astimezone reads a naive one as local
        return end_time.astimezone(UTC)
    return datetime.now(UTC)


class CostreamLogger(CustomLogger):
    """Publishes the usage of every successful LiteLLM call through ``publisher``.

    ``tenant_id``: a fixed tenant, or a function of LiteLLM's kwargs (default:
    :func:`proxy_tenant`). Attributes come from the request's metadata
    (``costream_feature``, ``costream_agent``, ... or ``feature``, ...), the proxy key's
    user (``user_api_key_user_id``) and the call (``request_id`` = the response id,
    ``latency_ms``)."""

    def __init__(self, publisher: Publisher, tenant_id: str | TenantOf | None = None,
                 attributes: Mapping[str, Any] | None = None, **kwargs: Any) -> None:  # fmt: skip
        super().__init__(**kwargs)
        self.publisher = publisher
        self.tenant_of: TenantOf = (lambda _: tenant_id) if isinstance(tenant_id, str) else (
            tenant_id or proxy_tenant())  # fmt: skip
        self.attributes = dict(attributes or {})
        self.published = 0
        self.skipped = 0
        """Calls without a tenant or without usage."""
        self.failed = 0
        """Calls whose event could not be built or was refused (logged)."""

    def event(self, kwargs: Mapping[str, Any], response_obj: Any, start_time: Any, end_time: Any,
              ) -> dict[str, Any] | None:  # fmt: skip
        """The raw usage event of one call (None when there is no tenant or no usage)."""
        tenant = self.tenant_of(kwargs)
        usage = _get(response_obj, "usage")
        if not tenant or usage is None:
            return None
        params = kwargs.get("litellm_params")
        provider = _get(params, "custom_llm_provider") if params is not None else None
        provider = provider or kwargs.get("custom_llm_provider") or "openai"
        model = _get(response_obj, "model") or kwargs.get("model")
        metadata = _metadata(kwargs)
        attributes: dict[str, Any] = dict(self.attributes)
        for key in ATTRIBUTE_KEYS:
            value = metadata.get(f"costream_{key}", metadata.get(key))
            if isinstance(value, str) and value:
                attributes[key] = value
        user = metadata.get("user_api_key_user_id") or kwargs.get("user")
        if isinstance(user, str) and user and "user_id" not in attributes:
            attributes["user_id"] = user
        request_id = _get(response_obj, "id")
        if isinstance(request_id, str) and request_id:
            attributes["request_id"] = request_id
        if isinstance(start_time, datetime) and isinstance(end_time, datetime) and end_time >= start_time:
            attributes["latency_ms"] = int((end_time - start_time).total_seconds() * 1000)
        call_id = kwargs.get("litellm_call_id")
        return usage_event(tenant, str(provider), str(model) if model else None, usage=canonical_usage(usage),
                           event_id=call_id if isinstance(call_id, str) and call_id else None,
                           occurred_at=_occurred_at(end_time), attributes=attributes)  # fmt: skip

    def _publish(self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any) -> None:
        try:
            event = self.event(kwargs, response_obj, start_time, end_time)
            if event is None:
                self.skipped += 1
                return
            self.publisher.publish(event)
            self.published += 1
        except Exception:
            self.failed += 1
            log.exception("costream: cannot publish the usage of a LiteLLM call")

    def log_success_event(self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any) -> None:
        self._publish(kwargs, response_obj, start_time, end_time)

    async def async_log_success_event(self, kwargs: Any, response_obj: Any, start_time: Any, end_time: Any,
                                      ) -> None:  # fmt: skip
        self._publish(kwargs, response_obj, start_time, end_time)
