"""Where the adapters of documents served together listen: the rule the server, `validate` and the reports share.

Each adapter of the first document that has adapters of a kind (REST, MCP) keeps a listener of its own, on its
own port; every later document's adapters of that kind join the first of them. So many documents share one
REST port and one MCP endpoint, and one document is served exactly as it would be alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")


def served_together(per_document: Sequence[Sequence[T]]) -> list[list[T]]:
    """Adapters of one kind, listed per document in document order, grouped by the listener that serves them."""
    groups: list[list[T]] = []
    for adapters in per_document:
        if groups:
            groups[0].extend(adapters)
        else:
            groups = [[adapter] for adapter in adapters]
    return groups
