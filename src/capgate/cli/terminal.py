"""Terminal output: tables that fit the window, colour only on a terminal, a progress line on stderr.

Colour and the progress line follow the conventions other CLIs follow: only when the stream is a terminal,
never with TERM=dumb, and no colour with NO_COLOR set. Piped output is plain text with nothing cut.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Collection, Sequence
from typing import TextIO

RESET = "\x1b[0m"
COLOURS = {"bold": "1", "dim": "2", "red": "31", "green": "32", "yellow": "33", "cyan": "36"}
ELLIPSIS = "…"
MIN_COLUMN = 6
SHORT_COLUMN = 12  # a table column this narrow is shown whole or left out, never cut
GAP = "  "

Painter = Callable[[str, str], str]  # (text, colour name) -> text, coloured or not


def _understands_escapes(stream: TextIO) -> bool:
    return stream.isatty() and os.environ.get("TERM") != "dumb"


def painter(stream: TextIO) -> Painter:
    """A function that colours text for `stream`, or leaves it plain when colour is not wanted there."""
    if not _understands_escapes(stream) or "NO_COLOR" in os.environ:
        return lambda text, colour: text
    return lambda text, colour: f"\x1b[{COLOURS[colour]}m{text}{RESET}" if colour and text else text


def terminal_width(stream: TextIO) -> int | None:
    """The window's width when `stream` is a terminal; None means nothing needs to fit."""
    return shutil.get_terminal_size().columns if stream.isatty() else None


def table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    width: int | None = None,
    paint: Painter = lambda text, colour: text,
    colour_of: Callable[[int, str], str] | None = None,
    whole: Collection[int] = (),
    hidden_hint: str = "",
) -> str:
    """Rows under bold headers, columns padded, fitted to `width`: cells are cut with …, and when that is not
    enough, the rightmost columns are left out (a last line names them, then says `hidden_hint`). The columns
    in `whole` hold what a person copies (identifiers): they are never cut nor left out."""
    widths = [max([len(header), *(len(row[i]) for row in rows)]) for i, header in enumerate(headers)]
    shown = list(range(len(headers)))
    if width is not None:
        shown, widths = _fit(widths, width, set(whole))
    lines = [_line([headers[i] for i in shown], [widths[i] for i in shown], ["bold"] * len(shown), paint)]
    for row in rows:
        colours = [colour_of(i, row[i]) if colour_of else "" for i in shown]
        lines.append(_line([row[i] for i in shown], [widths[i] for i in shown], colours, paint))
    left_out = [headers[i] for i in range(len(headers)) if i not in shown]
    if left_out:
        lines.append(paint(f"(not shown: {', '.join(left_out)}; {hidden_hint})", "dim"))
    return "\n".join(lines)


def _line(cells: Sequence[str], widths: Sequence[int], colours: Sequence[str], paint: Painter) -> str:
    # Padding goes outside the colour, so a coloured line ends where its text does.
    padded = []
    for cell, width, colour in zip(cells, widths, colours, strict=True):
        text = _cut(cell, width)
        padded.append(paint(text, colour) + " " * (width - len(text)))
    return GAP.join(padded).rstrip()


def key_values(
    pairs: Sequence[tuple[str, str]],
    *,
    width: int | None = None,
    paint: Painter = lambda text, colour: text,
    colour_of: Callable[[str, str], str] | None = None,
    whole: Callable[[str], bool] = lambda key: False,
) -> str:
    """`key  value` lines with the keys aligned; values cut to `width`, except those of keys `whole` names."""
    key_width = max((len(key) for key, _ in pairs), default=0)
    room = None if width is None else max(width - key_width - len(GAP), MIN_COLUMN)
    return "\n".join(
        _line(
            [key, value],
            [key_width, len(value) if room is None or whole(key) else room],
            ["bold", colour_of(key, value) if colour_of else ""],
            paint,
        )
        for key, value in pairs
    )


def _fit(widths: list[int], width: int, whole: set[int]) -> tuple[list[int], list[int]]:
    """The columns to show and their widths: the fewest columns left out (rightmost first, never one in
    `whole`) such that cutting the others, widest first, to no less than half their width fits `width`."""
    droppable = [i for i in reversed(range(len(widths))) if i not in whole]
    for dropped in range(len(droppable) + 1):
        shown = [i for i in range(len(widths)) if i not in droppable[:dropped]]
        room = width - len(GAP) * (len(shown) - 1)
        fitted = _narrowed(widths, shown, room, whole)
        if sum(fitted[i] for i in shown) <= room:
            return shown, fitted
    return shown, fitted  # identifiers alone are wider than the window: shown whole all the same


def _narrowed(widths: list[int], shown: list[int], room: int, whole: set[int]) -> list[int]:
    # A column cut to less than half of itself says little, and a short one (a status, a duration) nothing at all:
    # better to leave out the next column instead.
    floors = {i: widths[i] if widths[i] <= SHORT_COLUMN else max(SHORT_COLUMN, (widths[i] + 1) // 2) for i in shown}
    floors = {i: floor for i, floor in floors.items() if i not in whole}
    narrowed = list(widths)
    while sum(narrowed[i] for i in shown) > room:
        cuttable = [i for i in floors if narrowed[i] > floors[i]]
        if not cuttable:
            break
        narrowed[max(cuttable, key=lambda i: narrowed[i])] -= 1
    return narrowed


def _cut(text: str, width: int | None) -> str:
    text = text.replace("\n", " ")
    if width is None or len(text) <= width:
        return text
    return text[: max(width - 1, 0)] + ELLIPSIS


class Progress:
    """One status line on a terminal's stderr, rewritten in place; silent when stderr is not a terminal."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.active = _understands_escapes(stream)
        self.shown = False

    def update(self, text: str) -> None:
        if self.active:
            self.stream.write(f"\r\x1b[2K{text}")
            self.stream.flush()
            self.shown = bool(text)

    def done(self) -> None:
        if self.shown:
            self.update("")
