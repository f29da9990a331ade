"""A tool that waits (capgate's `wait` extension): its operation polled until the answer says the wait is over.

Each poll is an ordinary call of the operation through its binding, so it spends the upstream's request
budget, is paced, retried and recorded like any other call; the gaps between polls grow by `backoff` up to
`maxInterval`, so a long wait costs few calls. After each poll the caller's progress token (if it gave one)
gets a notification: the poll's number, which only grows, and a message naming the status. The wait ends
when the status is one of `until`, when the timeout has passed (the last answer is returned, saying that the
wait is not over), or at the first answer that is not a success.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import anyio
import orjson

from capgate.core.types import UpstreamResult
from capgate.document.member_paths import MemberPath, parse_member_path
from capgate.document.models import WaitSettings
from capgate.document.wait_checks import TIMEOUT

Report = Callable[[float, str], Awaitable[None]]  # (progress, message): a progress notification, if asked for
Poll = Callable[[], Awaitable[UpstreamResult]]


@dataclass(frozen=True)
class Waited:
    """How a wait ended: the last answer, the status it holds, and whether that status ends the wait."""

    result: UpstreamResult
    status: Any
    finished: bool
    polls: int
    seconds: float


@dataclass(frozen=True)
class WaitPlan:
    """A tool's `wait`, compiled: what to test, how often to poll, how long to wait by default and at most."""

    tool: str
    status: MemberPath
    until: tuple[Any, ...]
    interval: float
    backoff: float
    max_interval: float
    timeout: float
    max_timeout: float

    @classmethod
    def compile(cls, tool: str, settings: WaitSettings) -> WaitPlan:
        return cls(
            tool,
            parse_member_path(settings.status),
            tuple(settings.until),
            settings.interval,
            settings.backoff,
            settings.max_interval,
            settings.timeout,
            settings.max_timeout,
        )

    @property
    def timeout_schema(self) -> dict[str, Any]:
        """The input schema of `timeout`, capgate's own input of every tool that waits."""
        return {
            "type": "number",
            "exclusiveMinimum": 0,
            "maximum": self.max_timeout,
            "default": self.timeout,
            "description": f"Seconds to wait at most (default {self.timeout:g}, at most {self.max_timeout:g}); "
            "at the timeout the result is the current state, saying that it is not final yet.",
        }

    def timeout_of(self, value: Any) -> float:
        """The caller's `timeout` argument in seconds; ValueError says what is wrong."""
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= self.max_timeout:
            raise ValueError(
                f"{TIMEOUT} must be a number of seconds above 0 and at most {self.max_timeout:g}, not {value!r}"
            )
        return float(value)

    async def run(self, poll: Poll, report: Report, timeout: float | None = None) -> Waited:
        """Poll until the status ends the wait, `timeout` seconds have passed (the default if None), or an
        answer is not a success; what `poll` raises is raised."""
        started = time.monotonic()
        deadline = started + (self.timeout if timeout is None else timeout)
        gaps = self._gaps()
        polls = 0
        while True:
            result = await poll()
            polls += 1
            seconds = time.monotonic() - started
            if not 200 <= result.status < 300:
                return Waited(result, None, False, polls, seconds)
            status = self.status.find(_parsed(result.body))
            await report(polls, f"{_shown(status)} after {seconds:.1f} s (poll {polls})")
            finished = any(type(status) is type(value) and status == value for value in self.until)
            remaining = deadline - time.monotonic()
            if finished or remaining <= 0:
                return Waited(result, status, finished, polls, seconds)
            await anyio.sleep(min(next(gaps), remaining))

    def statement(self, waited: Waited) -> str:
        """One line for a model: the wait is over, or it is not and how to go on waiting."""
        polls = f"{waited.polls} poll{'s' if waited.polls != 1 else ''}"
        field = self.status.text.removeprefix("$.")
        if waited.finished:
            return f"Finished after {waited.seconds:.1f} s ({polls}): {field} is {_shown(waited.status)}."
        ending = ", ".join(_shown(value) for value in self.until)
        return (
            f"Still running after {waited.seconds:.1f} s ({polls}): {field} is {_shown(waited.status)}, not yet one "
            f"of {ending}. Call {self.tool} again with the same arguments to keep waiting "
            f"({TIMEOUT} up to {self.max_timeout:g} s)."
        )

    def _gaps(self) -> Iterator[float]:
        gap = self.interval
        while True:
            yield gap
            gap = min(gap * self.backoff, self.max_interval)


def with_statement(result: dict[str, Any], statement: str, *, separate: bool) -> dict[str, Any]:
    """`result` (a tool result) saying `statement` first: on the first line of its compact text, or, when its
    text is JSON (`separate`: `--mcp-text json`, `verbose`), in a text block of its own after it."""
    content = result["content"]
    if separate or not content or content[0].get("type") != "text":
        return {**result, "content": [*content, {"type": "text", "text": statement}]}
    first = {**content[0], "text": f"{statement}\n{content[0]['text']}"}
    return {**result, "content": [first, *content[1:]]}


def _parsed(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return None


def _shown(value: Any) -> str:
    return value if isinstance(value, str) else orjson.dumps(value).decode()
