"""costream's producer library: publish LLM usage events to costream's raw topic.

Light to install: aiokafka and jsonschema (plus confluent-kafka for the sync publisher,
the provider SDKs for capture): no chDB, Faust or ClickHouse driver.
"""

from costream_client.aio import AsyncPublisher
from costream_client.buffer import PublisherMetrics
from costream_client.events import encode_event, usage_event
from costream_client.validation import EventError, event_errors, validate_event

__all__ = ["AsyncPublisher", "EventError", "PublisherMetrics", "encode_event", "event_errors", "usage_event",
           "validate_event"]
__version__ = "0.1.0"
