from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator

import pytest

from tests.support.emulator import Emulator, emulator_config
from tests.support.servers import free_port, serve_app, wait_until_listening
from tests.support.upstream import RecordingUpstream, recording_upstream
from trigger_emulator.app import create_app


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


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with serve_app(create_app(emulator_config())) as url:
        yield Emulator(url)


@pytest.fixture
def clean(emulator: Emulator) -> Emulator:
    emulator.reset()
    return emulator


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A real redis-server on a free loopback port, installed with apt-get if it is missing."""
    binary = shutil.which("redis-server") or _install_redis()
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_listening(port, timeout=10)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(10)


def _install_redis() -> str:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "redis-server"]):
            subprocess.run(command, check=True, capture_output=True, timeout=300, env=env)
    except (OSError, subprocess.SubprocessError) as exc:
        pytest.skip(
            f"redis-server is not installed and `apt-get install -y redis-server` failed ({exc}); "
            "install it to run the shared-limiter tests"
        )
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is still missing after apt-get install")
    return binary
