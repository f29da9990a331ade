"""The audit log's writer thread: each line on disk before its append returns, group commit, a close that
drains everything and stops the thread, a full disk that goes to the error log without blocking the call.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
from pathlib import Path

import orjson
import pytest

from capgate.observe.audit import AuditLog
from capgate.observe.audit_rows import read_rows
from capgate.observe.records import CallRecord

pytestmark = pytest.mark.anyio


class _Mutating:
    """Stands for an `Operation` that changes something: what `AuditLog.watch` reads of one."""

    method = "POST"
    parameters = [type("Path", (), {"key": "id", "location": "path"})()]


def _writers() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == "capgate-audit"]


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines()


async def test_each_append_is_in_the_file_when_it_returns(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.jsonl")
    log.open()
    try:
        for index in range(20):
            await log.append({"n": index})
            assert orjson.loads(_lines(log.path)[-1]) == {"n": index}
    finally:
        await log.close()


async def test_concurrent_appends_share_writes_and_keep_each_callers_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = AuditLog(tmp_path / "audit.jsonl")
    writes: list[bytes] = []
    write = log._file.append

    def counted(data: bytes) -> None:
        writes.append(data)
        write(data)

    monkeypatch.setattr(log._file, "append", counted)
    log.open()
    callers, each = 40, 10

    async def caller(name: int) -> None:
        for step in range(each):
            await log.append({"caller": name, "step": step})

    try:
        await asyncio.gather(*(caller(name) for name in range(callers)))
    finally:
        await log.close()
    entries = list(read_rows(log.path))
    assert len(entries) == callers * each
    for name in range(callers):
        assert [e["step"] for e in entries if e["caller"] == name] == list(range(each))
    batches = [data for data in writes if data]
    assert len(batches) < callers * each  # group commit: one write and fsync for many lines
    assert max(data.count(b"\n") for data in batches) > 1


async def test_close_drains_every_append_and_stops_the_writer(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.jsonl")
    log.open()
    assert len(_writers()) == 1
    pending = [asyncio.create_task(log.append({"n": index})) for index in range(200)]
    await asyncio.sleep(0)  # every task has queued its line; none has been answered yet
    await log.close()
    assert all(task.done() for task in pending)
    assert sorted(entry["n"] for entry in read_rows(log.path)) == list(range(200))
    assert _writers() == []


async def test_a_caller_that_goes_away_still_gets_its_entry_written(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.jsonl")
    log.open()
    task = asyncio.create_task(log.append({"n": "cancelled"}))
    await asyncio.sleep(0)  # the task runs up to queueing its line, then its caller goes away
    task.cancel()
    await log.append({"n": "after"})
    await log.close()
    assert [entry["n"] for entry in read_rows(log.path)] == ["cancelled", "after"]


async def test_a_failing_disk_goes_to_the_error_log_and_the_call_is_answered(caplog: pytest.LogCaptureFixture) -> None:
    log = AuditLog(Path("/dev/full"))  # every write fails with ENOSPC
    log.open()
    with caplog.at_level(logging.ERROR, "capgate.audit"):
        await asyncio.wait_for(log.append({"n": "lost"}), 10)
        await log.close()
        await log.append({"n": "late"})  # after close: the error log, at once
    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == 2 and '"n":"lost"' in messages[0] and '"n":"late"' in messages[1]
    assert _writers() == []


async def test_an_intent_nested_past_what_json_writes_is_cut_and_written(tmp_path: Path) -> None:
    """A body the upstream could be sent (254 levels) sits two levels deeper in the entry: past orjson's 255."""
    body: object = "1h"
    for _ in range(253):
        body = [body]
    orjson.dumps(body)  # sendable as it is
    log = AuditLog(tmp_path / "audit.jsonl")
    log.watch({"ns.reschedule": _Mutating()})
    call = CallRecord("rest", "POST /runs/{id}/reschedule", "ns.reschedule", arguments={"id": "run_1", "body": body})
    log.open()
    try:
        await log.sending(call)
    finally:
        await log.close()
    (row,) = read_rows(log.path)
    assert row["outcome"] == "sent, outcome unknown" and row["resource"] == {"id": "run_1"}
    encoded = orjson.dumps(body)  # the body alone is JSON: its size and digest stand for it
    cut = {"cut": {"bytes": len(encoded), "sha256": hashlib.sha256(encoded).hexdigest()}}
    assert row["arguments"] == {"id": "run_1", "body": cut}


async def test_a_line_is_never_longer_than_max_entry(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.jsonl", max_entry=4096)
    log.open()
    try:
        await log.append({"call": "x", "phase": "outcome", "new_id": "n" * 10_000, "arguments": {"a": "a" * 10_000}})
    finally:
        await log.close()
    line = log.path.read_bytes()
    assert len(line) <= 4096 and line.endswith(b"\n")
    assert orjson.loads(line)["new_id"]["cut"]["bytes"] == 10_002 and "a" not in orjson.loads(line)["arguments"]["a"]
