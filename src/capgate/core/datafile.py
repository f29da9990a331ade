"""Read a small file a document or a flag names (secrets, tokens, prompts, served files) within a bound, and a
JSON or YAML configuration file with messages that name it."""

from __future__ import annotations

import errno
import json
from pathlib import Path
from typing import Any

import yaml

from capgate.core.errors import ConfigurationError

MAX_DATA_FILE_BYTES = 1024 * 1024  # a secrets, tokens or binds file, or a prompt's text: far more than any needs


class FileTooLarge(OSError):
    """A file over the bound it is read within; `strerror` says so."""

    def __init__(self, path: Path, max_bytes: int) -> None:
        super().__init__(errno.EFBIG, f"larger than {max_bytes} bytes", str(path))


def read_text_within(path: Path, max_bytes: int = MAX_DATA_FILE_BYTES, *, errors: str = "strict") -> str:
    """The UTF-8 text of `path`, read no further than `max_bytes`: FileTooLarge beyond them (an OSError, as
    any other failure to read it)."""
    with path.open("rb") as stream:
        data = stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise FileTooLarge(path, max_bytes)
    return data.decode("utf-8", errors=errors)


def read_data_file(path: Path, label: str) -> Any:
    """The parsed file: JSON when it ends in .json, else YAML. `label` says who asked, for the message."""
    try:
        text = read_text_within(path)
    except FileTooLarge as exc:
        raise ConfigurationError(
            f"{label}: {path} is {exc.strerror}, which no such file needs; is it the right one?"
        ) from None
    except OSError as exc:
        raise ConfigurationError(f"{label}: cannot read {path} ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise ConfigurationError(f"{label}: {path} is not UTF-8 text; is it the right file?") from None
    try:
        return json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError):
        raise ConfigurationError(f"{label}: {path} is not valid JSON or YAML") from None
