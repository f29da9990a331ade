"""Plausible task data: payloads, outputs, errors and costs, shared by the seed data and the simulation."""

from __future__ import annotations

import random
from typing import Any

# Cents per millisecond of compute, from the public machine prices ($/s ÷ 10).
_CENTS_PER_MS = {
    "micro": 0.00000169,
    "small-1x": 0.00000338,
    "small-2x": 0.00000675,
    "medium-1x": 0.0000085,
    "medium-2x": 0.00001698,
    "large-1x": 0.00003398,
    "large-2x": 0.00006796,
}
BASE_COST_CENTS = 0.0025

_FIRST = ("ada", "grace", "linus", "margaret", "alan", "barbara", "ken", "radia", "dennis", "frances")
_CUSTOMERS = ("acme", "globex", "initech", "umbrella", "hooli", "stark", "wayne", "tyrell")
_IMAGES = ("avatar", "banner", "product", "hero", "thumbnail")

_ERRORS: dict[str, tuple[tuple[str, str], ...]] = {
    "send-welcome-email": (("Error", "SMTP 421: service not available, closing transmission channel"),),
    "generate-invoice-pdf": (("TypeError", "Cannot read properties of undefined (reading 'lineItems')"),),
    "sync-crm-contacts": (("Error", "CRM API responded with 503 Service Unavailable"),),
    "upsert-crm-contact": (("Error", "Contact validation failed: email is required"),),
    "resize-image": (("RangeError", "Image dimensions exceed the 16384px limit"),),
    "nightly-report": (("Error", "Warehouse query timed out after 120000ms"),),
}


def cost_cents(machine: str, duration_ms: int) -> float:
    """Compute cost in cents for running `duration_ms` on `machine`."""
    return round(_CENTS_PER_MS.get(machine, _CENTS_PER_MS["small-1x"]) * duration_ms, 8)


def payload_for(task: str, rng: random.Random) -> Any:
    """A payload that task could have been triggered with."""
    name = rng.choice(_FIRST)
    if task == "send-welcome-email":
        return {"userId": f"user_{rng.randrange(1000, 9999)}", "email": f"{name}@example.com", "locale": "en"}
    if task == "generate-invoice-pdf":
        return {
            "invoiceId": f"inv_{rng.randrange(10000, 99999)}",
            "customer": rng.choice(_CUSTOMERS),
            "amountCents": rng.randrange(500, 250000),
            "currency": rng.choice(("usd", "eur", "gbp")),
        }
    if task == "sync-crm-contacts":
        return {"source": "hubspot", "since": "24h", "dryRun": rng.random() < 0.1}
    if task == "upsert-crm-contact":
        return {"contactId": f"hs_{rng.randrange(100000, 999999)}", "email": f"{name}@{rng.choice(_CUSTOMERS)}.com"}
    if task == "resize-image":
        return {
            "url": f"https://cdn.example.com/uploads/{rng.choice(_IMAGES)}-{rng.randrange(100, 999)}.png",
            "widths": [320, 640, 1280],
        }
    if task == "nightly-report":
        return {"type": "DECLARATIVE", "timezone": "UTC", "scheduleId": "", "upcoming": []}
    return {"example": True}


def output_for(task: str, payload: Any, rng: random.Random) -> Any:
    """What the task returned when it succeeded."""
    if task == "send-welcome-email":
        return {"messageId": f"<{rng.getrandbits(48):012x}@mail.example.com>", "accepted": True}
    if task == "generate-invoice-pdf":
        invoice = payload.get("invoiceId", "inv") if isinstance(payload, dict) else "inv"
        return {"url": f"https://files.example.com/invoices/{invoice}.pdf", "pages": rng.randrange(1, 6)}
    if task == "sync-crm-contacts":
        return {"synced": rng.randrange(0, 400), "skipped": rng.randrange(0, 20)}
    if task == "upsert-crm-contact":
        return {"created": rng.random() < 0.3}
    if task == "resize-image":
        return {"variants": [{"width": width, "bytes": width * rng.randrange(90, 160)} for width in (320, 640, 1280)]}
    if task == "nightly-report":
        return {"rows": rng.randrange(1000, 50000), "reportUrl": "https://reports.example.com/nightly/latest.csv"}
    return {"ok": True}


def error_for(task: str, rng: random.Random) -> dict[str, str]:
    """The error a failed run of this task reports, as `{message, name, stackTrace}`."""
    name, message = rng.choice(_ERRORS.get(task, (("Error", "Something went wrong in the task"),)))
    stack = f"{name}: {message}\n    at run (file:///src/trigger/{task}.ts:{rng.randrange(10, 90)}:11)"
    return {"message": message, "name": name, "stackTrace": stack}
