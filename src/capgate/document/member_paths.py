"""The JSONPaths that capgate's own extensions take (`pagination.next`, `pagination.items`): one place in a
JSON value, `$` followed by `.name`, `['name']` or `[index]` steps.

A cursor or a list of items sits at one place, so this subset is enough, can be checked when a document is
loaded, and needs no JSONPath library on the way (output mappings, which may select many values, use one).
A path of names only can also rebuild the object around a value found there (`place`), which `capgate call
--all` uses to answer every page's items in the shape of one page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_STEP = re.compile(r"\.([A-Za-z_$][\w$-]*)|\[(\d+)\]|\['((?:[^'\\]|\\.)*)'\]|\[\"((?:[^\"\\]|\\.)*)\"\]")


@dataclass(frozen=True)
class MemberPath:
    """A parsed path; `steps` are member names (str) and list indexes (int), from the root."""

    text: str
    steps: tuple[str | int, ...]

    def find(self, value: Any) -> Any:
        """The value at this path, or None when the value has no such place."""
        for step in self.steps:
            if isinstance(step, int):
                if not isinstance(value, list) or step >= len(value):
                    return None
            elif not isinstance(value, dict) or step not in value:
                return None
            value = value[step]
        return value

    def place(self, value: Any) -> Any:
        """`value` wrapped in the objects this path walks through: `$.data` and `[1]` give `{"data": [1]}`.

        Only for paths of member names (`placeable`)."""
        assert self.placeable, "checked by the caller"
        for step in reversed(self.steps):
            value = {step: value}
        return value

    @property
    def placeable(self) -> bool:
        return all(isinstance(step, str) for step in self.steps)


def parse_member_path(text: str) -> MemberPath:
    """Parse `text`; ValueError says what is wrong and what is accepted."""
    if not text.startswith("$"):
        raise ValueError(f"{text!r} must start with $ (the answer's root), e.g. $.pagination.next")
    steps: list[str | int] = []
    position = 2 if text == "$." else 1  # `$.` is the root too, as output mappings spell it
    while position < len(text):
        match = _STEP.match(text, position)
        if match is None:
            raise ValueError(
                f"{text!r}: cannot read {text[position:]!r}; use .name, ['name'] or [index] steps, "
                "e.g. $.pagination.next (filters, wildcards and .. select many values and are not accepted)"
            )
        name, index, single, double = match.groups()
        if index is not None:
            steps.append(int(index))
        else:
            quoted = single if single is not None else double
            steps.append(name if name is not None else re.sub(r"\\(.)", r"\1", quoted))
        position = match.end()
    return MemberPath(text, tuple(steps))
