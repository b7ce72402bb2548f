"""Which messages of a batch the ingest agent works on after a rebalance
(stream/ingest/agent.py ``of_this_generation``): those fetched in the consumer's current
generation, and none while a rebalance is under way, as Faust's streams skip them."""

from dataclasses import dataclass
from typing import Any

from stream.ingest.agent import ReadMessage, of_this_generation
from stream.ingest.decode import SourceMessage
from stream.ingest.pipeline import IngestResult


@dataclass
class Consumed:
    generation_id: int


class Flow:
    def __init__(self, active: bool) -> None:
        self.active = active

    def is_active(self) -> bool:
        return self.active


@dataclass
class App:
    """The two things the agent reads of Faust's app here."""

    consumer_generation_id: int
    flow_control: Flow


def read(offset: int, generation: int) -> ReadMessage:
    return ReadMessage(Consumed(generation), SourceMessage(b"{}", None, "raw", 0, offset), IngestResult())


def offsets(messages: list[ReadMessage]) -> list[int]:
    return [m.message.offset for m in messages]


def test_messages_of_an_earlier_generation_are_dropped_and_the_current_kept() -> None:
    batch = [read(10, 3), read(11, 3), read(12, 4), read(13, 4)]
    app: Any = App(4, Flow(active=True))
    assert offsets(of_this_generation(app, batch)) == [12, 13]


def test_nothing_is_worked_on_while_a_rebalance_is_under_way() -> None:
    batch = [read(10, 4), read(11, 4)]
    assert of_this_generation(App(4, Flow(active=False)), batch) == []  # type: ignore[arg-type]
    assert offsets(of_this_generation(App(4, Flow(active=True)), batch)) == [10, 11]  # type: ignore[arg-type]
