"""SQLite storage: state survives a restart, nothing is re-seeded, and concurrent requests lose no write."""

from __future__ import annotations

import sqlite3
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from pathlib import Path

from tests.emulator.client import KEY, OTHER_KEY, Api, running
from trigger_emulator.store import Page, RunFilter


def count(api: Api, key: str = KEY) -> int:
    return api.emulator.store.count_runs(api.env(key).id)


def test_state_survives_a_restart_and_the_database_is_not_seeded_twice(tmp_path: Path) -> None:
    db = str(tmp_path / "emulator.db")
    with running(db=db, api_keys=(KEY,)) as api:
        run_id = api.trigger(tags=["persist"], delay="1h")
        api.post(f"/api/v1/runs/{run_id}/tags", {"tags": ["more"]})
        cancelled = api.trigger()
        api.post(f"/api/v2/runs/{cancelled}/cancel")
        before = count(api)
        first_page = api.get("/api/v1/runs").json()
    with running(db=db, api_keys=(KEY, OTHER_KEY)) as api:
        assert count(api) == before
        assert api.retrieve(run_id)["tags"] == ["more", "persist"]
        assert api.retrieve(cancelled)["status"] == "CANCELED"
        assert api.get("/api/v1/runs").json() == first_page
        assert count(api, OTHER_KEY) > 0  # a key the database had not seen gets its own seed data


def test_a_file_database_uses_wal(tmp_path: Path) -> None:
    db = tmp_path / "emulator.db"
    with running(db=str(db), api_keys=(KEY,)) as api:
        api.trigger()
        with closing(sqlite3.connect(db)) as reader:
            assert reader.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_concurrent_tag_requests_lose_no_write_and_respect_the_cap(api: Api) -> None:
    run_id = api.trigger(tags=[])

    def add(index: int) -> int:
        return api.post(f"/api/v1/runs/{run_id}/tags", {"tags": [f"tag-{index}"]}).status

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(add, range(20)))
    assert sorted(statuses) == [200] * 10 + [422] * 10
    tags = api.retrieve(run_id)["tags"]
    assert len(tags) == 10 and len(set(tags)) == 10


def test_concurrent_triggers_cancels_and_replays_stay_consistent(tmp_path: Path) -> None:
    with running(db=str(tmp_path / "emulator.db")) as api:
        concurrent_traffic(api)
    with closing(sqlite3.connect(tmp_path / "emulator.db")) as reader:
        assert reader.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def concurrent_traffic(api: Api) -> None:
    before = count(api)
    with ThreadPoolExecutor(max_workers=20) as pool:
        created = list(pool.map(lambda i: api.trigger(payload={"i": i}), range(20)))
    assert len(set(created)) == 20
    target = created[0]
    with ThreadPoolExecutor(max_workers=20) as pool:
        cancels = list(pool.map(lambda _: api.post(f"/api/v2/runs/{target}/cancel").json(), range(20)))
        replays = list(pool.map(lambda _: api.post(f"/api/v1/runs/{target}/replay").json()["id"], range(10)))
    assert cancels == [{"id": target}] * 20
    assert len(set(replays)) == 10
    assert count(api) == before + 30
    assert api.retrieve(target)["status"] == "CANCELED"


def test_direct_store_writes_from_many_threads(api: Api) -> None:
    store, env = api.emulator.store, api.env()
    runs = store.list_runs(env.id, RunFilter(statuses=("PENDING",)), Page(size=1))
    run = runs[0]

    def bump(_: int) -> None:
        with store.transaction():
            current = store.get_run(run.id)
            assert current is not None
            store.update_run(run.id, attempt_count=current.attempt_count + 1)

    with ThreadPoolExecutor(max_workers=20) as pool:
        list(pool.map(bump, range(200)))
    after = store.get_run(run.id)
    assert after is not None and after.attempt_count == run.attempt_count + 200


def test_a_database_from_before_seed_metadata_is_brought_up_to_date(tmp_path: Path) -> None:
    db = tmp_path / "emulator.db"
    with running(db=str(db), api_keys=(KEY,)) as api:
        run_id = api.trigger(metadata={"from": "v1"})
    with closing(sqlite3.connect(db)) as old:  # what schema version 1 looked like
        old.execute("ALTER TABLE runs DROP COLUMN seed_metadata")
        old.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
        old.commit()
    with running(db=str(db), api_keys=(KEY,)) as api:
        replayed = api.post(f"/api/v1/runs/{run_id}/replay").json()["id"]
        assert api.retrieve(replayed)["metadata"] == {"from": "v1"}
    with closing(sqlite3.connect(db)) as reader:
        assert reader.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0] == "2"
