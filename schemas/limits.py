"""The limits producers can rely on: what one message and one event may hold.

Each is enforced where messages are read; whatever goes over one is a dead letter whose
reason names the field and the limit. The README's limits table states the same values
(a test checks it).

Sums: every cost column is Decimal(38, 18), below 10^20 USD. With each event's cost at
most ``MAX_EVENT_COST_USD`` (10^9), any sum of fewer than 10^11 events is exact: windows,
rollups, budget spend and reports never overflow below that (the worker's own sums use
60 significant digits, ``schemas.money.MONEY_CONTEXT``).
"""

from datetime import UTC, datetime
from decimal import Decimal

MAX_MESSAGE_BYTES = 8 * 1024 * 1024
"""One Kafka message on the raw topic (the broker's own limit must allow it: Kafka's
default ``message.max.bytes`` is 1 MiB)."""

MAX_EVENTS_PER_BATCH = 10_000
"""Events in one envelope (``{"events": [...]}``)."""

MAX_ID_CHARS = 256
"""``event_id``, ``tenant_id``, ``provider``, ``api_flavor``, ``model``."""

MAX_LABEL_CHARS = 512
"""Each attribute (feature, user_id, session_id, ...) and each tag key and value."""

MAX_TAGS_PER_EVENT = 64

MAX_TOKENS_PER_EVENT = 100_000_000
"""Each token count: larger than any context window by a wide margin; a count above it
is a producer bug (an overflowed counter, a byte count sent as tokens), not usage."""

EARLIEST_OCCURRED_AT = datetime(2000, 1, 1, tzinfo=UTC)
LATEST_OCCURRED_AT = datetime(2099, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
"""An event's ``occurred_at`` lies between these (inclusive): a time outside them is a
producer bug (a zeroed or garbled clock), and the store's DateTime64 holds 1900-2299 only."""

MAX_EVENT_COST_USD = Decimal(10) ** 9
"""An event's cost: reported (``provider_cost_usd`` or the provider's own field) or
computed from its tokens."""
