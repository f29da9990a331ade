"""Canned upstream bodies: realistic Trigger.dev run objects, generated deterministically (seeded), never committed.

Shapes follow reference/trigger-dev-runs-api.md §4: list items carry every list field (env, tags, metadata,
costs, the status booleans); a retrieved run carries payload, output, attempt count and related runs;
reschedule answers the retrieved run; cancel and replay answer `{"id": ...}`; tags answers a message.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path

STATUSES = [
    "COMPLETED",
    "COMPLETED",
    "COMPLETED",
    "FAILED",
    "EXECUTING",
    "QUEUED",
    "CANCELED",
    "DELAYED",
    "CRASHED",
    "WAITING",
]
TASKS = [
    "send-welcome-email",
    "sync-stripe-customers",
    "generate-invoice-pdf",
    "resize-image",
    "nightly-report",
    "import-csv",
    "notify-slack",
    "transcribe-audio",
]
MACHINES = ["micro", "small-1x", "small-2x", "medium-1x"]
RUN_ID = "run_cm7k2x9q40001abcd1234efgh"  # the id every route of the bench uses
EPOCH = dt.datetime(2026, 11, 28, 9, 0, 0, tzinfo=dt.UTC)


def _iso(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _run_id(rng: random.Random) -> str:
    return "run_" + "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(25))


def _common(rng: random.Random, index: int) -> dict[str, object]:
    status = STATUSES[index % len(STATUSES)]
    created = EPOCH - dt.timedelta(minutes=7 * index, seconds=rng.randint(0, 59))
    started = created + dt.timedelta(seconds=rng.randint(1, 20))
    final = status in ("COMPLETED", "FAILED", "CANCELED", "CRASHED")
    duration = rng.randint(200, 90_000)
    task = TASKS[index % len(TASKS)]
    run: dict[str, object] = {
        "id": _run_id(rng),
        "status": status,
        "taskIdentifier": task,
        "idempotencyKey": f"{rng.getrandbits(128):032x}",
        "version": f"20261127.{rng.randint(1, 9)}",
        "createdAt": _iso(created),
        "updatedAt": _iso(started + dt.timedelta(milliseconds=duration)),
        "startedAt": _iso(started),
        "isTest": index % 9 == 0,
        "ttl": "10m",
        "tags": sorted(
            {
                f"customer:{rng.randint(1, 5000)}",
                f"plan:{rng.choice(['free', 'pro', 'team'])}",
                rng.choice(["priority", "backfill", "retry", "eu"]),
            }
        ),
        "costInCents": round(rng.random() * 0.9, 6),
        "baseCostInCents": 0.0025,
        "durationMs": duration,
        "depth": 0 if index % 4 else 1,
        "metadata": {
            "source": rng.choice(["api", "schedule", "dashboard"]),
            "attempt": rng.randint(1, 3),
            "progress": {"done": rng.randint(0, 100), "total": 100},
            "requestId": f"req_{rng.getrandbits(64):016x}",
        },
        "region": rng.choice(["us-east-1", "eu-central-1"]),
        "isQueued": status in ("QUEUED", "DELAYED"),
        "isExecuting": status == "EXECUTING",
        "isWaiting": status == "WAITING",
        "isCompleted": final,
        "isSuccess": status == "COMPLETED",
        "isFailed": status in ("FAILED", "CRASHED"),
        "isCancelled": status == "CANCELED",
    }
    if final:
        run["finishedAt"] = run["updatedAt"]
    if status == "DELAYED":
        run["delayedUntil"] = _iso(EPOCH + dt.timedelta(hours=2))
        del run["startedAt"]
    return run


def list_item(rng: random.Random, index: int) -> dict[str, object]:
    run = _common(rng, index)
    run["env"] = {"id": "cm7envprod000001", "name": "prod"}
    run["taskKind"] = "STANDARD"
    return run


def list_page(size: int, seed: int = 5) -> dict[str, object]:
    rng = random.Random(seed)
    data = [list_item(rng, index) for index in range(size)]
    cursor = "eyJjIjoxNzk1ODY4MDAwMDAwLCJyIjoiY203cnVuMDAwMDAwMSJ9"
    return {"data": data, "pagination": {"next": cursor}}


def retrieved_run(seed: int = 11) -> dict[str, object]:
    rng = random.Random(seed)
    run = _common(rng, 0)
    run.update(
        {
            "id": RUN_ID,
            "triggerFunction": "trigger",
            "payload": {
                "customerId": "cus_Q8m2Lr5TzX",
                "email": "ada@example.com",
                "items": [
                    {"sku": f"SKU-{n:04d}", "qty": rng.randint(1, 4), "price": rng.randint(100, 9900)}
                    for n in range(12)
                ],
                "options": {"locale": "en-GB", "currency": "EUR", "sendReceipt": True},
            },
            "output": {
                "invoiceId": "in_1QxF2a",
                "pdfUrl": "https://files.example.com/invoices/in_1QxF2a.pdf",
                "pages": 3,
            },
            "attemptCount": 1,
            "attempts": [],
            "relatedRuns": {"children": []},
        }
    )
    return run


def write_bodies(directory: Path) -> dict[str, Path]:
    """Write every canned body under `directory`; return their paths by name."""
    directory.mkdir(parents=True, exist_ok=True)
    run = retrieved_run()
    bodies = {
        "runs-25.json": list_page(25),
        "runs-100.json": list_page(100),
        "run.json": run,
        "reschedule.json": {
            **run,
            "status": "DELAYED",
            "delayedUntil": _iso(EPOCH + dt.timedelta(hours=1, minutes=30)),
        },
        "cancel.json": {"id": RUN_ID},
        "replay.json": {"id": "run_cm7k3newreplay0001xyz9876"},
        "tags.json": {"message": "Successfully set 1 new tags."},
    }
    paths = {}
    for name, body in bodies.items():
        path = directory / name
        text = json.dumps(body, separators=(",", ":"))
        assert "'" not in text and "$" not in text and "\\" not in text, "bodies are inlined in nginx `return`"
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
        paths[name] = path
    return paths
