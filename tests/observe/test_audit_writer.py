"""The audit log's writer thread: each line on disk before its append returns, group commit, a close that
drains everything and stops the thread, a full disk that goes to the error log without blocking the call.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from pathlib import Path

import orjson
import pytest

from capgate.observe.audit import AuditLog, read_entries

pytestmark = pytest.mark.anyio


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
    write = log._write

    def counted(data: bytes) -> None:
        writes.append(data)
        write(data)

    monkeypatch.setattr(log, "_write", counted)
    log.open()
    callers, each = 40, 10

    async def caller(name: int) -> None:
        for step in range(each):
            await log.append({"caller": name, "step": step})

    try:
        await asyncio.gather(*(caller(name) for name in range(callers)))
    finally:
        await log.close()
    entries = list(read_entries(log.path))
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
    assert sorted(entry["n"] for entry in read_entries(log.path)) == list(range(200))
    assert _writers() == []


async def test_a_caller_that_goes_away_still_gets_its_entry_written(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.jsonl")
    log.open()
    task = asyncio.create_task(log.append({"n": "cancelled"}))
    await asyncio.sleep(0)  # the task runs up to queueing its line, then its caller goes away
    task.cancel()
    await log.append({"n": "after"})
    await log.close()
    assert [entry["n"] for entry in read_entries(log.path)] == ["cancelled", "after"]


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
