from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.upstream import RecordingUpstream, recording_upstream


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def upstream() -> Iterator[RecordingUpstream]:
    with recording_upstream() as server:
        yield server
