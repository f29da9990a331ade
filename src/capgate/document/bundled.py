"""The documents that ship with capgate, and how a command-line name finds its file.

Kept apart from the loader so that naming a document imports nothing heavier than this module.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from capgate.core.errors import DocumentError, Problem

DEFAULT_DOCUMENT = "trigger-dev-runs"


def bundled_documents() -> dict[str, Path]:
    """Bundled document name -> file."""
    folder = resources.files("capgate") / "documents"
    return {Path(str(entry)).stem: Path(str(entry)) for entry in folder.iterdir() if str(entry).endswith(".yaml")}


def resolve_source(name_or_path: str) -> Path:
    """A bundled name (`trigger-dev-runs`) or a file path -> the file to read."""
    bundled = bundled_documents()
    if name_or_path in bundled:
        return bundled[name_or_path]
    path = Path(name_or_path)
    if path.is_dir():
        inside = sorted(str(child) for child in path.iterdir() if child.suffix in (".yaml", ".yml"))[:3]
        hint = f", e.g. {', '.join(inside)}" if inside else ""
        raise DocumentError([Problem(name_or_path, None, "", f"is a directory; name the document's file in it{hint}")])
    if not path.is_file():
        known = ", ".join(sorted(bundled))
        what = "not a regular file" if path.exists() else "no such file"
        raise DocumentError([Problem(name_or_path, None, "", f"{what}, and not a bundled document ({known})")])
    return path
