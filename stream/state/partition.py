"""The state of one raw-topic partition, and its checkpoint form (pure)."""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from stream.budgets.running import RunningSpend, SpendKey, spend_from_json, spend_to_json
from stream.windows.state import Window, WindowKey, window_from_json, window_to_json


@dataclass(slots=True)
class PartitionState:
    partition: int
    offset: int = -1
    """Highest raw-topic offset whose events are in this state."""
    max_event_time: datetime | None = None
    windows: dict[WindowKey, Window] = field(default_factory=dict)
    dirty: set[WindowKey] = field(default_factory=set)
    """Windows changed since they were last emitted."""
    spend: dict[SpendKey, RunningSpend] = field(default_factory=dict)
    changed: bool = False
    """Changed since the last checkpoint."""


def to_checkpoint(state: PartitionState) -> bytes:
    return orjson.dumps({
        "offset": state.offset,
        "max_event_time": state.max_event_time.isoformat() if state.max_event_time else None,
        "windows": [window_to_json(window) for window in state.windows.values()],
        "dirty": [[tenant, start.isoformat()] for tenant, start in sorted(state.dirty)],
        "spend": [spend_to_json(key, value) for key, value in state.spend.items()],
    })


def from_checkpoint(partition: int, payload: bytes, with_windows: bool) -> PartitionState:
    """``with_windows`` False: the window settings changed since it was written, so its
    windows do not apply (they are recomputed from the store when touched)."""
    data: dict[str, Any] = orjson.loads(payload)
    state = PartitionState(partition, int(data["offset"]))
    if data["max_event_time"]:
        state.max_event_time = datetime.fromisoformat(data["max_event_time"])
    if with_windows:
        for item in data["windows"]:
            window = window_from_json(item)
            state.windows[(window.tenant_id, window.start)] = window
        state.dirty = {(tenant, datetime.fromisoformat(start)) for tenant, start in data["dirty"]} & set(state.windows)
    for item in data["spend"]:
        key, value = spend_from_json(item)
        state.spend[key] = value
    return state
