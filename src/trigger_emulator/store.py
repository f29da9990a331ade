"""SQLite persistence for environments, schedules and runs.

One connection, guarded by one re-entrant lock: every read and every transaction holds it, so concurrent
requests (and test threads) are serialised and no write is lost. Writes run in `BEGIN IMMEDIATE`
transactions; file databases use WAL. The handlers call the store directly from the event loop: each
call is a handful of indexed statements, far cheaper than a thread hop.
"""

from __future__ import annotations

import dataclasses
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import orjson

from trigger_emulator.models import Environment, Run, Schedule

SCHEMA_VERSION = "2"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS environments (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL, user TEXT, current_version TEXT
);
CREATE TABLE IF NOT EXISTS schedules (
    id TEXT PRIMARY KEY, friendly_id TEXT NOT NULL UNIQUE, env_id TEXT NOT NULL, task_identifier TEXT NOT NULL,
    cron TEXT NOT NULL, description TEXT NOT NULL, external_id TEXT, deduplication_key TEXT
);
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY, friendly_id TEXT NOT NULL UNIQUE, env_id TEXT NOT NULL, task_identifier TEXT NOT NULL,
    status TEXT NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, queue TEXT NOT NULL,
    machine TEXT NOT NULL, queued_at INTEGER, started_at INTEGER, completed_at INTEGER, delay_until INTEGER,
    ttl TEXT, expired_at INTEGER, is_test INTEGER NOT NULL, idempotency_key TEXT, idempotency_key_user TEXT,
    idempotency_key_expires_at INTEGER, version TEXT, tags TEXT NOT NULL, metadata TEXT, payload TEXT,
    payload_type TEXT, output TEXT, error TEXT, cost_in_cents REAL NOT NULL, base_cost_in_cents REAL NOT NULL,
    usage_duration_ms INTEGER NOT NULL, attempt_count INTEGER NOT NULL, depth INTEGER NOT NULL,
    trigger_function TEXT NOT NULL, parent_id TEXT, root_id TEXT, batch_id TEXT, batch_internal_id TEXT,
    schedule_id TEXT, region TEXT, concurrency_key TEXT, max_attempts INTEGER, max_duration REAL, priority REAL,
    task_kind TEXT NOT NULL, replayed_from TEXT, trigger_source TEXT, simulated INTEGER NOT NULL,
    next_event_at INTEGER, seed_metadata TEXT
);
CREATE INDEX IF NOT EXISTS runs_env_created ON runs (env_id, created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS runs_parent ON runs (parent_id) WHERE parent_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS runs_idempotency
    ON runs (env_id, task_identifier, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS runs_next_event ON runs (next_event_at) WHERE next_event_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS request_idempotency (
    env_id TEXT NOT NULL, key TEXT NOT NULL, run_id TEXT NOT NULL, PRIMARY KEY (env_id, key)
);
"""

# Columns added after schema version 1, and the column each one starts out as a copy of in older files.
_ADDED_COLUMNS = {"seed_metadata": "metadata"}

_RUN_FIELDS = tuple(f.name for f in dataclasses.fields(Run))
_JSON_FIELDS = frozenset({"metadata", "seed_metadata", "payload", "output", "error"})
_BOOL_FIELDS = frozenset({"is_test", "simulated"})


def _to_column(name: str, value: Any) -> Any:
    if name == "tags":
        return orjson.dumps(list(value)).decode()
    if name in _JSON_FIELDS:
        return None if value is None else orjson.dumps(value).decode()
    if name in _BOOL_FIELDS:
        return int(value)
    return value


def _to_run(row: sqlite3.Row) -> Run:
    values: dict[str, Any] = {}
    for name in _RUN_FIELDS:
        value = row[name]
        if name == "tags":
            value = tuple(orjson.loads(value))
        elif name in _JSON_FIELDS and value is not None:
            value = orjson.loads(value)
        elif name in _BOOL_FIELDS:
            value = bool(value)
        values[name] = value
    return Run(**values)


@dataclasses.dataclass(frozen=True)
class Page:
    """Which slice of a filtered list to fetch: a keyset position and a direction."""

    size: int
    cursor_created_ms: int | None = None
    cursor_run_id: str | None = None
    backward: bool = False


@dataclasses.dataclass(frozen=True)
class RunFilter:
    """Conditions on a list query; empty tuples mean "no condition"."""

    statuses: tuple[str, ...] = ()
    tasks: tuple[str, ...] = ()
    versions: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    queues: tuple[str, ...] = ()
    machines: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    is_test: bool | None = None
    created_from: int | None = None
    created_to: int | None = None
    batch: str | None = None
    schedule: str | None = None
    match_nothing: bool = False


class Store:
    """The database. Open with `Store.open(path)`; every method is safe to call from any thread."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._db = connection
        self._lock = threading.RLock()

    @classmethod
    def open(cls, path: str) -> Store:
        """Open (creating if needed) the database at `path`, or an in-memory one for `:memory:`."""
        connection = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=10.0)
        connection.row_factory = sqlite3.Row
        if path != ":memory:":
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
        # executescript commits any open transaction first, so the schema brings its own BEGIN/COMMIT.
        connection.executescript(f"BEGIN IMMEDIATE; {_SCHEMA} COMMIT;")
        _add_missing_columns(connection)
        connection.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (SCHEMA_VERSION,))
        return cls(connection)

    def close(self) -> None:
        """Close the connection; the store is unusable afterwards."""
        with self._lock:
            self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Hold the lock and run the block in one write transaction (nested uses join the outer one)."""
        with self._lock:
            if self._db.in_transaction:
                yield
                return
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        with self.transaction():
            self._db.execute(sql, params)

    # Environments and schedules.

    def environment_exists(self, env_id: str) -> bool:
        """Whether this environment has been created (and seeded) before."""
        return bool(self._query("SELECT 1 FROM environments WHERE id = ?", (env_id,)))

    def add_environment(self, env: Environment, current_version: str | None) -> None:
        """Record an environment and the worker version new runs in it get."""
        self._execute(
            "INSERT INTO environments (id, name, kind, user, current_version) VALUES (?, ?, ?, ?, ?)",
            (env.id, env.name, env.kind, env.user, current_version),
        )

    def current_version(self, env_id: str) -> str | None:
        """The version triggered runs in this environment are locked to."""
        rows = self._query("SELECT current_version FROM environments WHERE id = ?", (env_id,))
        return rows[0]["current_version"] if rows else None

    def add_schedule(self, schedule: Schedule) -> None:
        """Record a schedule."""
        columns = [f.name for f in dataclasses.fields(Schedule)]
        self._execute(
            f"INSERT INTO schedules ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
            [getattr(schedule, name) for name in columns],
        )

    def get_schedule(self, schedule_id: str) -> Schedule | None:
        """A schedule by internal id."""
        rows = self._query("SELECT * FROM schedules WHERE id = ?", (schedule_id,))
        return Schedule(**dict(rows[0])) if rows else None

    # Runs.

    def insert_run(self, run: Run) -> None:
        """Add a run."""
        placeholders = ", ".join("?" * len(_RUN_FIELDS))
        self._execute(
            f"INSERT INTO runs ({', '.join(_RUN_FIELDS)}) VALUES ({placeholders})",
            [_to_column(name, getattr(run, name)) for name in _RUN_FIELDS],
        )

    def update_run(self, run_id: str, **changes: Any) -> None:
        """Change some columns of a run."""
        assignments = ", ".join(f"{name} = ?" for name in changes)
        values = [_to_column(name, value) for name, value in changes.items()]
        self._execute(f"UPDATE runs SET {assignments} WHERE id = ?", [*values, run_id])

    def get_run(self, run_id: str) -> Run | None:
        """A run by internal id."""
        rows = self._query("SELECT * FROM runs WHERE id = ?", (run_id,))
        return _to_run(rows[0]) if rows else None

    def find_run(self, env_id: str, friendly_id: str) -> Run | None:
        """A run by friendly id, only if it belongs to `env_id`."""
        rows = self._query("SELECT * FROM runs WHERE friendly_id = ? AND env_id = ?", (friendly_id, env_id))
        return _to_run(rows[0]) if rows else None

    def children(self, run_id: str) -> list[Run]:
        """The runs triggered by this run, oldest first."""
        rows = self._query("SELECT * FROM runs WHERE parent_id = ? ORDER BY created_at, id", (run_id,))
        return [_to_run(row) for row in rows]

    def find_idempotent(self, env_id: str, task: str, key: str) -> Run | None:
        """The run of this task holding this idempotency key, expired or not."""
        rows = self._query(
            "SELECT * FROM runs WHERE env_id = ? AND task_identifier = ? AND idempotency_key = ?"
            " ORDER BY created_at DESC LIMIT 1",
            (env_id, task, key),
        )
        return _to_run(rows[0]) if rows else None

    def request_run(self, env_id: str, key: str) -> str | None:
        """The run id a trigger request with this `x-trigger-request-idempotency-key` created, if any."""
        rows = self._query("SELECT run_id FROM request_idempotency WHERE env_id = ? AND key = ?", (env_id, key))
        return rows[0]["run_id"] if rows else None

    def remember_request(self, env_id: str, key: str, run_id: str) -> None:
        """Remember which run a request idempotency key created."""
        self._execute("INSERT OR REPLACE INTO request_idempotency VALUES (?, ?, ?)", (env_id, key, run_id))

    def queue_exists(self, env_id: str, name: str) -> bool:
        """Whether any run of the environment has used this queue (the emulator's stand-in for its queues)."""
        return bool(self._query("SELECT 1 FROM runs WHERE env_id = ? AND queue = ? LIMIT 1", (env_id, name)))

    def version_exists(self, env_id: str, version: str) -> bool:
        """Whether this version is deployed to the environment: its current one, or one a run has run on."""
        if self.current_version(env_id) == version:
            return True
        return bool(self._query("SELECT 1 FROM runs WHERE env_id = ? AND version = ? LIMIT 1", (env_id, version)))

    def due_runs(self, now: int) -> list[Run]:
        """Runs the simulation has to move at or before `now`, earliest first."""
        rows = self._query(
            "SELECT * FROM runs WHERE next_event_at IS NOT NULL AND next_event_at <= ? ORDER BY next_event_at",
            (now,),
        )
        return [_to_run(row) for row in rows]

    def count_runs(self, env_id: str) -> int:
        """How many runs an environment holds."""
        return int(self._query("SELECT COUNT(*) FROM runs WHERE env_id = ?", (env_id,))[0][0])

    def list_runs(self, env_id: str, where: RunFilter, page: Page) -> list[Run]:
        """Up to `page.size + 1` runs in keyset order: newest first, or oldest first when paging backward."""
        if where.match_nothing:
            return []
        conditions, values = _filter_clauses(where)
        clauses, params = ["env_id = ?", *conditions], [env_id, *values]
        comparison = ">" if page.backward else "<"
        if page.cursor_run_id is not None and page.cursor_created_ms is not None:
            clauses.append(f"(created_at, id) {comparison} (?, ?)")
            params.extend([page.cursor_created_ms, page.cursor_run_id])
        elif page.cursor_run_id is not None:  # a legacy cursor cuts on the internal id alone
            clauses.append(f"id {comparison} ?")
            params.append(page.cursor_run_id)
        order = "ASC" if page.backward else "DESC"
        sql = f"SELECT * FROM runs WHERE {' AND '.join(clauses)} ORDER BY created_at {order}, id {order} LIMIT ?"
        return [_to_run(row) for row in self._query(sql, [*params, page.size + 1])]


def _add_missing_columns(connection: sqlite3.Connection) -> None:
    """Bring a database written by an older emulator up to date: add the newer columns, filled from older ones."""
    present = {row["name"] for row in connection.execute("PRAGMA table_info(runs)")}
    for column, source in _ADDED_COLUMNS.items():
        if column not in present:
            connection.execute("BEGIN IMMEDIATE")
            connection.execute(f"ALTER TABLE runs ADD COLUMN {column} TEXT")
            connection.execute(f"UPDATE runs SET {column} = {source}")
            connection.execute("COMMIT")


def _filter_clauses(where: RunFilter) -> tuple[list[str], list[Any]]:
    """SQL conditions (and their parameters) for a filter."""
    clauses: list[str] = []
    params: list[Any] = []
    for column, values in (
        ("status", where.statuses),
        ("task_identifier", where.tasks),
        ("version", where.versions),
        ("queue", where.queues),
        ("machine", where.machines),
        ("region", where.regions),
    ):
        if values:
            clauses.append(f"{column} IN ({', '.join('?' * len(values))})")
            params.extend(values)
    if where.tags:
        marks = ", ".join("?" * len(where.tags))
        clauses.append(f"EXISTS (SELECT 1 FROM json_each(runs.tags) WHERE json_each.value IN ({marks}))")
        params.extend(where.tags)
    optional: tuple[tuple[str, Any], ...] = (
        ("is_test = ?", None if where.is_test is None else int(where.is_test)),
        ("created_at >= ?", where.created_from),
        ("created_at <= ?", where.created_to),
    )
    for clause, value in optional:
        if value is not None:
            clauses.append(clause)
            params.append(value)
    if where.batch is not None:
        clauses.append("(batch_id = ? OR batch_internal_id = ?)")
        params.extend([where.batch, where.batch])
    if where.schedule is not None:
        clauses.append("schedule_id IN (SELECT id FROM schedules WHERE id = ? OR friendly_id = ?)")
        params.extend([where.schedule, where.schedule])
    return clauses, params
