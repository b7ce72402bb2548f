"""A budget gate for gateways: refuse a call before it is made when the tenant's budget
is blocked, answered in-process from memory.

:class:`BudgetGate` materializes the worker's compacted ``llm.budget.status`` topic (read
from the beginning; the last value per budget id wins; an empty value deletes) and follows
``llm.budget.breaches`` so that a block breach counts from the moment it is published.
A background aiokafka consumer keeps the view; :meth:`BudgetGate.allowed` only reads a
dict, so it never waits on Kafka.

A budget blocks while, in its current period (``period_end`` still ahead):

- its latest status has a blocking ``state`` (``blocked`` by default), or
- a breach of a blocking ``severity`` (``block`` by default) was published after that
  status (a later status, e.g. after the limit was raised, supersedes the breach).

A status or breach of a period that has ended no longer blocks: the new period starts
from zero.
"""

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Self

from aiokafka import AIOKafkaConsumer, TopicPartition

log = logging.getLogger("costream_client.gate")

STATUS_TOPIC = "llm.budget.status"
BREACH_TOPIC = "llm.budget.breaches"


@dataclass(frozen=True, slots=True)
class Decision:
    """What :meth:`BudgetGate.allowed` answers; true when the call may go ahead."""

    allowed: bool
    tenant_id: str
    reason: str
    budget_id: str | None = None
    """The budget that blocks (None when allowed)."""
    state: str | None = None
    spend_usd: Decimal | None = None
    limit_usd: Decimal | None = None
    period_end: datetime | None = None
    """When the blocking period ends, and the block with it."""
    stale_seconds: float | None = None
    """How old the gate's view is: seconds since it last knew it had read every record
    (None before it ever had)."""

    def __bool__(self) -> bool:
        return self.allowed


@dataclass(slots=True)
class _Budget:
    budget_id: str
    tenant_id: str
    scope_attribute: str | None
    scope_value: str | None
    state: str | None = None
    status_period_end: datetime | None = None
    status_updated_at: datetime | None = None
    spend_usd: Decimal | None = None
    limit_usd: Decimal | None = None
    breach_severity: str | None = None
    breach_period_end: datetime | None = None
    breach_emitted_at: datetime | None = None
    breach_spend_usd: Decimal | None = None
    breach_limit_usd: Decimal | None = None

    def applies_to(self, attributes: Mapping[str, Any] | None) -> bool:
        if self.scope_attribute is None:
            return True
        return attributes is not None and str(attributes.get(self.scope_attribute)) == self.scope_value


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _money(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value)) if value is not None else None
    except InvalidOperation:
        return None


class GateView:
    """The gate's state, fed record by record; no I/O (what :class:`BudgetGate` fills)."""

    def __init__(self, blocking_states: Collection[str] = ("blocked",),
                 blocking_severities: Collection[str] = ("block",)) -> None:  # fmt: skip
        self.blocking_states = frozenset(blocking_states)
        self.blocking_severities = frozenset(blocking_severities)
        self.budgets: dict[str, _Budget] = {}
        self.by_tenant: dict[str, dict[str, _Budget]] = {}
        self.skipped = 0
        """Records that were not JSON objects with a budget and tenant id."""

    def _entry(self, document: Mapping[str, Any]) -> _Budget | None:
        budget_id, tenant_id = document.get("budget_id"), document.get("tenant_id")
        if not isinstance(budget_id, str) or not isinstance(tenant_id, str):
            self.skipped += 1
            return None
        scope = document.get("scope")
        if not isinstance(scope, Mapping):
            scope = {}
        attribute, value = scope.get("attribute"), scope.get("value")
        entry = self.budgets.get(budget_id)
        if entry is None or entry.tenant_id != tenant_id:
            if entry is not None:
                self._forget(budget_id)
            entry = _Budget(budget_id, tenant_id, attribute, None if value is None else str(value))
            self.budgets[budget_id] = entry
            self.by_tenant.setdefault(tenant_id, {})[budget_id] = entry
        else:
            entry.scope_attribute, entry.scope_value = attribute, None if value is None else str(value)
        return entry

    def _forget(self, budget_id: str) -> None:
        entry = self.budgets.pop(budget_id, None)
        if entry is not None:
            tenant = self.by_tenant.get(entry.tenant_id, {})
            tenant.pop(budget_id, None)
            if not tenant:
                self.by_tenant.pop(entry.tenant_id, None)

    @staticmethod
    def _decode(value: bytes) -> Mapping[str, Any] | None:
        try:
            document = json.loads(value)
        except ValueError:
            return None
        return document if isinstance(document, Mapping) else None

    def apply_status(self, key: bytes | None, value: bytes | None) -> None:
        """One record of the status topic; an empty value (tombstone) deletes the budget."""
        if not value:
            if key is not None:
                self._forget(key.decode(errors="replace"))
            return
        document = self._decode(value)
        entry = self._entry(document) if document is not None else None
        if document is None or entry is None:
            self.skipped += document is None
            return
        entry.state = str(document.get("state"))
        entry.status_period_end = _time(document.get("period_end"))
        entry.status_updated_at = _time(document.get("updated_at"))
        entry.spend_usd = _money(document.get("spend_usd"))
        entry.limit_usd = _money(document.get("limit_usd"))

    def apply_breach(self, value: bytes | None) -> None:
        """One record of the breach topic; only threshold breaches of a blocking severity
        matter (the latest one per budget)."""
        document = self._decode(value) if value else None
        if document is None:
            self.skipped += 1
            return
        if document.get("kind") != "threshold" or document.get("severity") not in self.blocking_severities:
            return
        entry = self._entry(document)
        emitted_at = _time(document.get("emitted_at"))
        if entry is None or emitted_at is None:
            return
        if entry.breach_emitted_at is not None and emitted_at < entry.breach_emitted_at:
            return
        entry.breach_severity = str(document.get("severity"))
        entry.breach_period_end = _time(document.get("period_end"))
        entry.breach_emitted_at = emitted_at
        entry.breach_spend_usd = _money(document.get("spend_usd"))
        entry.breach_limit_usd = _money(document.get("limit_usd"))

    def blocking(self, entry: _Budget, now: datetime) -> tuple[str, str, Decimal | None, Decimal | None,
                                                                datetime] | None:  # fmt: skip
        """(state, reason, spend, limit, period end) when ``entry`` blocks at ``now``."""
        status_current = entry.status_period_end is not None and entry.status_period_end > now
        breach_current = entry.breach_period_end is not None and entry.breach_period_end > now
        if breach_current and entry.breach_emitted_at is not None and (
            entry.status_updated_at is None or not status_current or entry.breach_emitted_at > entry.status_updated_at
        ):
            assert entry.breach_period_end is not None
            return ("blocked", f"budget {entry.budget_id}: {entry.breach_severity} breach, "
                    f"spent {entry.breach_spend_usd} of {entry.breach_limit_usd} USD",
                    entry.breach_spend_usd, entry.breach_limit_usd, entry.breach_period_end)  # fmt: skip
        if status_current and entry.state in self.blocking_states:
            assert entry.status_period_end is not None
            return (str(entry.state), f"budget {entry.budget_id} is {entry.state}: "
                    f"spent {entry.spend_usd} of {entry.limit_usd} USD",
                    entry.spend_usd, entry.limit_usd, entry.status_period_end)  # fmt: skip
        return None

    def decide(self, tenant_id: str, attributes: Mapping[str, Any] | None = None, now: datetime | None = None,
               stale_seconds: float | None = None) -> Decision:  # fmt: skip
        budgets = self.by_tenant.get(tenant_id)
        if not budgets:
            return Decision(True, tenant_id, "no budget of this tenant is known", stale_seconds=stale_seconds)
        moment = now or datetime.now(UTC)
        for entry in budgets.values():
            if not entry.applies_to(attributes):
                continue
            found = self.blocking(entry, moment)
            if found is not None:
                state, reason, spend, limit, period_end = found
                return Decision(False, tenant_id, reason, entry.budget_id, state, spend, limit, period_end,
                                stale_seconds)  # fmt: skip
        return Decision(True, tenant_id, "no budget of this tenant blocks", stale_seconds=stale_seconds)


class BudgetGate:
    """Answers :meth:`allowed` from a view kept current by a background consumer.

    ``fail_open``: what :meth:`allowed` answers before the gate has read both topics to
    their end once (``ready``): allow (the default, a gateway keeps serving while Kafka is
    away) or deny. ``consumer_options`` go to ``AIOKafkaConsumer`` (TLS, SASL)."""

    def __init__(
        self,
        bootstrap_servers: str,
        *,
        status_topic: str = STATUS_TOPIC,
        breach_topic: str = BREACH_TOPIC,
        blocking_states: Collection[str] = ("blocked",),
        blocking_severities: Collection[str] = ("block",),
        fail_open: bool = True,
        poll_timeout_ms: int = 100,
        freshness_check_interval: float = 0.5,
        retry_backoff: float = 1.0,
        consumer_options: Mapping[str, Any] | None = None,
    ) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.status_topic = status_topic
        self.breach_topic = breach_topic
        self.view = GateView(blocking_states, blocking_severities)
        self.fail_open = fail_open
        self.poll_timeout_ms = poll_timeout_ms
        self.freshness_check_interval = freshness_check_interval
        self.retry_backoff = retry_backoff
        self.consumer_options = dict(consumer_options or {})
        self.last_error: str | None = None
        self._current_at: float | None = None
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    # --- the caller's side ---------------------------------------------------------------
    @property
    def ready(self) -> bool:
        """True once both topics have been read to their end."""
        return self._ready.is_set()

    def staleness(self) -> float | None:
        """Seconds since the gate last confirmed it had every record (None: never)."""
        return None if self._current_at is None else time.monotonic() - self._current_at

    def allowed(self, tenant_id: str, attributes: Mapping[str, Any] | None = None,
                now: datetime | None = None) -> Decision:  # fmt: skip
        """Whether ``tenant_id`` may make a call now. A budget scoped to an attribute
        (``feature=search``) counts only when ``attributes`` carries that value; a
        whole-tenant budget always counts."""
        stale = self.staleness()
        if not self.ready:
            return Decision(self.fail_open, tenant_id, "the budget gate has not read the budget topics yet",
                            stale_seconds=stale)  # fmt: skip
        return self.view.decide(tenant_id, attributes, now, stale)

    async def start(self) -> Self:
        """Start reading in the background; returns at once, even with Kafka down."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="costream-budget-gate")
        return self

    async def wait_ready(self, timeout: float | None = None) -> bool:
        """Wait until ``ready``; False if ``timeout`` seconds ran out first."""
        try:
            await asyncio.wait_for(self._ready.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # --- the reading task ----------------------------------------------------------------
    async def _run(self) -> None:
        while True:
            consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap_servers, group_id=None,
                                        enable_auto_commit=False, **self.consumer_options)  # fmt: skip
            try:
                await consumer.start()
                await self._consume(consumer)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.last_error = f"budget gate cannot read from Kafka at {self.bootstrap_servers}: {exc}"
                log.warning("%s", self.last_error)
            finally:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(consumer.stop(), 5)
            await asyncio.sleep(self.retry_backoff)

    async def _assign(self, consumer: AIOKafkaConsumer) -> list[TopicPartition]:
        """Every partition of both topics, from the beginning."""
        assigned = [TopicPartition(topic, partition)
                    for topic in (self.status_topic, self.breach_topic)
                    for partition in sorted(consumer.partitions_for_topic(topic) or ())]  # fmt: skip
        missing = {self.status_topic, self.breach_topic} - {tp.topic for tp in assigned}
        if missing:
            # a gateway may start before the worker has created them: a new consumer, a
            # new look at the topics, after the backoff
            raise LookupError(f"topic {', '.join(sorted(missing))} does not exist yet")
        consumer.assign(assigned)
        await consumer.seek_to_beginning(*assigned)
        return assigned

    async def _consume(self, consumer: AIOKafkaConsumer) -> None:
        assigned = await self._assign(consumer)
        checked = 0.0
        while True:
            batches = await consumer.getmany(*assigned, timeout_ms=self.poll_timeout_ms)
            for tp, records in batches.items():
                for record in records:
                    if tp.topic == self.status_topic:
                        self.view.apply_status(record.key, record.value)
                    else:
                        self.view.apply_breach(record.value)
            if time.monotonic() - checked >= self.freshness_check_interval or not self.ready:
                started = time.monotonic()
                ends = await asyncio.wait_for(consumer.end_offsets(assigned), 10)
                positions = [await consumer.position(tp) for tp in assigned]
                if all(position >= ends[tp] for position, tp in zip(positions, assigned, strict=True)):
                    self._current_at = started
                    self.last_error = None
                    self._ready.set()
                checked = started
