"""Publishing demo events from inside the worker, so ``up --demo`` is one process."""

import random

import faust
import orjson

from stream.demo.events import broken_event, demo_events


def register_demo_publisher(app: faust.App, raw_topic: faust.TopicT, events_per_second: int = 40) -> None:
    rng = random.Random()  # new event ids every run: a restart on the same data is new traffic, not repeats
    events = demo_events(rng)

    @app.timer(1.0, name="costream.demo")  # type: ignore[untyped-decorator]
    async def publish_demo_events() -> None:
        for _ in range(events_per_second // 2):
            event = next(events)
            await raw_topic.send(key=event["tenant_id"].encode(), value=orjson.dumps(event))
        batch = [next(events) for _ in range(events_per_second // 2)]
        tenant = batch[0]["tenant_id"]
        for event in batch:
            event["tenant_id"] = tenant
        await raw_topic.send(key=tenant.encode(), value=orjson.dumps({"events": batch}))
        if rng.random() < 0.2:
            await raw_topic.send(key=b"acme", value=broken_event(rng))
