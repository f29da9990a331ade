"""The audit log's files: the one appended to, and those it was rotated to, by capgate or by logrotate.

`AuditFile` is used by one writer thread per process (`capgate.observe.audit`); several processes (the workers
of `serve --workers`) may append to the same path. Before each batch it makes sure it still writes to the file
the path names: if that file was renamed or removed (logrotate without `copytruncate`), or SIGUSR1 asked for it,
it opens the path again. With `rotate_bytes`, a batch that would take the file past that size first renames it
to `<name>.<UTC time>Z` and starts a new one; a lock file next to it makes one process do the renaming while
the others reopen. Each rename and each new file is made durable (the directory is fsync'd too).

Reading (`audit_files`, `read_lines`): the rotated files, oldest first by modification time — capgate's own
`audit.jsonl.20261128T100000123456Z`, logrotate's `audit.jsonl.1`, `audit.jsonl.2.gz` or `audit.jsonl-20261128`
(gzip, bzip2 and xz are read as such) — then the file itself.
"""

from __future__ import annotations

import bz2
import contextlib
import fcntl
import gzip
import io
import lzma
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path


class AuditFile:
    """An append-only file that follows its path through rotations; every method but `open` is the writer's."""

    def __init__(self, path: Path, *, rotate_bytes: int = 0, keep: int = 0) -> None:
        self.path = path
        self.rotate_bytes = rotate_bytes  # 0: capgate never rotates it (logrotate may)
        self.keep = keep  # rotated files capgate keeps; 0: all of them
        self._fd: int | None = None
        self._reopen = False

    def open(self) -> None:
        """Create or open the file for appending; OSError if that is not possible."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        created = not self.path.exists()
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        if created:  # the new file's directory entry must survive a crash too
            _sync_directory(self.path.parent)

    def reopen_soon(self) -> None:
        """Open the path again before the next write (SIGUSR1, after logrotate renamed the file)."""
        self._reopen = True

    def append(self, data: bytes) -> None:
        """Write `data` at the end of the file the path names now, and fsync it; OSError if the disk fails.

        Empty `data` only reopens the path if that was asked for, or if it names another file now.
        """
        if self._fd is None or self._reopen or not self._names_ours():
            self._open_again()
        assert self._fd is not None
        if not data:  # a wake-up: reopened if asked, nothing to write
            return
        size = os.fstat(self._fd).st_size
        if self.rotate_bytes and size and size + len(data) > self.rotate_bytes:
            self._rotate()
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view) :]
        os.fsync(self._fd)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _names_ours(self) -> bool:
        assert self._fd is not None
        try:
            named = os.stat(self.path)
        except FileNotFoundError:
            return False
        ours = os.fstat(self._fd)
        return (named.st_dev, named.st_ino) == (ours.st_dev, ours.st_ino)

    def _open_again(self) -> None:
        self._reopen = False
        self.close()
        self.open()

    def _rotate(self) -> None:
        """Rename the file aside and start a new one, unless another process just did (then only reopen)."""
        lock = os.open(self.path.parent / f".{self.path.name}.lock", os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if self._names_ours():
                os.rename(self.path, _rotated_name(self.path))
                _sync_directory(self.path.parent)
                self._forget_old()
            self._open_again()
        finally:
            os.close(lock)

    def _forget_old(self) -> None:
        """Remove the oldest of capgate's own rotated files beyond `keep` (logrotate's are logrotate's)."""
        if not self.keep:
            return
        own = re.compile(re.escape(self.path.name) + r"\.\d{8}T\d{12}Z(-\d+)?")
        rotated = sorted(file for file in self.path.parent.iterdir() if own.fullmatch(file.name))
        for file in rotated[: -self.keep]:
            with contextlib.suppress(FileNotFoundError):  # another process removed it first
                file.unlink()


def audit_files(path: Path) -> list[Path]:
    """The files of the audit log at `path`, oldest first: its rotated files, then itself (if it exists)."""
    if not path.parent.is_dir():
        return []
    rotated = [
        file
        for file in path.parent.iterdir()
        if file.name.startswith((path.name + ".", path.name + "-")) and file.is_file()
    ]
    rotated.sort(key=lambda file: (file.stat().st_mtime, file.name))
    return rotated + ([path] if path.is_file() else [])


def read_lines(path: Path) -> Iterator[bytes]:
    """Every line of the audit log at `path`, its rotated files included, oldest first."""
    for file in audit_files(path):
        with _reading(file) as stream:
            yield from stream


def _reading(file: Path) -> io.BufferedIOBase:
    """`file` opened for reading, decompressed if logrotate compressed it."""
    if file.suffix == ".gz":
        return gzip.open(file, "rb")
    if file.suffix == ".bz2":
        return bz2.open(file, "rb")
    if file.suffix == ".xz":
        return lzma.open(file, "rb")
    return file.open("rb")


def _rotated_name(path: Path) -> Path:
    now = time.time()
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(now)) + f"{int(now * 1e6) % 1_000_000:06d}Z"
    candidate = path.with_name(f"{path.name}.{stamp}")
    number = 0
    while candidate.exists():
        number += 1
        candidate = path.with_name(f"{path.name}.{stamp}-{number}")
    return candidate


def _sync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
