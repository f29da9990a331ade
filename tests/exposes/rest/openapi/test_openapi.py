"""`capgate openapi` through the real entry point: valid OpenAPI 3.1, lint-clean under Spectral's `spectral:oas`.

Spectral comes from npm (package.json and package-lock.json beside this file); the session fixture installs
it with `npm ci` into the test cache outside the checkout (tests/support/node.py), once per lock file.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import orjson
import pytest
from openapi_spec_validator import OpenAPIV31SpecValidator, validate
from tests.support.cli import capgate
from tests.support.management import RUNS_ROUTES
from tests.support.node import npm_installed

HERE = Path(__file__).resolve().parent
DOCUMENTS = ("trigger-dev-runs", "trigger-dev-runs-seed")


@pytest.fixture(scope="session")
def spectral() -> Path:
    """Spectral's CLI, as `npm ci` installed it in the test cache (outside the checkout, reused between runs)."""
    return npm_installed(HERE).folder / "node_modules" / ".bin" / "spectral"


@pytest.fixture(scope="module")
def descriptions(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each bundled document's description, as `capgate openapi DOC` prints it, saved to a file."""
    folder = tmp_path_factory.mktemp("openapi")
    files = {}
    for document in DOCUMENTS:
        result = capgate("openapi", document)
        assert result.returncode == 0, result.stderr
        files[document] = folder / f"{document}.json"
        files[document].write_text(result.stdout)
    return files


def load(path: Path) -> dict[str, Any]:
    return dict(orjson.loads(path.read_bytes()))


def test_spectral_is_installed_outside_the_checkout(spectral: Path) -> None:
    checkout = HERE.parents[3]
    assert spectral.is_file() and checkout not in spectral.parents
    assert not (HERE / "node_modules").exists()


def test_the_description_is_valid_openapi_3_1(descriptions: dict[str, Path]) -> None:
    for path in descriptions.values():
        validate(load(path), cls=OpenAPIV31SpecValidator)


def test_the_description_is_lint_clean_under_spectral_oas(
    spectral: Path, descriptions: dict[str, Path], tmp_path: Path
) -> None:
    report = tmp_path / "spectral.json"
    result = subprocess.run(
        [
            str(spectral),
            "lint",
            "--ruleset",
            str(HERE / ".spectral.yaml"),
            "--format",
            "json",
            "--output",
            str(report),
            "--fail-severity",
            "hint",
            *map(str, descriptions.values()),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0 and orjson.loads(report.read_bytes()) == [], report.read_text() + result.stderr


def test_every_route_has_its_declared_parameters_body_responses_and_security(descriptions: dict[str, Path]) -> None:
    spec = load(descriptions["trigger-dev-runs"])
    assert spec["openapi"] == "3.1.0"
    assert spec["servers"] == [
        {"url": "http://127.0.0.1:8080", "description": "capgate REST facade (management-runs-rest)"}
    ]
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert spec["security"] == [{"bearerAuth": []}]
    routes = sorted(f"{method.upper()} {path}" for path, item in spec["paths"].items() for method in item)
    assert routes == sorted(RUNS_ROUTES)
    listing = spec["paths"]["/v1/api/v1/runs"]["get"]
    status = next(p for p in listing["parameters"] if p["name"] == "filter[status]")
    assert status["in"] == "query" and status["style"] == "form" and status["explode"] is False
    assert "TIMED_OUT" in status["schema"]["items"]["enum"]
    size = next(p for p in listing["parameters"] if p["name"] == "page[size]")
    assert size["schema"] == {"type": "integer", "minimum": 1, "maximum": 100}
    reschedule = spec["paths"]["/v1/api/v1/runs/{runid}/reschedule"]["post"]
    assert reschedule["parameters"] == [
        {
            "name": "runid",
            "in": "path",
            "required": True,
            "schema": {"type": "string", "pattern": "^run_[a-z0-9]+$"},
            "description": "The run's id, run_ followed by lower-case letters and digits.",
        }
    ]
    body = reschedule["requestBody"]["content"]["application/json"]["schema"]
    assert body["required"] == ["delay"] and body["additionalProperties"] is False
    assert set(reschedule["responses"]) == {
        "200",
        "400",
        "401",
        "403",
        "404",
        "408",
        "413",
        "415",
        "502",
        "504",
        "default",
    }
    assert reschedule["responses"]["400"]["content"] == {  # the gateway's problem, or the upstream's own 400
        "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}},
        "application/json": {"schema": {}},
    }
    assert spec["paths"]["/healthz"]["get"]["security"] == []
    seed = load(descriptions["trigger-dev-runs-seed"])
    seed_listing = seed["paths"]["/v1/api/v1/runs"]["get"]
    seed_status = next(p for p in seed_listing["parameters"] if p["name"] == "filter[status]")
    assert seed_status["schema"] == {"type": "array", "items": {"type": "string"}}  # the seed declares no items
