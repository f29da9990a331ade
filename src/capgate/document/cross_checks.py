"""Checks of documents served together, which no document can fail on its own: each problem is located in one
document and names the place in the other.

- `collisions`: what one gateway can hold only once — a consumed namespace, an MCP tool or resource, a REST
  route (its method and path shape; one path spelled two ways too), a bind variable bound two ways.
- `secret_origin_problems`: a bound variable one document sends to one origin and another to another (each
  document alone is checked by `capgate.document.destinations`).
- `budget_problems`: namespaces that call one upstream origin but declare different request budgets. The budget
  is the origin's (one per origin and key), so `origin_budgets` gives it to the namespaces that declare none.
- `port_notes`: the ports of the later documents' adapters, which the first document's replace; and
  `tool_count_warnings`, when the one MCP endpoint they share has more tools than a client uses.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple
from urllib.parse import urlsplit

from capgate.core.errors import Problem
from capgate.document.check import CLIENT_TOOL_LIMIT
from capgate.document.destinations import origin, secret_uses
from capgate.document.listeners import served_together
from capgate.document.load import LoadedDocument
from capgate.document.models import ConsumesHttp, Document, ExposesMcp, ExposesRest, RateLimitSettings
from capgate.document.references import braced_path, path_pieces
from capgate.document.source import Path

Declarations = Iterator[tuple[Hashable, Path, str]]  # (what must be unique, where it is, how a message names it)


class _Budget(NamedTuple):
    burst: int
    refill: int
    interval: float

    def __str__(self) -> str:
        return f"{self.burst}/{self.refill}/{self.interval:g}s"


@dataclass(frozen=True)
class _Declared:
    index: int  # of its document
    loaded: LoadedDocument
    path: Path

    def place(self, *within: str | int) -> str:
        """`file:line` of the declaration, or of the part of it that `within` names."""
        line = self.loaded.source.line_of((*self.path, *within))
        return f"{self.loaded.source.file}:{line}" if line is not None else self.loaded.source.file


def collisions(documents: Sequence[LoadedDocument]) -> list[Problem]:
    """Everything two of the documents declare that the gateway serving them can hold only once."""
    if len(documents) < 2:
        return []
    one_endpoint = "one MCP endpoint serves the tools, resources and prompts of every document: rename one"
    return [
        *_unique(
            documents,
            _consumed_namespaces,
            "consumed namespaces must be unique across the documents served together: rename one, and the "
            "calls that name it",
        ),
        *_unique(documents, _tools, one_endpoint),
        *_unique(documents, _resources, one_endpoint),
        *_unique(documents, _prompts, one_endpoint),
        *_routes(documents),
        *_binds(documents),
    ]


def secret_origin_problems(documents: Sequence[LoadedDocument], base_uris: Mapping[str, str]) -> list[Problem]:
    """A problem where a document sends a bound variable to another origin than an earlier document does."""
    problems = []
    first: dict[str, tuple[str, _Declared]] = {}
    for index, loaded in enumerate(documents):
        for use in secret_uses(loaded.document, base_uris):
            sent, earlier = first.setdefault(use.variable, (use.origin, _Declared(index, loaded, use.path)))
            if earlier.index != index and sent != use.origin:
                problems.append(
                    loaded.source.problem(
                        use.path,
                        f"{use.variable} is a secret sent to {sent} ({earlier.place()}) and would be sent to "
                        f"{use.origin} too; a secret goes only to the API it belongs to: bind another variable "
                        "for this one",
                    )
                )
    return problems


def budget_problems(documents: Sequence[LoadedDocument], base_uris: Mapping[str, str]) -> list[Problem]:
    """Namespaces calling one origin (their `baseUri`, or the `--base-uri` given for them) with different budgets."""
    problems = []
    first: dict[str, tuple[_Budget, _Declared]] = {}
    for index, loaded in enumerate(documents):
        for position, consumes in enumerate(loaded.document.capability.consumes):
            budget = _budget(consumes.rate_limit)
            origin = _origin(base_uris.get(consumes.namespace, consumes.base_uri))
            if budget is None or origin is None:
                continue
            here = _Declared(index, loaded, ("capability", "consumes", position, "rateLimit"))
            if origin not in first:
                first[origin] = (budget, here)
            elif first[origin][0] != budget:
                other_budget, other = first[origin]
                problems.append(
                    loaded.source.problem(
                        here.path,
                        f"the request budget {budget} for {origin} differs from the {other_budget} "
                        f"declared at {other.place()}: calls to one origin with one key spend one budget; declare the "
                        "same burst, refill and interval in both, or set one for all with --rate-limit",
                    )
                )
    return problems


def origin_budgets(document: Document, base_uris: Mapping[str, str]) -> dict[str, RateLimitSettings]:
    """Each origin's request budget, as the first namespace calling it declares it (`budget_problems` finds
    namespaces that declare another)."""
    budgets: dict[str, RateLimitSettings] = {}
    for consumes in document.capability.consumes:
        origin = _origin(base_uris.get(consumes.namespace, consumes.base_uri))
        if origin is not None and consumes.rate_limit is not None and _budget(consumes.rate_limit) is not None:
            budgets.setdefault(origin, consumes.rate_limit)
    return budgets


def with_origin_budget(consumes: ConsumesHttp, budgets: Mapping[str, RateLimitSettings], base_uri: str) -> ConsumesHttp:
    """`consumes`, spending its origin's budget when it declares none of its own (its own `wait` and `headers`
    kept)."""
    budget = budgets.get(_origin(base_uri) or "")
    if budget is None or _budget(consumes.rate_limit) is not None:
        return consumes
    own = consumes.rate_limit or RateLimitSettings()
    shared = own.model_copy(update={"burst": budget.burst, "refill": budget.refill, "interval": budget.interval})
    return consumes.model_copy(update={"rate_limit": shared})


def port_notes(documents: Sequence[LoadedDocument]) -> list[Problem]:
    """A note on each port of a later document's REST or MCP adapter: the first document's port serves it."""
    notes = []
    for kind, what, flag in ((ExposesRest, "REST routes", "--rest-port"), (ExposesMcp, "MCP tools", "--mcp-port")):
        groups = served_together(_adapters(documents, kind))
        if not groups:
            continue
        first, *joined = groups[0]
        for here in joined:
            if here.index == first.index or here.adapter.port is None:
                continue
            notes.append(
                here.loaded.source.problem(
                    (*here.path, "port"),
                    f"port {here.adapter.port} is not used: served together, these {what} share the first "
                    f"document's port, {first.adapter.port} ({first.place('port')}), unless {flag} gives another",
                    "note",
                )
            )
    return notes


def tool_count_warnings(documents: Sequence[LoadedDocument]) -> list[Problem]:
    """A warning when the first MCP endpoint, which serves every later document's tools too, has more tools
    than a client uses."""
    groups = served_together(_adapters(documents, ExposesMcp))
    tools = sum(len(here.adapter.tools) for here in groups[0] if isinstance(here.adapter, ExposesMcp)) if groups else 0
    if len(documents) < 2 or tools <= CLIENT_TOOL_LIMIT:
        return []
    first = groups[0][0]
    return [
        first.loaded.source.problem(
            (*first.path, "tools"),
            f"{tools} tools on one MCP endpoint with the documents served together: Cursor uses at most "
            f"{CLIENT_TOOL_LIMIT} (of all its servers together) and drops the rest; serve fewer documents beside "
            "this one, or serve some from another gateway",
            "warning",
        )
    ]


@dataclass(frozen=True)
class _Adapter(_Declared):
    adapter: ExposesRest | ExposesMcp


def _adapters(documents: Sequence[LoadedDocument], kind: type[ExposesRest | ExposesMcp]) -> list[list[_Adapter]]:
    return [
        [
            _Adapter(
                index,
                loaded,
                (
                    "capability",
                    "exposes",
                    position,
                ),
                adapter,
            )
            for position, adapter in enumerate(loaded.document.capability.exposes)
            if isinstance(adapter, kind)
        ]
        for index, loaded in enumerate(documents)
    ]


def _unique(
    documents: Sequence[LoadedDocument], declarations: Callable[[Document], Declarations], rule: str
) -> Iterator[Problem]:
    first: dict[Hashable, _Declared] = {}
    for index, loaded in enumerate(documents):
        for key, path, shown in declarations(loaded.document):
            other = first.setdefault(key, _Declared(index, loaded, path))
            if other.index != index:
                yield loaded.source.problem(path, f"{shown} is also declared at {other.place()}; {rule}")


def _consumed_namespaces(document: Document) -> Declarations:
    for index, consumes in enumerate(document.capability.consumes):
        yield consumes.namespace, ("capability", "consumes", index, "namespace"), f"namespace {consumes.namespace!r}"


def _tools(document: Document) -> Declarations:
    for a, adapter in enumerate(document.capability.exposes):
        if isinstance(adapter, ExposesMcp):
            for t, tool in enumerate(adapter.tools):
                yield ("tool", tool.name), ("capability", "exposes", a, "tools", t, "name"), f"tool {tool.name!r}"


def _resources(document: Document) -> Declarations:
    for a, adapter in enumerate(document.capability.exposes):
        if isinstance(adapter, ExposesMcp):
            for r, resource in enumerate(adapter.resources):
                where: Path = ("capability", "exposes", a, "resources", r)
                yield ("name", resource.name), (*where, "name"), f"resource {resource.name!r}"
                yield ("uri", _shape(resource.uri)), (*where, "uri"), f"resource URI {resource.uri!r}"


def _prompts(document: Document) -> Declarations:
    for a, adapter in enumerate(document.capability.exposes):
        if isinstance(adapter, ExposesMcp):
            for p, prompt in enumerate(adapter.prompts):
                yield (
                    ("prompt", prompt.name),
                    ("capability", "exposes", a, "prompts", p, "name"),
                    f"prompt {prompt.name!r}",
                )


def _routes(documents: Sequence[LoadedDocument]) -> Iterator[Problem]:
    """Each method and path shape once; and each path shape spelled one way, since the router hands every method
    of a path to the first route spelled like it."""
    methods: dict[tuple[str, str], _Declared] = {}
    spellings: dict[str, tuple[str, _Declared]] = {}
    rule = "one REST port serves the routes of every document: change one path"
    for index, loaded in enumerate(documents):
        for a, adapter in enumerate(loaded.document.capability.exposes):
            if not isinstance(adapter, ExposesRest):
                continue
            for r, resource in enumerate(adapter.resources):
                shape, spelled = _shape(resource.path), braced_path(resource.path)
                for o, operation in enumerate(resource.operations):
                    here = _Declared(index, loaded, ("capability", "exposes", a, "resources", r, "operations", o))
                    route = f"{operation.method.upper()} {spelled}"
                    other = methods.setdefault((operation.method.upper(), shape), here)
                    if other.index != index:
                        yield loaded.source.problem(here.path, f"{route} is also routed at {other.place()}; {rule}")
                        continue
                    first_spelling, first = spellings.setdefault(shape, (spelled, here))
                    if first.index != index and first_spelling != spelled:
                        yield loaded.source.problem(
                            here.path,
                            f"{route}: the path {first_spelling} at {first.place()} is this one spelled another way, "
                            "and the router sends every method of a path to its first spelling: name the variables "
                            "alike",
                        )


def _binds(documents: Sequence[LoadedDocument]) -> Iterator[Problem]:
    """A variable bound by two documents reads one provider key from one place, since they share their secrets."""
    first: dict[str, tuple[tuple[str | None, str], _Declared]] = {}
    for index, loaded in enumerate(documents):
        document = loaded.document
        for prefix, binds in ((("binds",), document.binds), (("capability", "binds"), document.capability.binds)):
            for b, bind in enumerate(binds):
                for variable, key in bind.keys.items():
                    source = (bind.location, key)
                    here = _Declared(index, loaded, (*prefix, b, "keys", variable))
                    bound, other = first.setdefault(variable, (source, here))
                    if other.index != index and bound != source:
                        yield loaded.source.problem(
                            here.path,
                            f"{variable} is bound from {_bind_source(source)} here and from {_bind_source(bound)} at "
                            f"{other.place()}; the documents served together share their secrets: bind it alike in "
                            "both, or rename one",
                        )


def _shape(path: str) -> str:
    """A path with its variables unnamed and its letters lowered: `/runs/{runId}` and `/Runs/{id}` are one shape."""
    return "".join(literal.lower() + ("{}" if variable else "") for literal, variable in path_pieces(path))


def _origin(url: str) -> str | None:
    """The origin a namespace's requests go to; None for a base URI that names none (a placeholder)."""
    return origin(url) if urlsplit(url).hostname else None


def _budget(settings: RateLimitSettings | None) -> _Budget | None:
    """The budget `settings` declare (burst, refill and interval go together), or None."""
    if settings is None or settings.burst is None or settings.refill is None or settings.interval is None:
        return None
    return _Budget(settings.burst, settings.refill, float(settings.interval))


def _bind_source(source: tuple[str | None, str]) -> str:
    location, key = source
    return f"{key} in {location}" if location else f"the environment variable {key}"
