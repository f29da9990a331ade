"""Terminal output: tables that fit the window, colour only on a terminal, a progress line on stderr.

Colour and the progress line follow the conventions other CLIs follow: only when the stream is a terminal,
never with TERM=dumb, and no colour with NO_COLOR set. Piped output is plain text with nothing cut.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Sequence
from typing import TextIO

RESET = "\x1b[0m"
COLOURS = {"bold": "1", "dim": "2", "red": "31", "green": "32", "yellow": "33", "cyan": "36"}
ELLIPSIS = "…"
MIN_COLUMN = 6
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
) -> str:
    """Rows under bold headers, columns padded; cells are cut with … when the table must fit `width`."""
    widths = [max([len(header), *(len(row[i]) for row in rows)]) for i, header in enumerate(headers)]
    if width is not None:
        widths = _fit(widths, width - len(GAP) * (len(headers) - 1))
    lines = [_line(headers, widths, ["bold"] * len(headers), paint)]
    for row in rows:
        colours = [colour_of(index, cell) if colour_of else "" for index, cell in enumerate(row)]
        lines.append(_line(row, widths, colours, paint))
    return "\n".join(lines)


def _line(cells: Sequence[str], widths: list[int], colours: list[str], paint: Painter) -> str:
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
) -> str:
    """`key  value` lines with the keys aligned; values cut to `width`."""
    key_width = max((len(key) for key, _ in pairs), default=0)
    room = None if width is None else max(width - key_width - len(GAP), MIN_COLUMN)
    widths = [key_width, room or max((len(value) for _, value in pairs), default=0)]
    return "\n".join(
        _line([key, value], widths, ["bold", colour_of(key, value) if colour_of else ""], paint) for key, value in pairs
    )


def _fit(widths: list[int], room: int) -> list[int]:
    """Narrow the widest columns first until the total fits `room` (never below MIN_COLUMN)."""
    widths = list(widths)
    while sum(widths) > room:
        widest = max(range(len(widths)), key=lambda i: widths[i])
        if widths[widest] <= MIN_COLUMN:
            break
        widths[widest] -= 1
    return widths


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
