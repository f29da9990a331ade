"""What a newcomer meets in the first hour, through the real `capgate` command: a closed pipe, a binary file, a
directory, a misspelled key, an unclosed quote, an 80-column terminal. No traceback, and every message says
what is wrong, where, and what to do."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import orjson
import pytest

from capgate.document.bundled import bundled_documents
from tests.support.bombs import BOMBS
from tests.support.cli import CAPGATE, capgate, capgate_into_a_closed_pipe, cli_env
from tests.support.terminal import run_in_terminal
from tests.support.upstream import RecordingUpstream

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
SEED = bundled_documents()["trigger-dev-runs-seed"]


def no_traceback(text: str) -> bool:
    return "Traceback" not in text and "Exception ignored" not in text and "Error:" not in text


@pytest.mark.parametrize(
    "args",
    [
        ["mcp-config"],
        ["openapi"],
        ["tools"],
        ["validate", "--strict", "trigger-dev-runs-seed"],
        ["audit", "--file", "AUDIT"],
    ],
    ids=lambda args: args[0],
)
def test_a_closed_pipe_is_a_quiet_exit_141(args: list[str], tmp_path: Path) -> None:
    audit = tmp_path / "audit.jsonl"
    audit.write_bytes(b"".join(orjson.dumps({"time": "t", "operation": f"op{n}"}) + b"\n" for n in range(500)))
    result = capgate_into_a_closed_pipe(*[str(audit) if arg == "AUDIT" else arg for arg in args])
    assert result.returncode == 141, result.stderr
    assert no_traceback(result.stderr), result.stderr
    if args[0] != "validate":  # validate's summary goes to stderr whatever happens to stdout
        assert result.stderr == ""


def test_a_closed_pipe_after_a_call_is_quiet(upstream: RecordingUpstream) -> None:
    upstream.reply(200, {"data": [{"id": f"run_{n:025d}"} for n in range(200)], "pagination": {}})
    result = capgate_into_a_closed_pipe("call", "list-runs", "--base-uri", f"management-runs={upstream.url}")
    assert result.returncode == 141 and result.stderr == ""


@pytest.mark.parametrize("command", ["validate", "serve"])
def test_a_binary_file_is_named_as_one_not_a_traceback(command: str, tmp_path: Path) -> None:
    path = tmp_path / "logo.png"
    path.write_bytes(BOMBS["a PNG"][0])
    result = capgate(command, str(path), *(["--rest-port", "0", "--mcp-port", "0"] if command == "serve" else []))
    assert no_traceback(result.stderr), result.stderr
    message = f"{path}:1: (document): this is a binary file, not text: byte 0x89 at column 1 is not UTF-8"
    if command == "validate":
        assert result.returncode == 1 and result.stdout.startswith(message)
        assert result.stderr == f"{path}: 1 error, 0 warnings\n"
    else:
        assert result.returncode == 2 and f"capgate: the document has 1 error:\n{message}" in result.stderr


def test_a_folder_without_documents_and_a_missing_file_say_which_and_validate_does_not_speak_of_serving(
    tmp_path: Path,
) -> None:
    (tmp_path / "notes.txt").write_text("naftiko: 1.0.0-alpha2\n")
    result = capgate("validate", str(tmp_path))  # a folder stands for the documents in it: here, none
    assert result.returncode == 2
    assert (
        result.stderr == f"capgate: {tmp_path}: this folder holds no document (*.yaml or *.yml); name the documents\n"
    )
    result = capgate("validate", str(tmp_path / "nothing.yaml"))
    assert result.returncode == 2 and "served" not in result.stderr
    assert result.stderr.startswith(f"capgate: {tmp_path / 'nothing.yaml'}: no such file, and not a bundled document")


def test_a_misspelled_key_is_named_with_the_key_it_should_be(tmp_path: Path) -> None:
    text = SEED.read_text().replace("    baseUri: https://api.trigger.dev\n", "    baseUrl: https://api.trigger.dev\n")
    text = text.replace(
        "          description: Runs per page\n", "          description: Runs per page\n          minimun: 1\n"
    )
    path = tmp_path / "doc.yaml"
    path.write_text(text)
    result = capgate("validate", str(path))
    lines = text.splitlines()
    base = next(n for n, line in enumerate(lines, 1) if "baseUrl" in line)
    # An error where the format forbids other keys: the "baseUri is required" it causes is the same fault.
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        f"{path}:{base}: capability.consumes[0].baseUrl: unknown field 'baseUrl'; did you mean 'baseUri', which is "
        "required?"
    ]
    path.write_text(text.replace("baseUrl", "baseUri"))
    result = capgate("validate", str(path))
    minimum = next(n for n, line in enumerate(lines, 1) if "minimun" in line)
    # A warning on a parameter, which may carry any JSON-Schema keyword: it is ignored, and says so.
    assert result.returncode == 0, result.stdout
    assert (
        f"{path}:{minimum}: capability.consumes[0].resources[0].operations[0].inputParameters[6].minimun: warning: "
        "unknown field 'minimun'; did you mean 'minimum'?"
    ) in result.stdout


def test_an_unclosed_quote_is_reported_where_it_opens(tmp_path: Path) -> None:
    text = SEED.read_text().replace("  created: '2026-05-19'\n", "  created: '2026-05-19\n")
    path = tmp_path / "doc.yaml"
    path.write_text(text)
    result = capgate("validate", str(path))
    opened = next(n for n, line in enumerate(text.splitlines(), 1) if line == "  created: '2026-05-19")
    assert result.returncode == 1
    assert result.stdout.startswith(
        f"{path}:{opened}: (document): YAML syntax error: the quoted value that starts on this line ends on line "
        f"{opened + 1}, where it meets the next quote; is its closing quote missing?"
    )
    assert result.stderr == f"{path}: 1 error, 0 warnings\n"  # the summary, even when nothing could be read


def test_the_summary_is_always_on_stderr() -> None:
    result = capgate("validate", "trigger-dev-runs")
    assert result.returncode == 0 and result.stdout == ""
    assert result.stderr == f"{bundled_documents()['trigger-dev-runs']} (naftiko 1.0.0-alpha2): 0 errors, 0 warnings\n"


def listed_run(n: int) -> dict[str, Any]:
    return {
        "id": f"run_cm{n}abcdefghijklmnopqrstuvw",  # 29 characters, as live ids are
        "taskIdentifier": "send-welcome-email",
        "status": "COMPLETED",
        "createdAt": "2026-11-28T20:36:30.995Z",
        "durationMs": 1234,
        "tags": ["campaign:onboarding-2026-winter", "locale:en-GB"],
    }


def test_in_80_columns_call_never_cuts_an_id_and_names_what_it_left_out(upstream: RecordingUpstream) -> None:
    page = {"data": [listed_run(n) for n in range(3)], "pagination": {"next": "cursor-of-the-next-page-0123456789"}}
    upstream.reply(200, page)
    argv = [*CAPGATE, "call", "list-runs", "--base-uri", f"management-runs={upstream.url}"]
    shown = run_in_terminal(argv, env=cli_env(COLUMNS="80"), columns=80)
    assert shown.returncode == 0, shown.output
    lines = ANSI.sub("", shown.output).splitlines()
    assert all(len(line) <= 80 for line in lines), lines
    for run in page["data"]:
        assert any(line.startswith(run["id"] + " ") for line in lines), lines  # whole, so it can be copied
    assert lines[0].split() == ["id", "task", "status", "created"]
    assert lines[1].split() == [page["data"][0]["id"], "send-welcome-email", "COMPLETED", "2026-11-28", "20:36…"]
    assert lines[4] == "(not shown: duration, tags; --wide or --json shows them)"
    assert lines[5] == "3 items; more with --all, or page.after=cursor-of-the-next-page-0123456789"
    upstream.reply(200, page)
    wide = ANSI.sub("", run_in_terminal([*argv, "--wide"], env=cli_env(COLUMNS="80"), columns=80).output)
    assert "campaign:onboarding-2026-winter, locale:en-GB" in wide and "not shown" not in wide


def test_in_80_columns_a_retrieved_run_keeps_its_ids_whole(upstream: RecordingUpstream) -> None:
    run = listed_run(7) | {"batchId": "batch_" + "x" * 70, "payload": {"text": "y" * 200}}
    upstream.reply(200, run)
    argv = [*CAPGATE, "call", "retrieve-run", "runId=run_cm7abcdefghijklmnopqrstuvw", "--base-uri"]
    shown = run_in_terminal([*argv, f"management-runs={upstream.url}"], env=cli_env(COLUMNS="80"), columns=80)
    lines = ANSI.sub("", shown.output).splitlines()
    assert f"batchId         {run['batchId']}" in lines  # longer than the window, and whole all the same
    payload = next(line for line in lines if line.startswith("payload"))
    assert len(payload) == 80 and payload.endswith("…")  # anything else is cut to fit
