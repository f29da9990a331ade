"""The paging hint of a list result, followed as an agent would: copied as it is, against the emulator."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from mcp import Client

from tests.exposes.mcp.conftest import Served, fetch, texts

pytestmark = pytest.mark.anyio


def hints(result: Any) -> dict[str, tuple[str, dict[str, Any]] | None]:
    """`next page` / `previous page` -> (tool, arguments) of the call the hint gives, or None for `no … page`."""
    found: dict[str, tuple[str, dict[str, Any]] | None] = {}
    for line in texts(result)[-1].splitlines():
        for direction in ("next page", "previous page"):
            if line == f"no {direction}":
                found[direction] = None
            elif line.startswith(f"{direction}: "):
                tool, _, arguments = line.removeprefix(f"{direction}: ").partition(" ")
                found[direction] = (tool, orjson.loads(arguments))
    assert set(found) == {"next page", "previous page"}, "each list result says whether each page exists"
    return found


def ids(result: Any) -> list[str]:
    return [run["id"] for run in result.structured_content["data"]]


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_following_the_hints_walks_every_page_and_back(served: Served, mode: str) -> None:
    served.emulator.reset()
    _, real = fetch(served.emulator, "/api/v1/runs?page%5Bsize%5D=100&filter%5BtaskIdentifier%5D=resize-image")
    expected = [run["id"] for run in real["data"]]
    assert 10 < len(expected) < 100, "the seed makes several pages of 4 and fits in one of 100"
    arguments: dict[str, Any] = {"page.size": 4, "filter.taskIdentifier": ["resize-image"]}
    async with Client(served.gateway.mcp, mode=mode) as client:
        first = await client.call_tool("list-runs", arguments)
        assert hints(first)["previous page"] is None
        pages, result = [ids(first)], first
        while (hint := hints(result)["next page"]) is not None:
            tool, following = hint
            assert tool == "list-runs"
            assert following["filter.taskIdentifier"] == ["resize-image"] and following["page.size"] == 4, (
                "the filters carry over"
            )
            result = await client.call_tool(tool, following)
            pages.append(ids(result))
            assert len(pages) < 30, "the hints end"
        back = hints(result)["previous page"]
        assert back is not None and set(back[1]) == {"page.size", "filter.taskIdentifier", "page.before"}
        previous = await client.call_tool(*back)
    walked = [run for page in pages for run in page]
    assert walked == expected, "every run once, newest first, as one page of 100 lists them"
    assert set(ids(previous)) == set(pages[-2]), "the previous page of the last page is the page before it"


async def test_a_hint_names_the_tools_cursor_input_not_the_upstreams(served: Served) -> None:
    async with Client(served.gateway.mcp) as client:
        result = await client.call_tool("list-runs", {"page[size]": 2})  # the bracket spelling is accepted too
    next_page = hints(result)["next page"]
    assert next_page is not None
    tool, arguments = next_page
    assert set(arguments) == {"page.size", "page.after"}
    assert arguments["page.after"] == result.structured_content["pagination"]["next"]  # type: ignore[index]
