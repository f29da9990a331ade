"""`capgate.document.convert`: Naftiko alpha2 written as Ikanos beta5 and back. The bundled documents and the
format's tutorial round-trip; the tutorial converted is what naftiko/ikanos itself wrote for the same steps;
what alpha2 cannot say is left out and said."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from capgate.document.bundled import bundled_documents
from capgate.document.convert import Dialect, convert
from capgate.document.load import load_document
from tests.conformance import ikanos_suite
from tests.conformance.suite import TUTORIAL2, path

ALPHA2 = path(TUTORIAL2)
IKANOS = ikanos_suite.path(f"v1.0.0-beta5/{ikanos_suite.DOCS_TUTORIAL}")


def _written(document: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(document.read_text())
    return data


def _converted(document: Path, target: Dialect, folder: Path) -> Path:
    """`document` converted into `folder` (its `shared/` imports converted beside it, its bind file copied)."""
    shared = document.parent / "shared"
    if shared.is_dir() and not (folder / "shared").exists():
        (folder / "shared").mkdir()
        for file in shared.iterdir():
            written = convert(_written(file), target).yaml() if "consumes" in _written(file) else file.read_text()
            (folder / "shared" / file.name).write_text(written)
    converted = folder / document.name
    converted.write_text(convert(_written(document), target).yaml())
    return converted


def _model(document: Path) -> dict[str, Any]:
    return load_document(str(document)).document.model_dump(exclude={"dialect"})


def _named_by_their_keys(node: Any) -> Any:
    """`node` without the `name` an output's `properties` entry repeats from its key (Ikanos has only the key),
    in a document as written or in its model."""
    if isinstance(node, list):
        return [_named_by_their_keys(item) for item in node]
    if not isinstance(node, dict):
        return node
    copied = {key: _named_by_their_keys(value) for key, value in node.items()}
    if isinstance(copied.get("properties"), dict):
        copied["properties"] = {
            key: {k: v for k, v in value.items() if not (k == "name" and v in (key, None))}
            if isinstance(value, dict)
            else value
            for key, value in copied["properties"].items()
        }
    return copied


@pytest.mark.parametrize("name", sorted(bundled_documents()))
def test_a_bundled_document_serves_the_same_as_ikanos_and_comes_back_as_written(name: str, tmp_path: Path) -> None:
    document = bundled_documents()[name]
    as_ikanos = _converted(document, "ikanos", tmp_path)
    assert load_document(str(as_ikanos)).document.dialect == "ikanos 1.0.0-beta5"
    assert _model(as_ikanos) == _model(document)
    assert convert(_written(as_ikanos), "naftiko").data == _written(document)


@pytest.mark.parametrize("number", range(1, 12))
def test_a_tutorial_step_converts_to_what_ikanos_wrote_for_it_and_back(
    number: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    document = next(ALPHA2.glob(f"step-{number}-*.yml"))
    as_ikanos = _converted(document, "ikanos", tmp_path)
    twin = IKANOS / document.name
    monkeypatch.chdir(tmp_path)  # the tutorial's binds are read from the working directory
    assert _model(as_ikanos) == _model(twin)  # naftiko/ikanos's own rewrite of the same step, read the same
    assert convert(_written(as_ikanos), "naftiko").data == _named_by_their_keys(_written(document))


@pytest.mark.parametrize("number", range(1, 12))
def test_an_ikanos_tutorial_step_converts_to_what_alpha2_wrote_for_it(
    number: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    twin = next(IKANOS.glob(f"step-{number}-*.yml"))
    as_alpha2 = _converted(twin, "naftiko", tmp_path)
    monkeypatch.chdir(tmp_path)
    assert load_document(str(as_alpha2)).document.dialect == "naftiko 1.0.0-alpha2"
    expected = _named_by_their_keys(_model(ALPHA2 / twin.name))  # naftiko/framework's own step, read the same
    assert _named_by_their_keys(_model(as_alpha2)) == expected


def test_an_unnamed_exposed_resource_and_operation_get_a_name_and_a_note() -> None:
    data = {
        "naftiko": "1.0.0-alpha2",
        "capability": {
            "exposes": [
                {
                    "type": "rest",
                    "namespace": "api",
                    "port": 8080,
                    "resources": [{"path": "/ships/{imo}", "operations": [{"method": "GET", "call": "x.get-ship"}]}],
                }
            ]
        },
    }
    converted = convert(data, "ikanos")
    resources = converted.data["capability"]["exposes"][0]["resources"]
    assert resources == {
        "ships-imo": {"path": "/ships/{imo}", "operations": {"get": {"method": "GET", "call": "x.get-ship"}}}
    }
    assert converted.notes == [
        "capability.exposes[0].resources[0]: has no name of its own; Ikanos keys it by one: 'ships-imo'",
        "capability.exposes[0].resources[0].operations[0]: has no name of its own; Ikanos keys it by one: 'get'",
    ]


def test_what_alpha2_cannot_say_is_left_out_and_said() -> None:
    data = {
        "ikanos": "1.0.0-beta5",
        "info": {"display": "Photos", "description": "d", "version": "2.1"},
        "capability": {
            "consumes": [
                {"import": "photos", "from": "./shared/photos.yml"},
                {"namespace": "zt", "type": "http", "baseUri": "https://zt", "tunnel": {"type": "ziti"}},
            ],
            "exposes": [{"import": "shared-mcp", "from": "./shared/exposes.yml"}],
        },
    }
    converted = convert(data, "naftiko")
    assert converted.data == {
        "naftiko": "1.0.0-alpha2",
        "info": {"label": "Photos", "description": "d"},
        "capability": {
            "consumes": [
                {"import": "photos", "location": "./shared/photos.yml"},
                {"namespace": "zt", "type": "http", "baseUri": "https://zt"},
            ],
            "exposes": [],
        },
    }
    assert converted.notes == [
        "info.version: Ikanos only; left out (Naftiko 1.0.0-alpha2 has no `version`)",
        "capability.consumes[1].tunnel: Ikanos only; left out (Naftiko 1.0.0-alpha2 has no `tunnel`)",
        "capability.exposes[0]: imports 'shared-mcp' from ./shared/exposes.yml, which Naftiko 1.0.0-alpha2 "
        "cannot (it imports consumes only); left out: copy the entry into the document",
    ]


def test_an_output_parameter_name_given_twice_is_said_not_dropped_in_silence() -> None:
    outputs = [{"name": "id", "type": "string", "mapping": "$.id"}, {"name": "id", "type": "number", "mapping": "$.n"}]
    operation = {"name": "list-items", "method": "GET", "outputParameters": outputs}
    consumes = {"namespace": "api", "type": "http", "baseUri": "https://api.example.com"}
    consumes["resources"] = [{"name": "items", "path": "/items", "operations": [operation]}]
    converted = convert({"naftiko": "1.0.0-alpha2", "capability": {"consumes": [consumes]}}, "ikanos")
    written = converted.data["capability"]["consumes"][0]["resources"]["items"]["operations"]["list-items"]
    assert written["outputParameters"] == {"id": {"type": "number", "mapping": "$.n"}}
    assert converted.notes == [
        "capability.consumes[0].resources[0].operations[0].outputParameters[1]: a second output parameter named "
        "'id'; Ikanos keys them by name, so only this one is kept: rename one"
    ]
