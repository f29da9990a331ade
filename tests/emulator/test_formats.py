"""Ids, cursors, durations and dates in the live formats."""

from __future__ import annotations

import random
import re

import pytest

from trigger_emulator.dates import iso, parse_date
from trigger_emulator.durations import format_seconds, parse_delay, parse_period
from trigger_emulator.ids import Cursor, cuid, decode_cursor, encode_cursor, run_friendly_id


def test_minted_run_ids_have_the_live_shape_and_sort_by_time() -> None:
    rng = random.Random(1)
    earlier, later = run_friendly_id(1_700_000_000_000, rng), run_friendly_id(1_700_000_000_001, rng)
    for run_id in (earlier, later):
        assert re.fullmatch(r"run_[0-9a-v]{24}01", run_id)
    assert earlier[:14] < later[:14]
    assert re.fullmatch(r"c[0-9a-z]{24}", cuid(1_700_000_000_000, rng))


def test_cursors_round_trip_and_match_nodes_base64url() -> None:
    cursor = encode_cursor(1_700_000_000_000, "cabc")
    assert (
        cursor == "eyJjIjoxNzAwMDAwMDAwMDAwLCJyIjoiY2FiYyJ9"
    )  # Buffer.from('{"c":…,"r":"cabc"}').toString("base64url")
    assert decode_cursor(cursor) == Cursor(run_id="cabc", created_ms=1_700_000_000_000)


@pytest.mark.parametrize("legacy", ["cm1abcdefghijklmnopqrstuv", "eyJjIjoieCJ9", "!!!", "e30"])
def test_anything_else_is_a_legacy_bare_id_cursor(legacy: str) -> None:
    assert decode_cursor(legacy) == Cursor(run_id=legacy)


@pytest.mark.parametrize(
    ("text", "ms"),
    [("1h30m", 5_400_000), ("2d", 172_800_000), ("45s", 45_000), ("1w", 604_800_000), ("3hr", 10_800_000),
     ("1h 30m", None), ("1.5h", None), ("h", None), ("", None), ("1" * 100 + "s", None)],
)  # fmt: skip
def test_delay_durations(text: str, ms: int | None) -> None:
    assert parse_delay(text) == ms


@pytest.mark.parametrize(
    ("text", "ms"),
    [("7d", 604_800_000), ("1.5h", 5_400_000), ("2 days", 172_800_000), ("30m", 1_800_000), ("90", 90),
     ("1h30m", 5_400_000), ("soon", None), ("1 fortnight", None)],
)  # fmt: skip
def test_list_periods_follow_parse_duration(text: str, ms: float | None) -> None:
    assert parse_period(text) == ms


def test_numeric_ttls_become_duration_strings() -> None:
    assert [format_seconds(n) for n in (3600, 5400, 90061, 0)] == ["1h", "1h30m", "1d1h1m1s", None]


def test_dates_are_written_like_javascript_and_read_leniently() -> None:
    assert iso(1_700_000_000_123) == "2023-11-14T22:13:20.123Z"
    assert parse_date("2023-11-14T22:13:20.123Z") == 1_700_000_000_123
    assert parse_date("2023-11-14") == 1_699_920_000_000
    assert parse_date("Tue, 14 Nov 2023 22:13:20 GMT") == 1_700_000_000_000
    assert parse_date("1h") is None
