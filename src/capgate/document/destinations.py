"""Where a document sends the secrets it binds: checked before anything is sent, for documents from others.

A document can bind any environment variable or file and put it in any request; whoever serves a document
someone else wrote lends it the machine's secrets. So, for each consumed namespace's URL (the document's
`baseUri`, or the operator's `--base-uri`):
- a URL with a user name or password in it is refused: credentials go in `authentication`, from binds;
- a link-local or cloud-metadata host (169.254.169.254, metadata.google.internal, fe80::…) is refused unless
  the operator names it (`--allow-private-upstream HOST`): it hands out the machine's own credentials;
- plain http to a host that is not this machine is a warning: the key would travel unencrypted;
and each bound variable goes to one origin only (scheme, host and port): the origin of the API whose
authentication, parameter or tool input uses it first. A variable that reaches two origins is refused where
it reaches the second. `file://` locations of binds must not carry a user name, password or host either.

`capgate validate` prints these as `file:line: path: message`; `serve` and `call` refuse to start on an error.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from capgate.core.destinations import forbidden, is_loopback
from capgate.core.errors import Problem
from capgate.document.check import bind_variables
from capgate.document.models import ConsumesHttp, Document, ExposesMcp, ExposesRest
from capgate.document.source import Path, SourceMap
from capgate.document.templates import placeholders

_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class Use:
    """One place a bound variable is sent from: the template's path in the document and the origin it goes to."""

    variable: str
    path: Path
    origin: str


def destination_problems(
    document: Document,
    source: SourceMap,
    *,
    base_uris: Mapping[str, str] | None = None,
    allowed_private: Collection[str] = (),
) -> list[Problem]:
    """Every problem with where the document sends requests and secrets, errors and warnings, in document order."""
    base_uris = base_uris or {}
    allowed = {host.lower().strip("[]") for host in allowed_private}
    problems: list[Problem] = []
    for index, consumes in enumerate(document.capability.consumes):
        where: Path = ("capability", "consumes", index, "baseUri")
        url = base_uris.get(consumes.namespace, consumes.base_uri)
        said = f"--base-uri {consumes.namespace}={url}: " if consumes.namespace in base_uris else ""
        problems += [
            source.problem(where, said + message, severity) for message, severity in _url_problems(url, allowed)
        ]
    for path, location in _bind_locations(document):
        parts = urlsplit(location)
        if parts.scheme != "file":
            continue  # not read by capgate: resolving the binds says so
        if parts.username is not None or parts.password is not None or parts.hostname not in (None, "", "localhost"):
            problems.append(
                source.problem(path, "a file:// location names a file on this machine: no user, password or host")
            )
    problems += _second_origins(secret_uses(document, base_uris), source)
    return problems


def secret_uses(document: Document, base_uris: Mapping[str, str] | None = None) -> list[Use]:
    """Each place a bound variable is put into a request, and the origin that request goes to."""
    variables = bind_variables(document)
    base_uris = base_uris or {}
    origins = {
        consumes.namespace: origin(base_uris.get(consumes.namespace, consumes.base_uri))
        for consumes in document.capability.consumes
    }
    return [
        Use(variables[name], path, origins[namespace])
        for path, namespace, text in _templates(document)
        if namespace in origins
        for name in placeholders(text)
        if name in variables
    ]


def origin(url: str) -> str:
    """`https://api.trigger.dev:443/x` -> `https://api.trigger.dev`: scheme, host and port, the port only if not
    the scheme's own."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    shown = f"[{host}]" if ":" in host else host
    try:
        port = parts.port
    except ValueError:  # not a port: the URL check says so
        port = None
    return f"{scheme}://{shown}" + (f":{port}" if port is not None and port != _DEFAULT_PORTS.get(scheme) else "")


def _url_problems(url: str, allowed: set[str]) -> Iterator[tuple[str, str]]:
    parts: SplitResult = urlsplit(url)
    if parts.username is not None or parts.password is not None:
        yield (
            "holds a user name or password (user:password@host); credentials do not belong in a URL, where logs and "
            "proxies see them: declare `authentication` with values from `binds`",
            "error",
        )
    host = (parts.hostname or "").lower()
    if not host:
        return
    why = forbidden(host)
    if why is not None and host not in allowed:
        yield (
            f"{host} is {why}, which hands out this machine's own credentials to whoever asks; if this document "
            f"is really meant to call it, pass --allow-private-upstream {host}",
            "error",
        )
    if parts.scheme.lower() == "http" and not is_loopback(host):
        yield (
            f"plain http to {host}: the upstream's key and every answer would travel unencrypted; use https",
            "warning",
        )


def _second_origins(uses: list[Use], source: SourceMap) -> Iterator[Problem]:
    """A problem at each use that sends a variable to an origin other than the one its first use sends it to."""
    first: dict[str, Use] = {}
    for use in uses:
        earlier = first.setdefault(use.variable, use)
        if earlier.origin != use.origin:
            line = source.line_of(earlier.path)
            yield source.problem(
                use.path,
                f"{use.variable} is a secret sent to {earlier.origin} (line {line}) and would be sent to "
                f"{use.origin} too; a secret goes only to the API it belongs to: bind another variable for this one",
            )


def _templates(document: Document) -> Iterator[tuple[Path, str, str]]:
    """Every text rendered with binds into a request, with the consumed namespace the request goes to."""
    for index, consumes in enumerate(document.capability.consumes):
        for path, text in _consumed_templates(consumes, ("capability", "consumes", index)):
            yield path, consumes.namespace, text
    for index, adapter in enumerate(document.capability.exposes):
        steps = (
            [(("tools", t), tool.call, tool.with_) for t, tool in enumerate(adapter.tools)]
            if isinstance(adapter, ExposesMcp)
            else [
                (("resources", r, "operations", o), operation.call, operation.with_)
                for r, resource in enumerate(adapter.resources)
                for o, operation in enumerate(resource.operations)
            ]
            if isinstance(adapter, ExposesRest)
            else []  # the skill and control adapters send nothing upstream
        )
        for step, call, with_ in steps:
            for target, value in (with_ or {}).items():
                if isinstance(value, str):
                    yield ("capability", "exposes", index, *step, "with", target), (call or "").partition(".")[0], value


def _consumed_templates(consumes: ConsumesHttp, base: Path) -> Iterator[tuple[Path, str]]:
    """Every text of a consumed namespace that is rendered with binds: authentication and parameter values."""
    auth = consumes.authentication
    if auth is not None:
        for field in ("token", "key", "value", "username", "password"):
            text = getattr(auth, field)
            if isinstance(text, str):
                yield (*base, "authentication", field), text
    for p, parameter in enumerate(consumes.input_parameters):
        yield (*base, "inputParameters", p, "value"), str(parameter.value or "")
    for r, resource in enumerate(consumes.resources):
        for p, parameter in enumerate(resource.input_parameters):
            yield (*base, "resources", r, "inputParameters", p, "value"), str(parameter.value or "")
        for o, operation in enumerate(resource.operations):
            for p, parameter in enumerate(operation.input_parameters):
                where = (*base, "resources", r, "operations", o, "inputParameters", p, "value")
                yield where, str(parameter.value or "")


def _bind_locations(document: Document) -> Iterator[tuple[Path, str]]:
    for index, bind in enumerate(document.binds):
        if bind.location:
            yield ("binds", index, "location"), bind.location
    for index, bind in enumerate(document.capability.binds):
        if bind.location:
            yield ("capability", "binds", index, "location"), bind.location
