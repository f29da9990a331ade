"""Small files a document or a flag names (binds, tokens, caller binds, prompts) are read within a bound, with a
message that names the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from capgate.core.datafile import MAX_DATA_FILE_BYTES, FileTooLarge, read_data_file, read_text_within
from capgate.core.errors import ConfigurationError


def test_a_file_over_the_bound_is_refused_naming_it(tmp_path: Path) -> None:
    huge = tmp_path / "secrets.yaml"
    huge.write_bytes(b"KEY: " + b"x" * MAX_DATA_FILE_BYTES)
    with pytest.raises(ConfigurationError, match=f"binds: {huge} is larger than {MAX_DATA_FILE_BYTES} bytes"):
        read_data_file(huge, "binds")
    with pytest.raises(FileTooLarge):
        read_text_within(huge)


def test_a_file_within_the_bound_or_not_text_says_so(tmp_path: Path) -> None:
    exact = tmp_path / "tokens.json"
    exact.write_text('{"a": "' + "x" * (MAX_DATA_FILE_BYTES - 10) + '"}')
    assert len(read_data_file(exact, "tokens")["a"]) == MAX_DATA_FILE_BYTES - 10
    binary = tmp_path / "key.yaml"
    binary.write_bytes(b"\xff\xfe\x00binary")
    with pytest.raises(ConfigurationError, match=f"tokens: {binary} is not UTF-8 text"):
        read_data_file(binary, "tokens")
