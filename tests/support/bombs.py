"""Hostile capability documents: each small to send, each a fault in the reader if it is not bounded."""

from __future__ import annotations

HEADER = "naftiko: 1.0.0-alpha2\ncapability:\n  consumes: []\n"


def billion_laughs() -> bytes:
    """Nine levels of nine aliases over nine strings: 500 bytes that expand to 9^10 (3.5 billion) strings."""
    levels = ['  l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    levels += [f"  l{n}: &l{n} [{', '.join([f'*l{n - 1}'] * 9)}]" for n in range(1, 10)]
    return (HEADER + "  laughs:\n" + "\n".join("  " + level for level in levels) + "\n").encode()


# What each bomb is, and a fragment of the one paragraph that must refuse it.
BOMBS: dict[str, tuple[bytes, str]] = {
    "billion laughs": (billion_laughs(), "once its aliases are followed"),
    "recursive alias": (HEADER.encode() + b"  loop: &loop\n    again: *loop\n", "inside its own anchor"),
    "10 000-deep flow nesting": (HEADER.encode() + b"  deep: " + b"[" * 10_000 + b"]" * 10_000 + b"\n", "nest"),
    "100-deep block nesting": (
        (HEADER + "".join("  " * (depth + 1) + f"k{depth}:\n" for depth in range(100)) + "  " * 101 + "x\n").encode(),
        "deeper than 64 levels",
    ),
    "200 000 values": (HEADER.encode() + b"  wide: [" + b"0," * 200_000 + b"0]\n", "more than 100,000 values"),
    "a 100 000-digit number": (HEADER.encode() + b"  port: " + b"9" * 100_000 + b"\n", "thousands of digits"),
    "invalid UTF-8": (b"naftiko: 1.0.0-alpha2\ninfo:\n  label: caf\xe9\n", "not UTF-8"),
    "a PNG": (b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR" + bytes(range(256)) * 4, "binary file"),
    "a NUL character": (b"naftiko: 1.0.0-alpha2\ninfo:\n  label: a\0b\n", "U+0000"),
    "5 MiB": (HEADER.encode() + b"  big: '" + b"x" * (5 * 1024 * 1024) + b"'\n", "larger than 4 MiB"),
}
