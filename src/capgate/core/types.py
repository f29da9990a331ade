"""Words shared across capgate's layers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

JSON = Any
Arguments = Mapping[str, Any]


@dataclass(frozen=True)
class UpstreamResult:
    """What the upstream answered: status, the headers passed back (lower-case names), the raw body.

    Here rather than with the client that produces it, because the record of a call (`capgate.observe`)
    carries it too, and the observers sit below the upstream client.
    """

    status: int
    headers: dict[str, str]
    body: bytes
