"""The audit log's files: rotated by size, kept or removed, followed through logrotate's renames, read back
oldest first with logrotate's compressed files included."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import orjson
import pytest

from capgate.observe.audit import AuditLog
from capgate.observe.audit_file import audit_files
from capgate.observe.audit_rows import read_rows

pytestmark = pytest.mark.anyio


def _rotated(path: Path) -> list[Path]:
    return [file for file in audit_files(path) if file != path]


async def test_rotation_by_size_keeps_every_file_under_the_limit_and_every_entry(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = AuditLog(path, rotate_bytes=4096)
    log.open()
    try:
        for index in range(200):
            await log.append({"call": f"c{index}", "phase": "outcome", "n": index, "pad": "x" * 40})
    finally:
        await log.close()
    files = audit_files(path)
    sizes = [file.stat().st_size for file in files]
    print(f"\n200 entries, --audit-rotate-bytes 4096: {len(files)} files of {min(sizes)}-{max(sizes)} bytes")
    assert len(files) > 3 and max(sizes) <= 4096 and files[-1] == path
    assert all(file.name.startswith("audit.jsonl.") and file.name.endswith("Z") for file in files[:-1])
    assert [row["n"] for row in read_rows(path)] == list(range(200))  # every one, in order, across the files
    assert not (tmp_path / ".audit.jsonl.lock").read_bytes()  # the lock file holds nothing and is not a log


async def test_keep_removes_the_oldest_rotated_files(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = AuditLog(path, rotate_bytes=1024, keep=2)
    log.open()
    try:
        for index in range(100):
            await log.append({"call": f"c{index}", "phase": "outcome", "n": index, "pad": "x" * 40})
    finally:
        await log.close()
    assert len(_rotated(path)) == 2
    numbers = [row["n"] for row in read_rows(path)]
    assert numbers == list(range(numbers[0], 100)) and numbers[0] > 0  # the newest entries, none missing


async def test_a_file_renamed_by_logrotate_is_followed_with_or_without_sigusr1(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = AuditLog(path)
    log.open()
    try:
        await log.append({"call": "a", "phase": "outcome", "n": 1})
        path.rename(tmp_path / "audit.jsonl.1")  # logrotate's rename, with no signal afterwards
        await log.append({"call": "b", "phase": "outcome", "n": 2})
        (tmp_path / "audit.jsonl.1").rename(tmp_path / "audit.jsonl.2")
        path.rename(tmp_path / "audit.jsonl.1")
        log.reopen()  # SIGUSR1: the path is opened again now, before anything is written
        await log.append({"call": "c", "phase": "outcome", "n": 3})
    finally:
        await log.close()
    assert [orjson.loads(line)["n"] for line in path.read_bytes().splitlines()] == [3]
    assert [orjson.loads(line)["n"] for line in (tmp_path / "audit.jsonl.1").read_bytes().splitlines()] == [2]
    os.utime(tmp_path / "audit.jsonl.2", (1, 1))  # older than .1, as logrotate leaves them
    assert [row["n"] for row in read_rows(path)] == [1, 2, 3]


def test_rotated_files_are_read_oldest_first_compressed_or_not(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    lines = {
        "audit.jsonl.3.gz": [{"call": "a", "phase": "intent", "time": "2026-01-01T00:00:00Z", "operation": "op"}],
        "audit.jsonl-20260102": [{"call": "a", "phase": "outcome", "time": "2026-01-02T00:00:00Z", "outcome": "ok"}],
        "audit.jsonl": [{"call": "b", "phase": "intent", "time": "2026-01-03T00:00:00Z", "operation": "op"}],
    }
    for age, (name, entries) in enumerate(lines.items()):
        data = b"".join(orjson.dumps(entry) + b"\n" for entry in entries)
        (tmp_path / name).write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
        os.utime(tmp_path / name, (age + 1, age + 1))
    (tmp_path / "other.jsonl").write_text("not ours\n")
    assert [file.name for file in audit_files(path)] == list(lines)
    assert [(row["call"], row["outcome"], row.get("answered")) for row in read_rows(path)] == [
        ("a", "ok", "2026-01-02T00:00:00Z"),
        ("b", "sent, outcome unknown", None),
    ]


def test_rows_skip_a_line_cut_short_and_keep_lines_written_before_intents(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    path.write_bytes(
        b'{"time":"2026-01-01T00:00:00Z","operation":"op","outcome":"ok"}\n'  # one line per call, as before
        b'{"time":"2026-01-02T00:00:00Z","call":"x","phase":"intent","operation":"op"}\n'
        b'{"time":"2026-01-02T00:00:01Z","call":"x","phase":"outc'  # cut short by a crash
    )
    assert [(row["time"], row["outcome"]) for row in read_rows(path)] == [
        ("2026-01-01T00:00:00Z", "ok"),
        ("2026-01-02T00:00:00Z", "sent, outcome unknown"),
    ]


async def test_two_processes_appending_to_one_path_rotate_it_once_each_time(tmp_path: Path) -> None:
    """Each `serve --workers` worker has its own descriptor; the lock file makes one rename, the other follow."""
    path = tmp_path / "audit.jsonl"
    logs = [AuditLog(path, rotate_bytes=2048), AuditLog(path, rotate_bytes=2048)]
    for log in logs:
        log.open()
    try:
        for index in range(120):
            await logs[index % 2].append({"call": f"c{index}", "phase": "outcome", "n": index, "pad": "x" * 30})
    finally:
        for log in logs:
            await log.close()
    files = audit_files(path)
    assert len(files) > 3 and max(file.stat().st_size for file in files) <= 2048
    assert [row["n"] for row in read_rows(path)] == list(range(120))
