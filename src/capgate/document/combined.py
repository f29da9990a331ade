"""Several documents served by one gateway: each loaded and checked on its own, then against each other
(`capgate.document.cross_checks`), then combined into the one document the runtime serves.

A command line names documents by bundled name, by path, or by folder (each `*.yaml` and `*.yml` file in it, in
name order). The combined document keeps the first document's `info` and concatenates everything else, so the
runtime needs nothing new: consumed namespaces, tool names and REST routes are unique across the documents, or
loading stops with both places named.

Which document an adapter came from still matters for one thing, where it listens: the first document's
adapters keep their ports, and every later document's adapters join the first one's of their kind
(`capgate.document.listeners`), so that many documents share one REST port and one MCP endpoint.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from capgate.core.errors import DocumentError, Problem
from capgate.document.bundled import bundled_documents, resolve_source
from capgate.document.cross_checks import collisions
from capgate.document.listeners import served_together
from capgate.document.load import LoadedDocument, load_document
from capgate.document.models import Document

DOCUMENT_SUFFIXES = (".yaml", ".yml")

T = TypeVar("T")


@dataclass(frozen=True)
class LoadedDocuments:
    """The documents one gateway serves, each as loaded, and the one document they make together."""

    documents: tuple[LoadedDocument, ...]
    document: Document

    @property
    def files(self) -> list[str]:
        return [loaded.source.file for loaded in self.documents]

    def served_together(self, items: Sequence[T], spec_of: Callable[[T], object]) -> list[list[T]]:
        """`items` (one per adapter of one kind, `spec_of` giving its adapter) grouped by the listener that
        serves them (`capgate.document.listeners`)."""
        owner = {
            id(adapter): index
            for index, loaded in enumerate(self.documents)
            for adapter in loaded.document.capability.exposes
        }
        per_document = [
            [item for item in items if owner[id(spec_of(item))] == index] for index in range(len(self.documents))
        ]
        return served_together(per_document)


def document_sources(names: Sequence[str]) -> list[str]:
    """Each bundled name or file as given, each folder as the documents in it; DocumentError for a folder
    without any, or a document named twice."""
    assert not isinstance(names, str), "a list of names, not one name"
    sources: list[str] = []
    seen: dict[Path, str] = {}
    for name in names:
        path = Path(name)
        found = [name] if name in bundled_documents() or not path.is_dir() else _folder(path)
        for source in found:
            resolved = resolve_source(source).resolve()
            if resolved in seen:
                raise DocumentError(
                    [Problem(source, None, "", f"is named twice (also as {seen[resolved]}); name each document once")]
                )
            seen[resolved] = source
            sources.append(source)
    return sources


def load_documents(names: Sequence[str]) -> LoadedDocuments:
    """Load every document (bundled names, paths and folders), check them against each other and combine them;
    DocumentError lists every problem of every document."""
    assert names, "the command line names the default document when the user names none"
    loaded: list[LoadedDocument] = []
    problems: list[Problem] = []
    for source in document_sources(names):
        try:
            loaded.append(load_document(source))
        except DocumentError as exc:
            problems += exc.problems
    problems += collisions(loaded)
    if problems:
        raise DocumentError(problems)
    return LoadedDocuments(tuple(loaded), combine(loaded))


def combine(documents: Sequence[LoadedDocument]) -> Document:
    """One document serving what all of them do: the first one's `info`, everyone's binds, consumes and exposes."""
    first = documents[0].document
    if len(documents) == 1:
        return first
    capability = first.capability
    lists = {
        name: [item for loaded in documents for item in getattr(loaded.document.capability, name)]
        for name in type(capability).model_fields
        if isinstance(getattr(capability, name), list)
    }
    return first.model_copy(
        update={
            "binds": [bind for loaded in documents for bind in loaded.document.binds],
            "capability": capability.model_copy(update=lists),
        }
    )


def _folder(path: Path) -> list[str]:
    found = sorted(str(entry) for entry in path.iterdir() if entry.suffix in DOCUMENT_SUFFIXES and entry.is_file())
    if not found:
        raise DocumentError(
            [Problem(str(path), None, "", "this folder holds no document (*.yaml or *.yml); name the documents")]
        )
    return found
