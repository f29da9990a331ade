"""The audit log: for each call of an operation that changes something, an intent on disk before the request
leaves, and an outcome on disk before the answer.

Every call of a consumed operation whose method is not GET or HEAD (for the default document: cancel, replay,
reschedule and add tags) is written as JSON lines that share the call's id (`call`):
- `"phase": "intent"` — time, who called (`caller_fields`: the token id or the access token's subject, and the
  OAuth client), adapter, exposed route or tool, operation, the resource it acts on (its path parameters, e.g.
  the run id) and the arguments (secrets redacted). The `sending` observer awaits it once the arguments are
  valid: the request is sent only once the line is written and fsync'd. If it cannot be written, the call is
  refused (`AuditUnavailable`) and nothing is sent.
- `"phase": "outcome"` — the upstream status, the outcome, and `new_id` when the upstream answered with an id
  of its own (the new run of a replay). The `finished` observer awaits it before the adapter answers. A call
  that was never sent (its input was refused) has this line only, with every field and `"sent": false`.
So `kill -9` at any moment loses no answered call, and a call that was sent but never answered is still there:
`capgate audit` shows its intent as "sent, outcome unknown" (`capgate.observe.audit_rows` joins the lines).

No line holds more than `max_entry` bytes: the largest values (an argument first, then a field) are replaced by
`{"cut": {"bytes": N, "sha256": …}}`, the size and SHA-256 of their JSON as written (secrets redacted), until it
fits; a value JSON cannot hold (nested too deep, an integer past 64 bits) is replaced the same way.

One writer thread does the writing: whatever was queued while it wrote the previous batch goes in one write and
one fsync (group commit), so durability costs one disk flush per batch, not per line. If the disk fails, the
lines go to the error log instead; an outcome's call is answered anyway, since the upstream has already acted
and failing the call would invite a retry of a mutation. The file follows rotations (`capgate.observe.audit_file`).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import queue
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from capgate.core.errors import AuditUnavailable, ConfigurationError
from capgate.core.http import SAFE_METHODS
from capgate.core.redaction import redact_bytes
from capgate.observe.audit_file import AuditFile

if TYPE_CHECKING:
    from capgate.observe.records import CallRecord

logger = logging.getLogger("capgate.audit")

DEFAULT_MAX_ENTRY = 64 * 1024
MIN_MAX_ENTRY = 4096  # room for every field cut, in the worst case
_NEVER_CUT = ("time", "call", "phase")
_Entry = tuple[bytes, "asyncio.Future[None] | None"]  # a line, and what its caller awaits until it is on disk


def default_audit_path() -> Path:
    """`$XDG_DATA_HOME/capgate/audit.jsonl`, else `~/.local/share/capgate/audit.jsonl`."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "capgate" / "audit.jsonl"


class AuditLog:
    """An append-only JSON-lines file; `sending` and `finished` are the observers to add to a gateway's
    `Observers`."""

    def __init__(self, path: Path, *, max_entry: int = DEFAULT_MAX_ENTRY, rotate_bytes: int = 0, keep: int = 0) -> None:
        self.path = path
        self.max_entry = max_entry
        self._file = AuditFile(path, rotate_bytes=rotate_bytes, keep=keep)
        self._watched: dict[str, list[str]] = {}  # mutating operation -> its path parameters' keys
        self._queue: queue.SimpleQueue[_Entry | None] = queue.SimpleQueue()  # None: the writer stops
        self._writer: threading.Thread | None = None

    def open(self) -> None:
        """Create or open the file for appending; ConfigurationError if that is not possible."""
        try:
            self._file.open()
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

    def reopen(self) -> None:
        """Open the path again now (SIGUSR1: logrotate has renamed the file)."""
        logger.info("reopening the audit log %s", self.path)
        self._file.reopen_soon()
        if self._writer is not None:
            self._queue.put((b"", None))  # wakes the writer, which reopens before its next batch

    async def sending(self, call: CallRecord) -> None:
        """The intent of a call that changes something, on disk; AuditUnavailable if it cannot be written."""
        if call.operation not in self._watched:
            return
        line = self._line(self.intent(call))
        if self._writer is None:
            raise AuditUnavailable(str(self.path), "it is not open")
        try:
            await self._enqueue(line)
        except OSError as exc:
            raise AuditUnavailable(str(self.path), exc.strerror or type(exc).__name__) from None

    async def finished(self, call: CallRecord) -> None:
        """The outcome of a call that changes something, on disk (or in the error log)."""
        if call.operation not in self._watched:
            return
        await self.append(self.outcome(call))

    def intent(self, call: CallRecord) -> dict[str, Any]:
        """The audit record of a call about to be sent."""
        return {"time": _now(), "call": call.id, "phase": "intent", **self._identity(call)}

    def outcome(self, call: CallRecord) -> dict[str, Any]:
        """The audit record of a finished call; everything about it when it was never sent (no intent)."""
        entry: dict[str, Any] = {"time": _now(), "call": call.id, "phase": "outcome"}
        if call.sent:
            entry["operation"] = call.operation
        else:
            entry.update(self._identity(call), sent=False)
        entry.update(upstream_status=call.upstream_status, outcome=_outcome(call))
        new_id = _answered_id(call)
        if new_id is not None and new_id not in self._resource(call).values():
            entry["new_id"] = new_id
        return entry

    async def append(self, entry: dict[str, Any]) -> None:
        """Write `entry` and return once it is on disk (or, if the disk failed, in the error log)."""
        line = self._line(entry)
        if self._writer is None:
            self._log_lost(line, "the audit log is not open")
            return
        with contextlib.suppress(OSError):  # the writer has put it in the error log
            await self._enqueue(line)

    async def close(self) -> None:
        """Write everything appended so far, stop the writer thread and close the file."""
        writer, self._writer = self._writer, None  # from now on `append` goes to the error log
        if writer is not None:
            try:
                with contextlib.suppress(OSError):
                    await self._enqueue(b"")  # answered once every line queued before it is on disk
            finally:  # even if this close is cancelled: the file is never closed under the writer
                self._queue.put(None)
                writer.join()
        self._file.close()

    def _identity(self, call: CallRecord) -> dict[str, Any]:
        return {
            **caller_fields(call),
            "adapter": call.adapter,
            "target": call.target,
            "operation": call.operation,
            "resource": self._resource(call),
            "arguments": call.arguments,
        }

    def _resource(self, call: CallRecord) -> dict[str, Any]:
        return {key: call.arguments[key] for key in self._watched[call.operation] if key in call.arguments}

    def _line(self, entry: dict[str, Any]) -> bytes:
        return _capped(entry, self.max_entry - 1) + b"\n"

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
            failure: OSError | None = None
            try:
                self._file.append(data)
            except OSError as exc:
                failure = exc
                if data:
                    self._log_lost(data, exc.strerror)
            finally:
                _answer(entries, failure)
            if len(entries) < len(batch):
                return

    def _log_lost(self, data: bytes, why: str | None) -> None:
        logger.error(
            "cannot write the audit log %s (%s); the entries follow: %s", self.path, why, data.decode().strip()
        )


def _answer(entries: list[_Entry], failure: OSError | None) -> None:
    """Wake the callers of a written batch: one hand-off to each event loop they wait on (usually one)."""
    waiting: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] = {}
    for _, done in entries:
        if done is not None:
            waiting.setdefault(done.get_loop(), []).append(done)
    for loop, futures in waiting.items():
        with contextlib.suppress(RuntimeError):  # that loop is closed: nobody waits any more
            loop.call_soon_threadsafe(_resolve, futures, failure)


def _resolve(futures: list[asyncio.Future[None]], failure: OSError | None) -> None:
    for done in futures:
        if done.done():  # a caller that went away cancelled its own future
            continue
        if failure is None:
            done.set_result(None)
        else:
            done.set_exception(failure)


def _capped(entry: dict[str, Any], limit: int) -> bytes:
    """`entry` as one JSON line of at most `limit` bytes, secrets redacted: the largest values cut until it fits,
    an argument's before a field's."""
    line = _encoded(entry)
    if line is not None and len(line) <= limit:
        return line
    entry = dict(entry)
    holders: list[dict[str, Any]] = [entry]
    if isinstance(entry.get("arguments"), dict):
        entry["arguments"] = dict(entry["arguments"])
        holders.insert(0, entry["arguments"])
    for holder in holders:
        keys = [key for key in holder if holder is not entry or key not in _NEVER_CUT]
        for key in sorted(keys, key=lambda key: -_size(holder[key])):
            holder[key] = _cut(holder[key])
            line = _encoded(entry)
            if line is not None and len(line) <= limit:
                return line
    raise AssertionError("an entry of cut values always fits: the limit is at least MIN_MAX_ENTRY")


def _encoded(value: Any) -> bytes | None:
    """`value` as compact JSON with every secret redacted; None if JSON cannot hold it."""
    try:
        return redact_bytes(orjson.dumps(value, default=str))
    except (TypeError, RecursionError):  # orjson.JSONEncodeError is a TypeError
        return None


def _size(value: Any) -> float:
    encoded = _encoded(value)
    return float("inf") if encoded is None else len(encoded)


def _cut(value: Any) -> dict[str, Any]:
    encoded = _encoded(value)
    if encoded is None:
        return {"cut": {"reason": "not JSON: nested too deep, or an integer past 64 bits"}}
    return {"cut": {"bytes": len(encoded), "sha256": hashlib.sha256(encoded).hexdigest()}}


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def caller_fields(call: CallRecord) -> dict[str, Any]:
    """Who made a call, as every audit line names it: `caller` (the token id or the access token's subject) and,
    for an OAuth caller, `client` (the client the token was issued to). Never the credential."""
    fields: dict[str, Any] = {"caller": call.caller}
    if call.client is not None:
        fields["client"] = call.client
    return fields


def _outcome(call: CallRecord) -> str:
    if isinstance(call.error, asyncio.CancelledError):
        return "cancelled, outcome unknown" if call.sent else "cancelled"
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
