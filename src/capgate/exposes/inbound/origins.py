"""Which Host and Origin values a gateway answers: the same lists for the guard and the MCP SDK.

A web page must not drive a gateway on this machine (DNS rebinding, cross-site POSTs to cancel or replay),
so a request is answered only when its Host names this gateway and its Origin, if any, is allowed. The rule
is the MCP SDK's — a pattern is an exact value, or `NAME:*` for NAME with any port — but values are parsed
before they are compared: the SDK's `NAME:*` is a prefix match, which takes `127.0.0.1:evil.example` for
`127.0.0.1` with a port. So the guard checks both adapters with this module first, and the SDK checks its
copy of the lists (`capgate.exposes.mcp.server.transport_security`) on what is left.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from capgate.core.errors import ConfigurationError

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")
_REMEMBERED = 256  # Host and Origin values whose answer is kept
ANY_PORT = "*"

# RFC 9110 §7.2 `uri-host [":" port]`: a DNS name or IPv4 address, or an IPv6 address in brackets.
_NAME = r"(?P<name>[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])"
_HOST = re.compile(rf"{_NAME}(?::(?P<port>\d{{1,5}}|\*))?")
_ORIGIN = re.compile(rf"(?P<scheme>[a-z][a-z0-9+.-]*)://{_NAME}(?::(?P<port>\d{{1,5}}|\*))?")


@dataclass(frozen=True)
class Authority:
    """A Host or Origin, parsed: scheme ("" for a Host), name, port (None: none given; `*` in a pattern)."""

    scheme: str
    name: str
    port: str | None

    def matches(self, value: Authority) -> bool:
        if (self.scheme, self.name) != (value.scheme, value.name):
            return False
        return value.port is not None if self.port == ANY_PORT else self.port == value.port


class Origins:
    """The Host and Origin patterns one gateway answers; ConfigurationError names one that is not a pattern."""

    def __init__(self, hosts: tuple[str, ...], origins: tuple[str, ...]) -> None:
        self.hosts = hosts  # as given: the SDK gets the same lists
        self.origins = origins
        self._hosts = [_pattern(host, parse_host) for host in hosts]
        self._origins = [_pattern(origin, parse_origin) for origin in origins]
        self._answers: dict[tuple[str, str], bool] = {}  # (which, value) -> allowed: most requests repeat one

    @classmethod
    def allowed(
        cls, host: str, allowed_hosts: list[str] | None = None, allowed_origins: list[str] | None = None
    ) -> Origins:
        """Loopback, the bound host, and what the operator allowed; with or without a port."""
        names = [*LOOPBACK_HOSTS, *([] if host in ("0.0.0.0", "::") else [_bracketed(host)])]
        return cls(
            hosts=(*[f"{name}:*" for name in names], *names, *(allowed_hosts or [])),
            origins=(*[f"http://{name}:*" for name in names], *(allowed_origins or [])),
        )

    def host_ok(self, host: str) -> bool:
        return self._remembered(self._host_ok, host)

    def origin_ok(self, origin: str) -> bool:
        return self._remembered(self._origin_ok, origin)

    def _remembered(self, check: Callable[[str], bool], value: str) -> bool:
        key = (check.__name__, value)
        answer = self._answers.get(key)
        if answer is None:
            answer = check(value)
            if len(self._answers) >= _REMEMBERED:  # whoever sends many values pays for parsing them
                self._answers.clear()
            self._answers[key] = answer
        return answer

    def _host_ok(self, host: str) -> bool:
        parsed = parse_host(host)
        return parsed is not None and any(pattern.matches(parsed) for pattern in self._hosts)

    def _origin_ok(self, origin: str) -> bool:
        if not origin:
            return True  # browsers send no Origin on same-origin GETs
        parsed = parse_origin(origin)
        return parsed is not None and any(pattern.matches(parsed) for pattern in self._origins)


def parse_host(value: str, *, pattern: bool = False) -> Authority | None:
    """A Host header (or, with `pattern`, an allowed-host pattern) parsed; None when it is not one."""
    return _parsed(_HOST.fullmatch(value), "", pattern)


def parse_origin(value: str, *, pattern: bool = False) -> Authority | None:
    """An Origin header (RFC 6454 serialisation: scheme://host[:port], nothing more) parsed; None if not one."""
    match = _ORIGIN.fullmatch(value)
    return _parsed(match, match["scheme"] if match else "", pattern)


def _pattern(text: str, parse: Callable[..., Authority | None]) -> Authority:
    parsed = parse(text, pattern=True)
    if parsed is None:
        raise ConfigurationError(
            f"{text!r} is not a host or origin capgate can allow: give --allow-host HOST, HOST:PORT or HOST:*, "
            "and --allow-origin SCHEME://HOST, SCHEME://HOST:PORT or SCHEME://HOST:*"
        )
    return parsed


def _parsed(match: re.Match[str] | None, scheme: str, pattern: bool) -> Authority | None:
    if match is None:
        return None
    port = match["port"]
    if port == ANY_PORT and not pattern:
        return None
    if port is not None and port != ANY_PORT and int(port) > 65535:
        return None
    return Authority(scheme, match["name"], port)


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host
