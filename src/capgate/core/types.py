"""Words shared across capgate's modules."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

JSON = Any
Arguments = Mapping[str, Any]
