"""Read a small JSON or YAML configuration file (secrets, tokens) with messages that name it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from capgate.core.errors import ConfigurationError


def read_data_file(path: Path, label: str) -> Any:
    """The parsed file: JSON when it ends in .json, else YAML. `label` says who asked, for the message."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(f"{label}: cannot read {path} ({exc.strerror})") from None
    try:
        return json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError):
        raise ConfigurationError(f"{label}: {path} is not valid JSON or YAML") from None
