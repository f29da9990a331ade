"""Each caller's own values for the binds (`--caller-binds`): the file's forms, its errors (which never show a
value), redaction, and the request an operation builds with a caller's values instead of the operator's."""

from __future__ import annotations

from pathlib import Path

import pytest

from capgate.consumes.caller_binds import CallerBinds, load_caller_binds
from capgate.core import redaction
from capgate.core.errors import ConfigurationError
from capgate.document.bundled import bundled_documents
from capgate.gateway.assembly import Gateway, load_gateway
from tests.support.gateway import RUN, TEST_KEY

TEAM_KEY = "tr_dev_teamKEYteamKEYteam000001"
FILE_KEY = "tr_dev_fileKEYfileKEYfile000001"
LITERAL_KEY = "tr_dev_literalLITERALlit000001"


def gateway(document: str = "trigger-dev-runs", **environ: str) -> Gateway:
    return load_gateway(document, environ={"TRIGGER_DEV_API_KEY": TEST_KEY, **environ})


def write(tmp_path: Path, text: str, name: str = "binds.yaml") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def load(path: str, gw: Gateway, **environ: str) -> CallerBinds:
    return load_caller_binds(path, gw.loaded.document, gw.secrets, {"TEAM_KEY": TEAM_KEY, **environ})


def test_a_caller_acts_with_its_own_values_in_any_form(tmp_path: Path) -> None:
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "file.key").write_text(FILE_KEY + "\n")
    path = write(
        tmp_path,
        "callers:\n"
        "  token:ci-bot: {TRIGGER_DEV_API_KEY: {env: TEAM_KEY}}\n"
        "  client:dashboard: {TRIGGER_DEV_API_KEY: {file: keys/file.key}}\n"
        f"  sub:alice@example.com: {{TRIGGER_DEV_API_KEY: {LITERAL_KEY}}}\n",
    )
    gw = gateway()
    callers = load(path, gw)
    operation = gw.operations["management-runs.cancelrun"]
    for keys, expected in [
        (("token:ci-bot",), TEAM_KEY),
        (("sub:bob", "client:dashboard"), FILE_KEY),  # no entry for the subject: its client's
        (("sub:alice@example.com", "client:dashboard"), LITERAL_KEY),  # `sub:` is tried first
    ]:
        request = operation.build_request({"runId": RUN}, callers.secrets_for(keys))
        assert request.headers["authorization"] == f"Bearer {expected}", keys
    assert callers.secrets_for(("token:someone-else",)) is None
    # The operator's own request is unchanged, and built without a caller's secrets.
    assert operation.build_request({"runId": RUN}).headers["authorization"] == f"Bearer {TEST_KEY}"
    assert callers.token_ids() == ["ci-bot"]
    assert callers.values() == sorted({TEAM_KEY, FILE_KEY, LITERAL_KEY})
    # Every value is redacted as the operator's key is, and none shows in a repr.
    for value in (TEAM_KEY, FILE_KEY, LITERAL_KEY):
        assert redaction.redact(f"key {value}") == "key [redacted]"
        assert value not in repr(callers)


def test_declared_values_that_name_a_bind_use_the_callers_value(tmp_path: Path) -> None:
    source = bundled_documents()["trigger-dev-runs"].read_text()
    anchor = "    - name: x-trigger-source\n"
    document = tmp_path / "echo.yaml"
    document.write_text(
        source.replace(
            anchor, "    - name: x-key-echo\n      in: header\n      value: 'k={{TRIGGER_DEV_API_KEY}}'\n" + anchor
        )
    )
    gw = gateway(str(document))
    callers = load(write(tmp_path, "callers:\n  token:ci: {TRIGGER_DEV_API_KEY: {env: TEAM_KEY}}\n"), gw)
    operation = gw.operations["management-runs.getrunbyid"]
    assert operation.build_request({"runId": RUN}).headers["x-key-echo"] == f"k={TEST_KEY}"
    mine = operation.build_request({"runId": RUN}, callers.secrets_for(("token:ci",)))
    assert mine.headers["x-key-echo"] == f"k={TEAM_KEY}" and mine.headers["authorization"] == f"Bearer {TEAM_KEY}"


@pytest.mark.parametrize(
    "text,message",
    [
        ("tokens: []\n", "expected `callers:`"),
        ("callers: {}\n", "expected `callers:`"),
        ("callers:\n  ci-bot: {TRIGGER_DEV_API_KEY: x0000000}\n", "a caller is token:ID"),
        ("callers:\n  'sub:': {TRIGGER_DEV_API_KEY: x0000000}\n", "a caller is token:ID"),
        ("callers:\n  token:ci: {}\n", "expected a mapping of the document's variables"),
        (
            "callers:\n  token:ci: {OTHER_KEY: x0000000}\n",
            "binds no variable 'OTHER_KEY' (it binds: TRIGGER_DEV_API_KEY)",
        ),
        ("callers:\n  token:ci: {TRIGGER_DEV_API_KEY: {env: NOT_SET_ANYWHERE}}\n", "NOT_SET_ANYWHERE is not set"),
        ("callers:\n  token:ci: {TRIGGER_DEV_API_KEY: {file: missing.key}}\n", "cannot read"),
        ("callers:\n  token:ci: {TRIGGER_DEV_API_KEY: {vault: x}}\n", "{env: NAME} or {file: PATH}"),
        ("callers:\n  token:ci: {TRIGGER_DEV_API_KEY: ''}\n", "the value is empty"),
        ("callers: [", "not valid JSON or YAML"),
    ],
)
def test_a_bad_file_says_what_is_wrong_and_where(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigurationError, match="--caller-binds") as raised:
        load(path, gateway())
    assert message in str(raised.value)


def test_no_error_shows_a_value(tmp_path: Path) -> None:
    secret = "tr_dev_secretSECRET0000000001"
    for text in (
        f'{{"callers": {{"token:ci": {{"NOPE": "{secret}"}}}}}}',
        f'{{"callers": {{"token:ci": {{"TRIGGER_DEV_API_KEY": "{secret}"}}, "nobody": {{"X": "{secret}"}}}}}}',
    ):
        with pytest.raises(ConfigurationError) as raised:
            load(write(tmp_path, text, "binds.json"), gateway())
        assert secret not in str(raised.value) and secret not in repr(raised.value)


def test_without_a_file_nobody_has_own_values() -> None:
    callers = load_caller_binds(None, gateway().loaded.document, gateway().secrets, required=True)
    assert not callers and callers.required and callers.secrets_for(("token:ci",)) is None


def test_two_teams_with_their_own_keys_spend_their_own_budgets(tmp_path: Path) -> None:
    from capgate.consumes.resilience import _bucket  # the budget a request spends: keyed by its upstream credential

    gw = gateway()
    callers = load(write(tmp_path, "callers:\n  token:team-a: {TRIGGER_DEV_API_KEY: {env: TEAM_KEY}}\n"), gw)
    operation = gw.operations["management-runs.listruns"]
    team_a = operation.build_request({}, callers.secrets_for(("token:team-a",)))
    everyone_else = operation.build_request({})
    assert _bucket(team_a) != _bucket(everyone_else)
    assert _bucket(everyone_else) == _bucket(operation.build_request({}))
