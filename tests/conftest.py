from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.upstream import RecordingUpstream, recording_upstream


@pytest.fixture(scope="session", autouse=True)
def private_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Audit logs and emulator databases of the tests go to a temporary folder, not the user's data folder."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("data")))
        yield


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def upstream() -> Iterator[RecordingUpstream]:
    with recording_upstream() as server:
        yield server
