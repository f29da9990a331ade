"""Identifiers in the live formats: friendly run ids, internal cuids, and the opaque list cursor.

- A run's friendly id is `run_` + 26 chars of base32hex `[0-9a-v]`: a 24-char core (6-byte ms timestamp +
  9 random bytes), a shard char and a version char; the emulator always mints shard `0`, version `1`.
- Internal ids (runs, schedules, batches, environments) are cuid-like: `c` + 24 chars of `[0-9a-z]`.
- A list cursor is base64url (no padding) of `{"c":<createdAtMs>,"r":"<internal run id>"}`. Anything that
  does not decode to that is a legacy cursor: a bare internal id.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
from dataclasses import dataclass

_BASE32HEX = "0123456789abcdefghijklmnopqrstuv"
_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"


def _base36(number: int, width: int) -> str:
    digits = []
    while number:
        number, digit = divmod(number, 36)
        digits.append(_BASE36[digit])
    return "".join(reversed(digits)).rjust(width, "0")[-width:]


def run_friendly_id(created_ms: int, rng: random.Random) -> str:
    """A fresh `run_…` id whose core starts with `created_ms`, so ids sort roughly by creation time."""
    core = int.from_bytes(created_ms.to_bytes(6, "big") + rng.randbytes(9), "big")  # 120 bits = 24 chars
    chars = [_BASE32HEX[(core >> shift) & 31] for shift in range(115, -1, -5)]
    return "run_" + "".join(chars) + "01"


def cuid(created_ms: int, rng: random.Random) -> str:
    """A cuid-shaped internal id: `c` + 8 base36 chars of time + 16 random base36 chars."""
    return "c" + _base36(created_ms, 8) + "".join(rng.choice(_BASE36) for _ in range(16))


def stable_cuid(*parts: str) -> str:
    """A cuid-shaped id that is the same every time for the same parts (environments, seeded schedules)."""
    digest = hashlib.sha256("\x00".join(parts).encode()).digest()
    return "c" + _base36(int.from_bytes(digest, "big"), 24)


@dataclass(frozen=True)
class Cursor:
    """A decoded list cursor: `created_ms` is None for a legacy bare-id cursor."""

    run_id: str
    created_ms: int | None = None


def encode_cursor(created_ms: int, run_id: str) -> str:
    """The opaque cursor for a row, exactly as `Buffer.from(JSON.stringify({c, r})).toString("base64url")`."""
    raw = json.dumps({"c": created_ms, "r": run_id}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(text: str) -> Cursor:
    """Read a cursor; anything that is not the composite form is a legacy cursor holding a bare internal id."""
    try:
        data = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (ValueError, UnicodeDecodeError):
        return Cursor(run_id=text)
    if isinstance(data, dict):
        created, run_id = data.get("c"), data.get("r")
        if isinstance(created, float) and created.is_integer():
            created = int(created)  # JSON `1.0` is an integer to zod
        if isinstance(created, int) and not isinstance(created, bool) and isinstance(run_id, str) and run_id:
            return Cursor(run_id=run_id, created_ms=created)
    return Cursor(run_id=text)
