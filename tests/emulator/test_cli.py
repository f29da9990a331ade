"""The command: flags, exit statuses, the ready line, and a clean shutdown on SIGTERM and SIGINT."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from trigger_emulator.cli import build_parser, config_from_args, main
from trigger_emulator.config import DEFAULT_API_KEY, EmulatorConfig

READY = re.compile(r"^trigger-emulator: ready on (http://127\.0\.0\.1:(\d+))$")


def test_flags_map_onto_the_config() -> None:
    args = build_parser().parse_args(
        ["--host", "0.0.0.0", "--port", "0", "--db", ":memory:", "--api-key", "tr_dev_a1", "--api-key", "tr_prod_b2",
         "--simulate", "--seed", "9", "--empty", "--test-controls", "--rate-limit-max", "5", "--rate-limit-refill",
         "2", "--rate-limit-interval", "1.5", "--retry-not-found", "--tick", "0.25"]
    )  # fmt: skip
    assert config_from_args(args) == EmulatorConfig(
        host="0.0.0.0", port=0, db=":memory:", api_keys=("tr_dev_a1", "tr_prod_b2"), simulate=True, seed=9,
        empty=True, test_controls=True, rate_limit_max=5, rate_limit_refill=2, rate_limit_interval_s=1.5,
        retry_not_found=True, tick_s=0.25,
    )  # fmt: skip
    assert config_from_args(build_parser().parse_args([])) == EmulatorConfig()
    assert EmulatorConfig().api_keys == (DEFAULT_API_KEY,)


def test_help_and_bad_input_return_exit_statuses(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    assert "examples:" in capsys.readouterr().out
    assert main(["--api-key", "sk_live_123"]) == 2
    assert "does not look like a Trigger.dev secret key" in capsys.readouterr().err
    assert main(["--port", "nope"]) == 2


def test_the_default_database_lives_under_xdg_data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert EmulatorConfig().db_path == str(tmp_path / "capgate" / "trigger-emulator.db")
    assert (tmp_path / "capgate").is_dir()


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_the_process_announces_itself_and_stops_cleanly(tmp_path: Path, stop: signal.Signals) -> None:
    db = tmp_path / "emulator.db"
    process = subprocess.Popen(
        [sys.executable, "-m", "trigger_emulator", "--port", "0", "--db", str(db)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stderr is not None
        line = process.stderr.readline().rstrip("\n")
        found = READY.match(line)
        assert found, line
        request = urllib.request.Request(
            found.group(1) + "/api/v1/runs?page[size]=1", headers={"Authorization": f"Bearer {DEFAULT_API_KEY}"}
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            assert len(json.loads(response.read())["data"]) == 1
        process.send_signal(stop)
        assert process.wait(timeout=10) == 0
        assert process.stderr.read() == "" and process.stdout is not None and process.stdout.read() == ""
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert db.exists() and not Path(f"{db}-wal").exists()  # closed cleanly: the WAL was checkpointed away
