from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.stack import Stack


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The embedded stack, started once for the whole session."""
    root: Path = tmp_path_factory.mktemp("stack")
    running = Stack(root).start()
    try:
        yield running
    finally:
        running.close()
