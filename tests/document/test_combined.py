"""Several documents as one gateway serves them: named by bundled name, path or folder, each loaded on its own,
then checked against each other (what collides names both places, file:line), then combined."""

from __future__ import annotations

from pathlib import Path

import pytest

from capgate.core.errors import DocumentError, Problem
from capgate.document.bundled import bundled_documents
from capgate.document.combined import document_sources, load_documents
from capgate.document.cross_checks import (
    budget_problems,
    collisions,
    origin_budgets,
    port_notes,
    secret_origin_problems,
    tool_count_warnings,
    with_origin_budget,
)
from capgate.document.listeners import served_together
from capgate.document.load import LoadedDocument, load_document
from capgate.document.models import ExposesMcp, ExposesRest, RateLimitSettings
from tests.support.management import MANAGEMENT, NAMESPACES, NINE, NINE_TOOLS, line_of, one_prompt, one_route

RUNS = bundled_documents()["trigger-dev-runs"]
EIGHT = sorted(p.name for p in MANAGEMENT.glob("*.yaml"))


def write(folder: Path, name: str, text: str) -> str:
    path = folder / name
    path.write_text(text)
    return str(path)


def loaded(*names: str) -> list[LoadedDocument]:
    return [load_document(name) for name in names]


def messages(problems: list[Problem]) -> list[str]:
    return [str(problem) for problem in problems]


def test_a_folder_is_the_documents_in_it_in_name_order() -> None:
    assert len(EIGHT) == 8
    assert document_sources(NINE) == ["trigger-dev-runs", *(str(MANAGEMENT / name) for name in EIGHT)]  # no README


def test_a_folder_without_documents_and_a_document_named_twice_are_refused(tmp_path: Path) -> None:
    with pytest.raises(DocumentError) as raised:
        document_sources([str(tmp_path)])
    assert str(raised.value) == f"{tmp_path}: this folder holds no document (*.yaml or *.yml); name the documents"
    batches = str(MANAGEMENT / "batches.yaml")
    with pytest.raises(DocumentError) as raised:
        document_sources([batches, str(MANAGEMENT)])
    assert str(raised.value) == f"{batches}: is named twice (also as {batches}); name each document once"
    with pytest.raises(DocumentError, match="is named twice"):
        document_sources(["trigger-dev-runs", str(RUNS)])


def test_the_nine_combine_into_one_document() -> None:
    together = load_documents(NINE)
    document = together.document
    assert [consumes.namespace for consumes in document.capability.consumes] == NAMESPACES
    assert document.info == load_document("trigger-dev-runs").document.info  # the first document's
    assert len(document.binds) == 9  # one each, all alike
    tools = [
        tool.name
        for adapter in document.capability.exposes
        if isinstance(adapter, ExposesMcp)
        for tool in adapter.tools
    ]
    assert len(tools) == len(set(tools)) == NINE_TOOLS
    rest = [adapter for adapter in document.capability.exposes if isinstance(adapter, ExposesRest)]
    assert [len(group) for group in together.served_together(rest, lambda adapter: adapter)] == [9]
    assert together.files == [str(RUNS), *(str(MANAGEMENT / name) for name in EIGHT)]


def test_one_document_is_served_as_it_would_be_alone() -> None:
    one = load_documents(["trigger-dev-runs"])
    assert one.document is one.documents[0].document
    assert served_together([["rest-a", "rest-b"]]) == [["rest-a"], ["rest-b"]]  # each adapter its own port
    # A later document's adapters join the first document's first adapter of their kind; a first document
    # without one gives the next document with one the first listener.
    assert served_together([["a1", "a2"], ["b1"], ["c1", "c2"]]) == [["a1", "b1", "c1", "c2"], ["a2"]]
    assert served_together([[], ["b1", "b2"], ["c1"]]) == [["b1", "c1"], ["b2"]]


def test_every_documents_problems_are_reported_at_once(tmp_path: Path) -> None:
    first = write(tmp_path, "a.yaml", one_route("a").replace("call: a.readthing\n", "call: a.nothing\n", 1))
    second = write(tmp_path, "b.yaml", "naftiko: 1.0.0-alpha2\n")
    with pytest.raises(DocumentError) as raised:
        load_documents([first, second])
    files = [problem.file for problem in raised.value.problems]
    assert first in files and second in files


def test_a_namespace_a_tool_and_a_route_of_another_document_collide(tmp_path: Path) -> None:
    # The tasks surface as a generated document has it: its trigger-task tool and route are the runs document's.
    tasks = write(
        tmp_path,
        "tasks.yaml",
        one_route(
            "management-runs", tool="trigger-task", route="/v1/api/v1/tasks/{taskIdentifier}/trigger", method="POST"
        ),
    )
    problems = collisions(loaded("trigger-dev-runs", tasks))
    runs = f"{RUNS}:"
    assert messages(problems) == [
        f"{tasks}:{line_of(Path(tasks), 'namespace: management-runs')}: capability.consumes[0].namespace: namespace "
        f"'management-runs' is also declared at {runs}{line_of(RUNS, 'namespace: management-runs')}; consumed "
        "namespaces must be unique across the documents served together: rename one, and the calls that name it",
        f"{tasks}:{line_of(Path(tasks), '- name: trigger-task')}: capability.exposes[1].tools[0].name: tool "
        f"'trigger-task' is also declared at {runs}{line_of(RUNS, '- name: trigger-task')}; one MCP endpoint serves "
        "the tools, resources and prompts of every document: rename one",
        f"{tasks}:{line_of(Path(tasks), '- method: POST')}: capability.exposes[0].resources[0].operations[0]: POST "
        "/v1/api/v1/tasks/{taskIdentifier}/trigger is also routed at "
        f"{runs}{line_of(RUNS, '- method: POST', after='path: /v1/api/v1/tasks/{taskid}/trigger')}; one REST port "
        "serves the routes of every document: change one path",
    ]
    with pytest.raises(DocumentError) as raised:  # and loading them together stops there
        load_documents(["trigger-dev-runs", tasks])
    assert raised.value.problems == problems


def test_a_prompt_of_another_document_collides(tmp_path: Path) -> None:
    first = write(tmp_path, "a.yaml", one_route("a", tool="a", route="/a", mcp_extra=one_prompt("look")))
    second = write(tmp_path, "b.yaml", one_route("b", tool="b", route="/b", mcp_extra=one_prompt("look")))
    other = write(tmp_path, "c.yaml", one_route("c", tool="c", route="/c", mcp_extra=one_prompt("glance")))
    assert messages(collisions(loaded(first, second))) == [
        f"{second}:{line_of(Path(second), '- name: look')}: capability.exposes[1].prompts[0].name: prompt 'look' is "
        f"also declared at {first}:{line_of(Path(first), '- name: look')}; one MCP endpoint serves the tools, "
        "resources and prompts of every document: rename one"
    ]
    assert collisions(loaded(first, other)) == []


def test_one_path_spelled_two_ways_collides_and_another_method_on_it_does_not(tmp_path: Path) -> None:
    spelled = write(tmp_path, "a.yaml", one_route(route="/v1/api/v1/runs/{id}/trace", method="DELETE"))
    alike = write(
        tmp_path, "b.yaml", one_route("other", tool="other", route="/v1/api/v1/runs/{runid}/trace", method="DELETE")
    )
    assert messages(collisions(loaded("trigger-dev-runs", spelled))) == [
        f"{spelled}:{line_of(Path(spelled), '- method: DELETE')}: capability.exposes[0].resources[0].operations[0]: "
        f"DELETE /v1/api/v1/runs/{{id}}/trace: the path /v1/api/v1/runs/{{runid}}/trace at "
        f"{RUNS}:{line_of(RUNS, '- method: GET', after='path: /v1/api/v1/runs/{runid}/trace')} is this one spelled "
        "another way, and the router sends every method of a path to its first spelling: name the variables alike"
    ]
    assert collisions(loaded("trigger-dev-runs", alike)) == []


def test_resources_and_binds_collide_and_binds_alike_do_not(tmp_path: Path) -> None:
    resource = (
        one_route()
        .replace("path: /api/v1/thing\n", "path: /api/v1/thing/{id}\n")
        .replace(
            "    tools:\n",
            "    resources:\n    - name: run\n      uri: trigger://runs/{id}\n      call: extra.readthing\n"
            "      with:\n        id: '{{id}}'\n    tools:\n",
        )
    )
    with_resource = write(tmp_path, "resource.yaml", resource)
    here, endpoint = (
        Path(with_resource),
        "one MCP endpoint serves the tools, resources and prompts of every document: rename one",
    )
    assert messages(collisions(loaded("trigger-dev-runs", with_resource))) == [
        f"{here}:{line_of(here, '- name: run')}: capability.exposes[1].resources[0].name: resource 'run' is also "
        f"declared at {RUNS}:{line_of(RUNS, '- name: run' + chr(10))}; {endpoint}",
        f"{here}:{line_of(here, 'uri: ')}: capability.exposes[1].resources[0].uri: resource URI "
        f"'trigger://runs/{{id}}' is also declared at {RUNS}:{line_of(RUNS, 'uri: trigger://')}; {endpoint}",
    ]
    other_key = write(tmp_path, "key.yaml", one_route(key="TRIGGER_PROD_KEY"))
    assert messages(collisions(loaded("trigger-dev-runs", other_key))) == [
        f"{other_key}:{line_of(Path(other_key), 'TRIGGER_DEV_API_KEY: TRIGGER_PROD_KEY')}: binds[0].keys."
        "TRIGGER_DEV_API_KEY: TRIGGER_DEV_API_KEY is bound from the environment variable TRIGGER_PROD_KEY here and "
        f"from the environment variable TRIGGER_DEV_API_KEY at {RUNS}:{line_of(RUNS, 'TRIGGER_DEV_API_KEY: ')}; the "
        "documents served together share their secrets: bind it alike in both, or rename one"
    ]
    assert collisions(loaded(*document_sources(NINE))) == []


def test_a_secret_two_documents_send_to_two_origins_is_refused(tmp_path: Path) -> None:
    elsewhere = write(tmp_path, "elsewhere.yaml", one_route(base_uri="https://elsewhere.example.com"))
    documents = loaded("trigger-dev-runs", elsewhere)
    assert messages(secret_origin_problems(documents, {})) == [
        f"{elsewhere}:{line_of(Path(elsewhere), 'token: ')}: capability.consumes[0].authentication.token: "
        f"TRIGGER_DEV_API_KEY is a secret sent to https://api.trigger.dev ({RUNS}:{line_of(RUNS, 'token: ')}) and "
        "would be sent to https://elsewhere.example.com too; a secret goes only to the API it belongs to: bind "
        "another variable for this one"
    ]
    assert secret_origin_problems(documents, {"extra": "https://api.trigger.dev:443"}) == []  # one origin after all
    assert secret_origin_problems(loaded(*document_sources(NINE)), {}) == []


def test_two_budgets_for_one_origin_are_refused_and_the_budget_is_the_origins(tmp_path: Path) -> None:
    budget = "    rateLimit:\n      burst: 100\n      refill: 10\n      interval: 1\n"
    other = write(tmp_path, "other.yaml", one_route(consumes_extra=budget))
    documents = loaded("trigger-dev-runs", other)
    assert messages(budget_problems(documents, {})) == [
        f"{other}:{line_of(Path(other), 'rateLimit:')}: capability.consumes[0].rateLimit: the request budget "
        f"100/10/1s for https://api.trigger.dev differs from the 750/250/10s declared at "
        f"{RUNS}:{line_of(RUNS, 'rateLimit:')}: calls to one origin with one key spend one budget; declare the same "
        "burst, refill and interval in both, or set one for all with --rate-limit"
    ]
    assert budget_problems(documents, {"extra": "http://127.0.0.1:3030"}) == []  # another origin, another budget
    assert budget_problems(loaded(*document_sources(NINE)), {}) == []  # waitpoints declares the same one
    # A namespace that declares none spends the budget of its origin, with its own wait and headers.
    together = load_documents(NINE).document
    budgets = origin_budgets(together, {})
    assert list(budgets) == ["https://api.trigger.dev"]
    batches = next(c for c in together.capability.consumes if c.namespace == "management-batches")
    shared = with_origin_budget(batches, budgets, "https://api.trigger.dev").rate_limit
    assert shared == RateLimitSettings(burst=750, refill=250, interval=10)
    assert with_origin_budget(batches, budgets, "http://127.0.0.1:3030") is batches
    headers = batches.model_copy(update={"rate_limit": RateLimitSettings(wait=1, headers={"remaining": "x-left"})})
    kept = with_origin_budget(headers, budgets, "https://api.trigger.dev").rate_limit
    assert kept is not None and (kept.burst, kept.wait, kept.headers) == (750, 1, headers.rate_limit.headers)  # type: ignore[union-attr]


def test_the_later_documents_ports_are_noted_as_the_first_ones(tmp_path: Path) -> None:
    documents = loaded(*document_sources(NINE))
    notes = port_notes(documents)
    assert len(notes) == 16 and all(note.severity == "note" for note in notes)
    batches = MANAGEMENT / "batches.yaml"
    assert str(notes[0]) == (
        f"{batches}:{line_of(batches, 'port: 8080')}: capability.exposes[0].port: note: port 8080 is not used: "
        f"served together, these REST routes share the first document's port, 8080 ({RUNS}:"
        f"{line_of(RUNS, 'port: 8080')}), unless --rest-port gives another"
    )
    assert "these MCP tools share the first document's port, 9090" in str(notes[8])
    assert port_notes(documents[:1]) == []
    assert NINE_TOOLS <= 40 and tool_count_warnings(documents) == []
    many = one_route().replace(
        "    tools:\n",
        "    tools:\n"
        + "".join(
            f"    - name: more-{n}\n      description: More.\n      call: extra.readthing\n"
            for n in range(41 - NINE_TOOLS - 1)
        ),
    )
    warned = tool_count_warnings([*documents, *loaded(write(tmp_path, "many.yaml", many))])
    assert [problem.severity for problem in warned] == ["warning"]
    assert str(warned[0]).startswith(
        f"{RUNS}:{line_of(RUNS, 'tools:')}: capability.exposes[1].tools: warning: 41 tools"
    )
