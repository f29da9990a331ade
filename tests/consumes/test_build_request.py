"""Building upstream requests is pure: most of the format's semantics are checked here without a server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from capgate.consumes.binds import Secrets, resolve_binds
from capgate.consumes.client import UpstreamClient
from capgate.consumes.operation import Operation
from capgate.core import redaction
from capgate.core.errors import ArgumentError, ConfigurationError
from capgate.document.load import parse_document

DOCUMENT = """
naftiko: 1.0.0-alpha2
binds:
- namespace: vault
  keys: {API_TOKEN: MY_TOKEN, API_USER: MY_USER}
capability:
  consumes:
  - type: http
    namespace: shop
    baseUri: https://shop.example/api
    authentication: {type: %(auth)s}
    inputParameters:
    - {name: x-client, in: header, value: 'capgate {{vault.API_USER}}'}
    resources:
    - name: items
      path: /items/{{itemId}}/parts/{part}
      operations:
      - name: get
        method: PATCH
        inputParameters:
        - {name: itemId, in: path, type: integer}
        - {name: 'filter[kind]', in: query, type: array, items: {type: string, enum: [a, b, c]}}
        - {name: flag, in: query, type: boolean}
        - {name: size, in: query, type: integer, minimum: 1, maximum: 10}
        - {name: note, in: body, type: string}
        - {name: body, in: body, type: object}
        - {name: x-trace, in: header, type: string}
  exposes: []
"""

AUTH = {
    "bearer": "bearer, token: '{{API_TOKEN}}'",
    "basic": "basic, username: '{{env.API_USER}}', password: '{{API_TOKEN}}'",
    "apikey-header": "apikey, key: X-Api-Key, value: '{{API_TOKEN}}', placement: header",
    "apikey-query": "apikey, key: api_key, value: '{{API_TOKEN}}', placement: query",
}
ENV = {"MY_TOKEN": "s3cr3t-token", "MY_USER": "robot"}


def operation(auth: str = "bearer") -> Operation:
    document = parse_document(DOCUMENT % {"auth": AUTH[auth]}, "doc.yaml").document
    consumes = document.capability.consumes[0]
    resource = consumes.resources[0]
    return Operation(
        consumes,
        resource,
        resource.operations[0],
        base_uri=consumes.base_uri,
        secrets=resolve_binds(document, ENV),
        client=UpstreamClient(),
    )


def test_path_query_headers_and_body_follow_the_semantics() -> None:
    request = operation().build_request(
        {
            "itemId": "42",
            "part": "wheel nut",
            "filter.kind": ["a", "c"],
            "flag": "TRUE",
            "size": 3,
            "note": "hi",
            "body": {"qty": 2},
            "x-trace": "t1",
        }
    )
    assert request.method == "PATCH"
    assert request.url == (
        "https://shop.example/api/items/42/parts/wheel%20nut?filter%5Bkind%5D=a%2Cc&flag=true&size=3"
    )
    assert request.headers == {
        "authorization": "Bearer s3cr3t-token",
        "x-client": "capgate robot",
        "x-trace": "t1",
        "content-type": "application/json",
    }
    assert orjson.loads(request.body or b"") == {"qty": 2, "note": "hi"}
    assert "s3cr3t" not in repr(request)


def test_absent_values_are_not_sent() -> None:
    request = operation().build_request({"itemId": 1, "part": "p"})
    assert request.url == "https://shop.example/api/items/1/parts/p"
    assert request.body is None and "content-type" not in request.headers


def test_a_declared_default_is_sent_when_the_caller_gives_nothing() -> None:
    document = parse_document(
        DOCUMENT.replace(
            "- {name: flag, in: query, type: boolean}",
            "- {name: flag, in: query, type: boolean}\n" + " " * 8 + "- {name: limit, in: query, default: 50}",
        )
        % {"auth": AUTH["bearer"]},
        "doc.yaml",
    ).document
    consumes = document.capability.consumes[0]
    resource = consumes.resources[0]
    with_default = Operation(
        consumes,
        resource,
        resource.operations[0],
        base_uri=consumes.base_uri,
        secrets=resolve_binds(document, ENV),
        client=UpstreamClient(),
    )
    assert with_default.build_request({"itemId": 1, "part": "p"}).url.endswith("/items/1/parts/p?limit=50")
    assert with_default.build_request({"itemId": 1, "part": "p", "limit": "7"}).url.endswith("?limit=7")


@pytest.mark.parametrize(
    "auth,header,query",
    [
        ("basic", ("authorization", "Basic cm9ib3Q6czNjcjN0LXRva2Vu"), ""),
        ("apikey-header", ("X-Api-Key", "s3cr3t-token"), ""),
        ("apikey-query", None, "?api_key=s3cr3t-token"),
    ],
)
def test_authentication_kinds(auth: str, header: tuple[str, str] | None, query: str) -> None:
    request = operation(auth).build_request({"itemId": 1, "part": "p"})
    if header:
        assert request.headers[header[0]] == header[1]
    assert request.url == "https://shop.example/api/items/1/parts/p" + query
    assert "s3cr3t" not in request.display_url


def test_every_bad_argument_is_named_at_once() -> None:
    with pytest.raises(ArgumentError) as raised:
        operation().build_request({"itemId": "x", "filter.kind": "a,z", "size": 11, "flag": "maybe"})
    assert raised.value.errors == [
        ("itemId", "must be an integer (got 'x')"),
        ("filter[kind][1]", "must be one of a, b, c (got 'z')"),
        ("flag", "must be true or false (got 'maybe')"),
        ("size", "must be at most 10 (got 11)"),
        ("part", "is required"),
    ]


@pytest.mark.parametrize("value", ["../x", "a/b", "..", ".", "", "a?b", "a#b", "a\\b", "a\nb", "%2F", "%2e%2E"])
def test_values_that_change_the_path_shape_are_refused(value: str) -> None:
    with pytest.raises(ArgumentError) as raised:
        operation().build_request({"itemId": 1, "part": value})
    assert raised.value.errors[0][0] == "part"


def test_a_body_json_cannot_hold_is_an_argument_error_not_a_crash() -> None:
    deep: Any = "x"
    for _ in range(300):
        deep = [deep]
    for body in ({"n": 10**30}, {"deep": deep}):
        with pytest.raises(ArgumentError) as raised:
            operation().build_request({"itemId": 1, "part": "p", "body": body})
        assert raised.value.errors[0][0] == "body" and "cannot be sent as JSON" in raised.value.errors[0][1]


def test_secrets_are_redacted_and_never_in_repr() -> None:
    secrets = Secrets({"TOKEN": "tr_dev_supersecret"})
    assert redaction.redact("key tr_dev_supersecret leaked") == "key [redacted] leaked"
    assert "supersecret" not in repr(secrets)


def test_missing_secret_names_the_variable_not_a_value() -> None:
    document = parse_document(DOCUMENT % {"auth": AUTH["bearer"]}, "doc.yaml").document
    with pytest.raises(ConfigurationError) as raised:
        resolve_binds(document, {"MY_USER": "robot"})
    assert "MY_TOKEN is not set in the environment (binds namespace 'vault')" in str(raised.value)
    assert "robot" not in str(raised.value)


def test_binds_from_a_file_location(tmp_path: Path) -> None:
    secrets_file = tmp_path / "secrets.json"
    secrets_file.write_text(orjson.dumps(ENV).decode())
    text = DOCUMENT % {"auth": AUTH["bearer"]}
    text = text.replace("  keys: {API_TOKEN", f"  location: file://{secrets_file}\n  keys: {{API_TOKEN")
    document = parse_document(text, "doc.yaml").document
    assert resolve_binds(document, {}).lookup("vault.API_TOKEN") == "s3cr3t-token"


def test_schema_coercions() -> None:
    from capgate.consumes.validation import Invalid, compile_schema

    cases: list[tuple[dict[str, Any], Any, Any]] = [
        ({"type": "integer"}, "25", 25),
        ({"type": "number"}, "2.5", 2.5),
        ({"type": "boolean"}, "false", False),
        ({"type": "array"}, "a,b", ["a", "b"]),
        ({"type": "object"}, '{"a": 1}', {"a": 1}),
        ({"anyOf": [{"type": "string"}, {"type": "array"}]}, ["x"], ["x"]),
    ]
    for schema, given, expected in cases:
        assert compile_schema(schema)(given) == expected
    with pytest.raises(Invalid):
        compile_schema({"type": "integer"})(True)
