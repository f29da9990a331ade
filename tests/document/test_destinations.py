"""Where a shared document may send the secrets it binds: no credentials in URLs, no link-local or metadata
hosts unless the operator allows them, a warning for plain http off this machine, one origin per secret."""

from __future__ import annotations

import pytest

from capgate.document.destinations import destination_problems, origin, secret_uses
from capgate.document.load import parse_document

DOCUMENT = """\
naftiko: 1.0.0-alpha2
binds:
- namespace: env
  keys: {API_KEY: API_KEY}
capability:
  consumes:
  - type: http
    namespace: shop
    baseUri: %(base)s
    authentication: {type: bearer, token: '{{env.API_KEY}}'}
    resources:
    - {name: items, path: /items, operations: [{name: list, method: GET}]}
  - type: http
    namespace: other
    baseUri: https://other.example
    resources:
    - name: things
      path: /things
      operations:
      - name: add
        method: POST
        inputParameters:
        - {name: x-key, in: header, value: '%(other_header)s'}
  exposes:
  - type: mcp
    namespace: tools
    port: 9090
    tools:
    - name: add-thing
      description: Adds a thing.
      call: other.add
      with: {x-key: '%(tool_input)s'}
"""


def problems(
    base: str = "https://shop.example",
    other_header: str = "fixed",
    tool_input: str = "{{tools.key}}",
    **options: object,
) -> list[str]:
    text = DOCUMENT % {"base": base, "other_header": other_header, "tool_input": tool_input}
    loaded = parse_document(text, "shared.yaml")
    return [str(p) for p in destination_problems(loaded.document, loaded.source, **options)]  # type: ignore[arg-type]


def test_a_document_that_sends_its_secret_to_its_own_api_has_no_problem() -> None:
    assert problems() == []
    loaded = parse_document(DOCUMENT % {"base": "https://shop.example", "other_header": "x", "tool_input": "y"}, "d")
    assert [(use.variable, use.origin) for use in secret_uses(loaded.document)] == [("API_KEY", "https://shop.example")]


@pytest.mark.parametrize(
    ("base", "host", "why"),
    [
        ("http://169.254.169.254/latest/meta-data", "169.254.169.254", "a cloud metadata service"),
        ("http://metadata.google.internal/computeMetadata/v1", "metadata.google.internal", "a cloud metadata service"),
        ("http://[fd00:ec2::254]", "fd00:ec2::254", "a cloud metadata service"),
        ("http://[::ffff:169.254.169.254]", "::ffff:169.254.169.254", "a cloud metadata service"),
        ("https://169.254.10.1:8443", "169.254.10.1", "a link-local address"),
        ("http://[fe80::1]", "fe80::1", "a link-local address"),
    ],
)
def test_link_local_and_metadata_hosts_are_refused_unless_allowed(base: str, host: str, why: str) -> None:
    found = problems(base)
    assert found[0] == (
        f"shared.yaml:9: capability.consumes[0].baseUri: {host} is {why}, which hands out this machine's own "
        f"credentials to whoever asks; if this document is really meant to call it, pass --allow-private-upstream "
        f"{host}"
    )
    assert not [p for p in problems(base, allowed_private=[host]) if "allow-private-upstream" in p]


def test_credentials_in_a_url_are_refused() -> None:
    (found,) = problems("https://user:secret@shop.example")
    assert found.startswith("shared.yaml:9: capability.consumes[0].baseUri: holds a user name or password")
    assert "declare `authentication`" in found


def test_plain_http_off_this_machine_is_a_warning_and_loopback_is_fine() -> None:
    assert problems("http://shop.example") == [
        "shared.yaml:9: capability.consumes[0].baseUri: warning: plain http to shop.example: the upstream's key "
        "and every answer would travel unencrypted; use https"
    ]
    assert problems("http://127.0.0.1:3030") == problems("http://localhost:3030") == problems("http://[::1]") == []


def test_a_base_uri_override_is_checked_in_the_documents_place() -> None:
    found = problems(base_uris={"shop": "http://169.254.169.254"})[0]  # then a warning: plain http
    assert found.startswith("shared.yaml:9: capability.consumes[0].baseUri: --base-uri shop=http://169.254.169.254: ")
    assert problems(base_uris={"shop": "http://127.0.0.1:3030", "other": "http://127.0.0.1:3031"}) == []


@pytest.mark.parametrize(
    ("field", "where"),
    [
        ("other_header", "capability.consumes[1].resources[0].operations[0].inputParameters[0].value"),
        ("tool_input", "capability.exposes[0].tools[0].with.x-key"),
    ],
)
def test_a_secret_sent_to_a_second_origin_is_refused_where_it_goes_there(field: str, where: str) -> None:
    (found,) = problems(**{field: "key {{API_KEY}}"})  # type: ignore[arg-type]
    assert found.startswith("shared.yaml:")
    assert f": {where}: API_KEY is a secret sent to https://shop.example (line 10) and would be sent to " in found
    assert found.endswith(
        "https://other.example too; a secret goes only to the API it belongs to: bind another variable for this one"
    )


def test_a_file_location_names_a_file_on_this_machine() -> None:
    text = DOCUMENT.replace(
        "- namespace: env\n", "- namespace: env\n  location: file://admin:pw@files.example/secrets.json\n", 1
    ) % {"base": "https://shop.example", "other_header": "x", "tool_input": "y"}
    loaded = parse_document(text, "shared.yaml")
    (found,) = [str(p) for p in destination_problems(loaded.document, loaded.source)]
    assert (
        found == "shared.yaml:4: binds[0].location: a file:// location names a file on this machine: no user, "
        "password or host"
    )


def test_origins_compare_scheme_host_and_port() -> None:
    assert origin("https://API.example:443/v1") == origin("https://api.example") == "https://api.example"
    assert origin("http://api.example:8080") == "http://api.example:8080"
    assert origin("http://[::1]:80/") == "http://[::1]"
