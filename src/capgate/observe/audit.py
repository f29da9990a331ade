"""The audit log: one JSON line per call of an operation that changes something, on disk before the answer.

Every call of a consumed operation whose method is not GET or HEAD (for the default document: cancel, replay,
reschedule and add tags) is appended, whatever its outcome, with: time, who called (`caller_fields`), adapter,
exposed route or tool, operation, the resource it acted on (its path parameters, e.g. the run id), the
arguments (secrets redacted), the upstream status, the outcome, and `new_id` when the upstream answered
with an id of its own (the new run of a replay).

The observer hook awaits the append before the adapter answers, and the append returns only after the line
is written and fsync'd. So a crash or `kill -9` can lose only entries of calls that were not answered yet.
One writer thread does the writing: whatever was queued while it wrote the previous batch goes in one write
and one fsync (group commit), so durability costs one disk flush per batch, not per call. If the disk fails,
the entry goes to the error log instead and the call is answered anyway: the upstream has already acted, and
failing the call would invite a retry of a mutation.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import queue
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from capgate.core.errors import ConfigurationError
from capgate.core.http import SAFE_METHODS
from capgate.core.redaction import redact_bytes

if TYPE_CHECKING:
    from capgate.observe.records import CallRecord

logger = logging.getLogger("capgate.audit")

_Entry = tuple[bytes, asyncio.Future[None]]  # a line, and what its caller awaits until it is on disk


def default_audit_path() -> Path:
    """`$XDG_DATA_HOME/capgate/audit.jsonl`, else `~/.local/share/capgate/audit.jsonl`."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "capgate" / "audit.jsonl"


class AuditLog:
    """An append-only JSON-lines file; `observe` is the observer to add to a gateway's `Observers`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None
        self._watched: dict[str, list[str]] = {}  # mutating operation -> its path parameters' keys
        self._queue: queue.SimpleQueue[_Entry | None] = queue.SimpleQueue()  # None: the writer stops
        self._writer: threading.Thread | None = None

    def open(self) -> None:
        """Create or open the file for appending; ConfigurationError if that is not possible."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            created = not self.path.exists()
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            if created:  # the new file's directory entry must survive a crash too
                directory = os.open(self.path.parent, os.O_RDONLY)
                try:
                    os.fsync(directory)
                finally:
                    os.close(directory)
        except OSError as exc:
            raise ConfigurationError(
                f"--audit-log {self.path}: cannot append to it ({exc.strerror}); choose a "
                "writable path, or --no-audit-log to run without one"
            ) from None
        # A daemon, so a process that never calls `close` can still exit; `close` drains and joins it.
        self._writer = threading.Thread(target=self._write_batches, name="capgate-audit", daemon=True)
        self._writer.start()

    def watch(self, operations: dict[str, Any]) -> None:
        """Audit the operations (name -> `Operation`) that change something; call again after a reload.

        Operations already watched stay watched: an older document may still be answering calls.
        """
        self._watched.update(
            {
                name: [p.key for p in op.parameters if p.location == "path"]
                for name, op in operations.items()
                if op.method not in SAFE_METHODS
            }
        )

    async def observe(self, call: CallRecord) -> None:
        if call.operation not in self._watched:
            return
        await self.append(self.entry(call))

    def entry(self, call: CallRecord) -> dict[str, Any]:
        """The audit record of a finished call."""
        resource = {key: call.arguments[key] for key in self._watched[call.operation] if key in call.arguments}
        entry: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            **caller_fields(call),
            "adapter": call.adapter,
            "target": call.target,
            "operation": call.operation,
            "resource": resource,
            "arguments": call.arguments,
            "upstream_status": call.upstream_status,
            "outcome": _outcome(call),
        }
        new_id = _answered_id(call)
        if new_id is not None and new_id not in resource.values():
            entry["new_id"] = new_id
        return entry

    async def append(self, entry: dict[str, Any]) -> None:
        """Write `entry` and return once it is on disk (or, if the disk failed, in the error log)."""
        line = redact_bytes(orjson.dumps(entry, default=str)) + b"\n"
        if self._writer is None:
            self._log_lost(line, "the audit log is not open")
            return
        await self._enqueue(line)

    async def close(self) -> None:
        """Write everything appended so far, stop the writer thread and close the file."""
        writer, self._writer = self._writer, None  # from now on `append` goes to the error log
        if writer is not None:
            try:
                await self._enqueue(b"")  # answered once every line queued before it is on disk
            finally:  # even if this close is cancelled: the file is never closed under the writer
                self._queue.put(None)
                writer.join()
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _enqueue(self, line: bytes) -> asyncio.Future[None]:
        done = asyncio.get_running_loop().create_future()
        self._queue.put((line, done))  # queued, it is written even if the caller goes away
        return done

    def _write_batches(self) -> None:
        """The writer thread: each batch is everything queued while the previous one was written."""
        while True:
            batch = [self._queue.get()]
            while not self._queue.empty():
                batch.append(self._queue.get_nowait())
            entries = [entry for entry in batch if entry is not None]
            data = b"".join(line for line, _ in entries)
            try:
                self._write(data)
            except OSError as exc:
                self._log_lost(data, exc.strerror)
            finally:
                _answer(entries)
            if len(entries) < len(batch):
                return

    def _write(self, data: bytes) -> None:
        if not data:
            return
        assert self._fd is not None  # open() gave it before starting the writer; close() takes it after
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view) :]
        os.fsync(self._fd)

    def _log_lost(self, data: bytes, why: str | None) -> None:
        logger.error(
            "cannot write the audit log %s (%s); the entries follow: %s", self.path, why, data.decode().strip()
        )


def _answer(entries: list[_Entry]) -> None:
    """Wake the callers of a written batch: one hand-off to each event loop they wait on (usually one)."""
    waiting: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] = {}
    for _, done in entries:
        waiting.setdefault(done.get_loop(), []).append(done)
    for loop, futures in waiting.items():
        with contextlib.suppress(RuntimeError):  # that loop is closed: nobody waits any more
            loop.call_soon_threadsafe(_resolve, futures)


def _resolve(futures: list[asyncio.Future[None]]) -> None:
    for done in futures:
        if not done.done():  # a caller that went away cancelled its own future
            done.set_result(None)


def read_entries(path: Path) -> Iterator[dict[str, Any]]:
    """The entries of an audit log file; a last line cut short by a crash (never answered) is skipped."""
    with path.open("rb") as file:
        for line in file:
            try:
                yield orjson.loads(line)
            except orjson.JSONDecodeError:
                continue


def caller_fields(call: CallRecord) -> dict[str, Any]:
    """Who made a call, as every audit line names it: `caller` (the token id or the access token's subject) and,
    for an OAuth caller, `client` (the client the token was issued to). Never the credential."""
    fields: dict[str, Any] = {"caller": call.caller}
    if call.client is not None:
        fields["client"] = call.client
    return fields


def _outcome(call: CallRecord) -> str:
    if call.error is not None:
        return f"error: {type(call.error).__name__}"
    status = call.upstream_status
    return "ok" if status is not None and status < 400 else "failed"


def _answered_id(call: CallRecord) -> str | None:
    if call.result is None or not 200 <= call.result.status < 300:
        return None
    try:
        body = orjson.loads(call.result.body)
    except orjson.JSONDecodeError:
        return None
    found = body.get("id") if isinstance(body, dict) else None
    return found if isinstance(found, str) else None


def format_entry(entry: dict[str, Any]) -> str:
    """One entry as a line for people: time, caller (and client), adapter, operation, resource, outcome, new id."""
    resource = " ".join(f"{key}={value}" for key, value in (entry.get("resource") or {}).items())
    status = entry.get("upstream_status")
    outcome = entry.get("outcome", "")
    shown = f"{status} {outcome}" if status is not None else outcome
    new_id = f" -> {entry['new_id']}" if entry.get("new_id") else ""
    caller = (entry.get("caller") or "-") + (f" ({entry['client']})" if entry.get("client") else "")
    return (
        f"{entry.get('time', '?')}  {caller}  {entry.get('adapter', '?')}  "
        f"{entry.get('operation', '?')}  {resource or '-'}  {shown}{new_id}"
    )
