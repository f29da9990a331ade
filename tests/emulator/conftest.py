from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.emulator.client import Api, running


@pytest.fixture
def api() -> Iterator[Api]:
    """A fresh emulator for a test that changes state."""
    with running() as server:
        yield server


@pytest.fixture(scope="module")
def shared() -> Iterator[Api]:
    """One emulator per module, for tests that only read."""
    with running() as server:
        yield server
