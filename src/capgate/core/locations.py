"""`file://` locations in a document (bind files, skill and MCP resource directories, prompt files).

`file:///./x` and `file://./x` are relative to the working directory, as the reference engine reads them; any
other `file:` URI is an absolute path. A name inside a location directory is made of safe segments only
(letters, digits, `.`, `_`, `-`; never `..`) and, symlinks followed, must stay inside it.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urlparse

_SAFE_SEGMENT = re.compile(r"^[a-zA-Z0-9._-]+$")


class LocationError(ValueError):
    """A location, or a name inside one, cannot be used; the message says why."""


def file_location(uri: str) -> Path:
    """The path a `file:` URI names; LocationError for another scheme."""
    parsed = urlparse(uri)
    if parsed.scheme != "file":
        raise LocationError(f"{uri!r} is not a file:/// location")
    named = unquote(parsed.netloc + parsed.path)
    return Path(named[3:] if named.startswith("/./") else named)


def inside(root: Path, name: str) -> Path:
    """`name` (`a/b.md`) inside the directory `root`, refusing unsafe segments and escapes."""
    segments = name.split("/")
    for segment in segments:
        if not _SAFE_SEGMENT.match(segment) or segment in (".", ".."):
            raise LocationError(f"unsafe path segment {segment!r}: use letters, digits, '.', '_' and '-'")
    base = root.resolve()
    target = base.joinpath(*segments).resolve()
    if not target.is_relative_to(base):
        raise LocationError(f"{name!r} leaves the location directory")
    return target
