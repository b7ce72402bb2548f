"""The bare Faust ceiling: an agent that only decodes each message (orjson) and counts
its events, on the same broker and data as costream. Run as its own process:

    python -m bench.bare_faust BOOTSTRAP TOPIC EVENTS RESULT_FILE

It writes the seconds from the first message to the last event into RESULT_FILE.
"""

import os
import sys
import time
from pathlib import Path

import faust
import orjson


def main(bootstrap: str, topic_name: str, expected: int, result: Path) -> None:
    app = faust.App(
        f"bare-{topic_name}", broker=f"kafka://{bootstrap}", store="memory://", autodiscover=False,
        consumer_auto_offset_reset="earliest", broker_session_timeout=10.0, web_enabled=False,
        datadir=str(result.parent / f"faust-{topic_name}"),
    )
    topic = app.topic(topic_name, value_type=bytes, value_serializer="raw")
    seen = 0
    first = 0.0

    @app.agent(topic)
    async def decode(stream: faust.StreamT[bytes]) -> None:
        nonlocal seen, first
        async for value in stream:
            if not first:
                first = time.perf_counter()
            document = orjson.loads(value)
            seen += len(document["events"]) if isinstance(document, dict) and "events" in document else 1
            if seen >= expected:
                result.write_text(str(time.perf_counter() - first))
                os._exit(0)  # measured; a clean Faust shutdown would only add waiting

    app.main()  # type: ignore[no-untyped-call]


if __name__ == "__main__":
    sys.argv, args = [*sys.argv[:1], "worker", "-l", "warn"], sys.argv[1:]
    main(args[0], args[1], int(args[2]), Path(args[3]))
