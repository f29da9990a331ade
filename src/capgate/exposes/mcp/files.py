"""Static MCP resources: a resource with `location: file:///dir` is every file under that directory.

As the format's engine serves them: `resources/list` has one entry per file, its URI the resource's `uri`,
`/`, and the file's path under the directory; `resources/read` of such a URI answers the file's text. A path
is made of safe segments only and must stay inside the directory, symlinks followed (`capgate.core.locations`).
A file is served up to 4 MiB, with any secret the gateway holds redacted from it.
"""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from capgate.core.datafile import FileTooLarge, read_text_within
from capgate.core.locations import LocationError, file_location, inside
from capgate.core.redaction import redact
from capgate.document.models import McpResource
from capgate.exposes.mcp.sdk import MCPError

INVALID_PARAMS = -32602
MAX_FILE_BYTES = 4 * 1024 * 1024  # what one `resources/read` of a file answers at most
_MIME_TYPES = {".md": "text/markdown", ".yaml": "application/yaml", ".yml": "application/yaml"}


@dataclass(frozen=True)
class StaticResource:
    """One static resource: its declaration and the directory it serves."""

    spec: McpResource
    root: Path

    def owns(self, uri: str) -> bool:
        return uri.startswith(self.spec.uri.rstrip("/") + "/")

    def listing(self) -> list[dict[str, Any]]:
        """An entry per file, for `resources/list`; none when the directory is not there."""
        if not self.root.is_dir():
            return []
        entries = []
        for path in sorted(self.root.rglob("*")):
            if path.is_file() and path.resolve().is_relative_to(self.root.resolve()):
                entry: dict[str, Any] = {
                    "uri": f"{self.spec.uri.rstrip('/')}/{path.relative_to(self.root).as_posix()}",
                    "name": self.spec.name,
                    "mimeType": self._mime_type(path),
                }
                if self.spec.label:
                    entry["title"] = self.spec.label
                if self.spec.description:
                    entry["description"] = self.spec.description
                entries.append(entry)
        return entries

    def read(self, uri: str) -> dict[str, Any]:
        """The `resources/read` result of one of its files; an MCPError saying why not otherwise."""
        name = uri[len(self.spec.uri.rstrip("/")) + 1 :]
        try:
            path = inside(self.root, name)
        except LocationError as exc:
            raise MCPError(INVALID_PARAMS, f"{uri}: {exc}") from None
        if not path.is_file():
            raise MCPError(INVALID_PARAMS, f"no resource {uri!r}: {name} is not a file of {self.spec.name}")
        try:
            text = read_text_within(path, MAX_FILE_BYTES, errors="replace")
        except FileTooLarge:
            raise MCPError(
                INVALID_PARAMS,
                f"{uri}: the file is larger than {MAX_FILE_BYTES} bytes, more than a "
                "resource is served at; split it, or serve it another way",
            ) from None
        except OSError as exc:
            raise MCPError(INVALID_PARAMS, f"{uri}: cannot read it ({exc.strerror})") from None
        # A key file left in the directory must not go out as it is.
        contents = {"uri": uri, "mimeType": self._mime_type(path), "text": redact(text)}
        return {"contents": [contents], "resultType": "complete"}

    def _mime_type(self, path: Path) -> str:
        return (
            self.spec.mime_type
            or _MIME_TYPES.get(path.suffix)
            or mimetypes.guess_type(path.name)[0]
            or "application/octet-stream"
        )


def static_resource(spec: McpResource) -> StaticResource:
    assert spec.location is not None, "only for resources with a location"
    return StaticResource(spec, file_location(spec.location))
