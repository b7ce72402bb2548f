"""The open windows a worker holds, updated per new event (pure).

A window is a tenant's tumbling window; inside it, one :class:`Group` per provider,
model and configured dimensions, holding the sums of :data:`stream.store.rows.MEASURES`.
When a window already has ``max_groups`` groups, a new group's usage joins the ``other``
group of its provider and model, so state stays bounded and cost by provider or model
stays exact at any grouping.

``version`` counts the changes applied to a window (events, repairs) and is carried from
the stored windows when a window is loaded: it grows whichever worker holds the window,
and the same events give the same version after a replay.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from operator import attrgetter
from typing import Any

from schemas import PricedUsageEvent
from schemas.windows import WindowAggregate
from stream.store.rows import MEASURE_NAMES, MEASURES, MONEY_MEASURES
from stream.windows.keys import group_key, window_end, window_id

OTHER = "other"
WindowKey = tuple[str, datetime]
_OF_EVENTS = tuple(measure.of_events for measure in MEASURES)
_occurred_at = attrgetter("occurred_at")
_MONEY_INDEX = frozenset(i for i, name in enumerate(MEASURE_NAMES) if name in MONEY_MEASURES)


def zero_sums() -> list[Any]:
    return [measure.zero for measure in MEASURES]


@lru_cache(maxsize=65_536)
def cached_group_key(provider: str, model: str, dimensions: tuple[tuple[str, str], ...]) -> str:
    return group_key(provider, model, dict(dimensions))


@dataclass(slots=True)
class Group:
    provider: str
    model: str
    dimensions: dict[str, str]
    sums: list[Any]
    first_event_at: datetime
    last_event_at: datetime

    def add(self, events: Sequence[PricedUsageEvent]) -> None:
        """Add a run of events (each measure summed over the run at once)."""
        self.sums = [total + of_events(events) for total, of_events in zip(self.sums, _OF_EVENTS, strict=True)]
        times = list(map(_occurred_at, events))
        self.first_event_at = min(self.first_event_at, min(times))
        self.last_event_at = max(self.last_event_at, max(times))

    def merge(self, other: "Group") -> None:
        self.sums = [a + b for a, b in zip(self.sums, other.sums, strict=True)]
        self.first_event_at = min(self.first_event_at, other.first_event_at)
        self.last_event_at = max(self.last_event_at, other.last_event_at)


GroupIdentity = tuple[str, str, dict[str, str]]
"""A group's provider, model and dimension values."""


@dataclass(slots=True)
class Window:
    tenant_id: str
    start: datetime
    groups: dict[str, Group] = field(default_factory=dict)
    version: int = 0
    emitted: dict[str, GroupIdentity] = field(default_factory=dict)
    """Groups of the last emitted version: one that is gone is emitted again at zero."""

    def totals(self) -> list[Any]:
        sums = zero_sums()
        for group in self.groups.values():
            sums = [a + b for a, b in zip(sums, group.sums, strict=True)]
        return sums


def event_group(event: PricedUsageEvent, dimensions: Sequence[str]) -> GroupIdentity:
    attributes = event.attributes
    values: dict[str, str] = {}
    for name in dimensions:
        if name.startswith("tags."):
            values[name] = attributes.tags.get(name[5:], "")
        else:
            values[name] = getattr(attributes, name) or ""
    return event.provider, event.resolved_model or event.model, values


def other_key(provider: str, model: str, dimensions: Iterable[str]) -> tuple[str, dict[str, str]]:
    dims = {name: OTHER for name in dimensions}
    return cached_group_key(provider, model, tuple(sorted(dims.items()))), dims


def group_for(window: Window, event: PricedUsageEvent, dimensions: Sequence[str], max_groups: int) -> Group:
    """The group of ``window`` that ``event`` counts in, created if the window has room
    for it, else the ``other`` group of its provider and model. The caller adds the event
    (:meth:`Group.add`) and counts it in ``window.version``."""
    provider, model, dims = event_group(event, dimensions)
    key = cached_group_key(provider, model, tuple(sorted(dims.items())))
    group = window.groups.get(key)
    if group is None:
        if len(window.groups) >= max_groups:
            key, dims = other_key(provider, model, dimensions)
            group = window.groups.get(key)
        if group is None:
            group = Group(provider, model, dims, zero_sums(), event.occurred_at, event.occurred_at)
            window.groups[key] = group
    return group


def fold_groups(groups: Mapping[str, Group], max_groups: int, dimensions: Sequence[str]) -> dict[str, Group]:
    """Keep the ``max_groups`` biggest groups, fold the rest into the ``other`` group of
    their provider and model (deterministic: by cost, then requests, then key)."""
    if len(groups) <= max_groups:
        return dict(groups)
    total_cost = MEASURE_NAMES.index("total_cost")
    requests = MEASURE_NAMES.index("requests")
    ranked = sorted(groups.items(), key=lambda item: (-item[1].sums[total_cost], -item[1].sums[requests], item[0]))
    kept = dict(ranked[: max_groups - 1])
    for _, group in ranked[max_groups - 1 :]:
        key, dims = other_key(group.provider, group.model, dimensions)
        target = kept.get(key)
        if target is None:
            kept[key] = Group(group.provider, group.model, dims, list(group.sums), group.first_event_at,
                              group.last_event_at)
        else:
            target.merge(group)
    return kept


def aggregates(
    window: Window, size_seconds: int, partial: bool, emitted_at: datetime
) -> list[WindowAggregate]:
    """The window's current rows (and zeroed rows for groups it no longer has)."""
    end = window_end(window.start, size_seconds)
    identity = window_id(window.tenant_id, window.start, size_seconds)
    common: dict[str, Any] = {
        "window_id": identity, "tenant_id": window.tenant_id, "window_start": window.start, "window_end": end,
        "window_seconds": size_seconds, "partial": partial, "version": window.version, "emitted_at": emitted_at,
    }  # fmt: skip
    out = [
        WindowAggregate.model_construct(
            **common, group_key=key, provider=group.provider, model=group.model, dimensions=group.dimensions,
            first_event_at=group.first_event_at, last_event_at=group.last_event_at,
            **dict(zip(MEASURE_NAMES, group.sums, strict=True)),
        )
        for key, group in sorted(window.groups.items())
    ]
    for gone in sorted(window.emitted.keys() - window.groups.keys()):
        provider, model, dims = window.emitted[gone]
        out.append(WindowAggregate.model_construct(
            **common, group_key=gone, provider=provider, model=model, dimensions=dims,
            first_event_at=window.start, last_event_at=window.start,
            **dict(zip(MEASURE_NAMES, zero_sums(), strict=True)),
        ))
    window.emitted = {key: (g.provider, g.model, g.dimensions) for key, g in window.groups.items()}
    return out


# --- checkpoint form ------------------------------------------------------------------------
def _money(value: Any) -> Any:
    return format(value, "f") if isinstance(value, Decimal) else value


def window_to_json(window: Window) -> dict[str, Any]:
    return {
        "tenant": window.tenant_id, "start": window.start.isoformat(), "version": window.version,
        "groups": [
            [key, g.provider, g.model, g.dimensions, [_money(v) for v in g.sums], g.first_event_at.isoformat(),
             g.last_event_at.isoformat()]
            for key, g in window.groups.items()
        ],
        "emitted": [[key, *value] for key, value in window.emitted.items()],
    }  # fmt: skip


def window_from_json(data: Mapping[str, Any]) -> Window:
    groups = {
        key: Group(provider, model, dict(dims),
                   [Decimal(v) if i in _MONEY_INDEX else int(v) for i, v in enumerate(sums)],
                   datetime.fromisoformat(first), datetime.fromisoformat(last))
        for key, provider, model, dims, sums, first, last in data["groups"]
    }  # fmt: skip
    emitted = {key: (provider, model, dict(dims)) for key, provider, model, dims in data["emitted"]}
    return Window(data["tenant"], datetime.fromisoformat(data["start"]), groups, int(data["version"]), emitted)


def groups_from_rows(rows: Iterable[Mapping[str, Any]]) -> dict[str, Group]:
    """Groups as :func:`stream.windows.compute.rows_to_groups` reads them from the store."""
    return {
        row["group_key"]: Group(row["provider"], row["model"], dict(row["dimensions"]),
                                [row[name] for name in MEASURE_NAMES], row["first_event_at"], row["last_event_at"])
        for row in rows
    }  # fmt: skip
