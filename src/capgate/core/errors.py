"""capgate's one exception tree.

    CapgateError
      DocumentError          a document cannot be served; str() is "file:line: path.to.field: message"
      ConfigurationError     the environment or command line is wrong (a missing secret, a taken port)
      ArgumentError          a caller's input is wrong; raised before any upstream call
      AuditUnavailable       the audit log cannot record a call that changes something, so it is not sent
      UpstreamError          the upstream could not give an HTTP answer
        UpstreamTimeout        it did not answer in time
        UpstreamUnavailable    it could not be reached (refused, reset, DNS)
          CircuitOpen            it failed repeatedly; calls fail fast until a probe succeeds
        UpstreamProtocolError  it answered with something that is not usable: bad HTTP, a body that is
                               truncated, too large, or not the JSON it claims to be

An upstream 4xx or 5xx is not an exception: it is a result passed back to the caller unchanged.
No error's str() or repr() ever contains a secret: messages are built from names, never bound values.
"""

from __future__ import annotations

from dataclasses import dataclass


class CapgateError(Exception):
    """Base class of every error capgate raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a document, located in its source file."""

    file: str
    line: int | None
    path: str
    message: str
    severity: str = "error"  # "error" stops serving; a "warning" or a "note" does not

    def __str__(self) -> str:
        prefix = "" if self.severity == "error" else f"{self.severity}: "
        if self.line is None and not self.path:  # about the file itself: no such file, not UTF-8, too large
            return f"{self.file}: {prefix}{self.message}"
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return f"{where}: {self.path or '(document)'}: {prefix}{self.message}"


class DocumentError(CapgateError):
    """The document cannot be served. `capgate validate` prints each problem; `serve` exits with code 2."""

    def __init__(self, problems: list[Problem], dialect: str | None = None) -> None:
        self.problems = problems
        self.dialect = dialect  # what the document says it is written in (`ikanos 1.0.0-beta5`), once known
        super().__init__("\n".join(str(p) for p in problems))


class ConfigurationError(CapgateError):
    """The environment or the command line is wrong; `serve` prints the message and exits with code 2."""


class ArgumentError(CapgateError):
    """A caller's input is invalid. REST answers 400 problem+json; MCP answers a result with isError."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        self.errors = errors  # (parameter name, what is wrong and what is allowed)
        super().__init__("; ".join(f"{name}: {reason}" for name, reason in errors))


class AuditUnavailable(CapgateError):
    """The intent of a call that changes something could not be written to the audit log, so nothing was sent.
    REST answers 503 problem+json; MCP a result with isError."""

    status = 503
    title = "Service Unavailable"

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(
            f"the audit log {path} cannot be written ({reason}), so this call, which changes something, was not "
            "sent upstream; free disk space or fix --audit-log, then try again"
        )


class UpstreamError(CapgateError):
    """The upstream gave no usable HTTP answer. REST answers 502/504 problem+json; MCP a result with isError."""

    status = 502
    title = "Bad Gateway"

    def __init__(
        self,
        operation: str,
        method: str,
        url: str,
        reason: str,
        *,
        retry_after: float | None = None,
        connected: bool = True,
    ) -> None:
        self.operation = operation
        self.method = method
        self.url = url  # built without credentials: binds never go into URLs we report
        self.reason = reason
        self.retry_after = retry_after  # seconds after which trying again may succeed (REST: Retry-After)
        self.connected = connected  # False: no connection could be made at all (refused, DNS, connect timeout)
        super().__init__(f"{operation}: {method} {url}: {reason}")


class UpstreamTimeout(UpstreamError):
    """The upstream did not answer within the configured timeout."""

    status = 504
    title = "Gateway Timeout"


class UpstreamUnavailable(UpstreamError):
    """The upstream could not be reached."""


class UpstreamProtocolError(UpstreamError):
    """The upstream's answer was not usable (malformed HTTP, truncated or oversized body)."""


class ClientRetired(UpstreamError):
    """The call outlived its gateway: a reload or shutdown closed the upstream client while the call was in hand
    (past the grace period). Nothing was sent for this attempt; a new call reaches the new gateway."""

    status = 503
    title = "Service Unavailable"


class CircuitOpen(UpstreamUnavailable):
    """The upstream failed repeatedly; calls fail fast, without reaching it, until a probe call succeeds."""

    status = 503
    title = "Service Unavailable"
