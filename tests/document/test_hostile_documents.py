"""Hostile documents against `capgate validate`: each one paragraph with file:line, in bounded memory."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from capgate.core.errors import DocumentError
from capgate.document import source
from capgate.document.load import read_document
from tests.support.bombs import BOMBS
from tests.support.cli import CAPGATE, cli_env
from tests.support.memory import run_measured

# `capgate validate` of the default document peaks at about 40 MiB; a bomb may not add more than a few tens.
MEMORY_BOUND_MIB = 150


@pytest.mark.parametrize("bomb", BOMBS)
def test_validate_refuses_each_bomb_in_one_paragraph_with_its_line_and_bounded_memory(
    tmp_path: Path, bomb: str
) -> None:
    content, reason = BOMBS[bomb]
    path = tmp_path / "bomb.yaml"
    path.write_bytes(content)
    # The cap keeps a regression from taking the machine with it: without bounds, billion laughs took 4.9 GB.
    result = run_measured([*CAPGATE, "validate", str(path)], env=cli_env(), address_space_mib=1024)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr and "Error:" not in result.stderr
    [problem] = result.stdout.splitlines()  # one problem, one paragraph
    assert re.match(rf"^{re.escape(str(path))}(:\d+)?: ", problem) and reason in problem
    assert result.stderr == f"{path}: 1 error, 0 warnings\n"
    assert result.peak_rss_mib < MEMORY_BOUND_MIB, f"{bomb}: {result.peak_rss_mib:.0f} MiB"


def test_the_loader_reports_where_each_bomb_starts(tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    lines = {}
    for bomb, (content, _) in BOMBS.items():
        path.write_bytes(content)
        with pytest.raises(DocumentError) as raised:
            read_document(str(path))
        lines[bomb] = raised.value.problems[0].line
    assert lines == {
        "billion laughs": 10,  # the first alias that would pass the bound
        "recursive alias": 5,
        "10 000-deep flow nesting": 4,
        "100-deep block nesting": 67,  # the 65th level
        "200 000 values": 4,
        "a 100 000-digit number": 4,
        "invalid UTF-8": 3,
        "a PNG": 1,
        "a NUL character": 3,
        "5 MiB": None,  # the file as a whole
    }


def test_aliases_within_the_bounds_still_load(tmp_path: Path) -> None:
    path = tmp_path / "aliases.yaml"
    path.write_text(
        "naftiko: 1.0.0-alpha2\ninfo:\n  label: &name Echo\n  description: *name\n  tags: &tags [a, b]\n"
        "capability:\n  consumes: []\n  exposes: []\n  binds: []\nbinds:\n- namespace: env\n  keys: {A: A}\n"
        "  description: *name\n"
    )
    loaded = read_document(str(path))
    assert loaded.document.info is not None and loaded.document.info.description == "Echo"
    assert loaded.document.binds[0].description == "Echo" and loaded.document.info.tags == ["a", "b"]


# The value bound is the builder's, whichever parser feeds it; through the pure-Python parser, reaching it takes
# seconds, so that one case is left to the libyaml tests above.
@pytest.mark.parametrize("bomb", [bomb for bomb in BOMBS if bomb != "200 000 values"])
def test_the_pure_python_parser_is_bounded_the_same_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bomb: str
) -> None:
    """Where PyYAML was built without libyaml, the same bounds hold (libyaml also caps flow nesting itself)."""
    content, reason = BOMBS[bomb]
    monkeypatch.setattr(source, "_Parser", yaml.SafeLoader)
    path = tmp_path / "bomb.yaml"
    path.write_bytes(content)
    with pytest.raises(DocumentError) as raised:
        read_document(str(path))
    [problem] = raised.value.problems
    assert reason in problem.message or (bomb == "10 000-deep flow nesting" and "deeper than 64" in problem.message)


scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
documents = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=30,
)


@settings(max_examples=200, derandomize=True, deadline=None)
@given(value=documents, style=st.sampled_from([False, True, None]))
def test_values_load_as_yaml_safe_load_reads_them(value: object, style: bool | None) -> None:
    text = yaml.safe_dump({"root": value}, default_flow_style=style, allow_unicode=True)
    loaded, lines = source.load_yaml(text, "doc.yaml")
    assert loaded == yaml.safe_load(text)
    assert lines.line_of(("root",)) == 1
