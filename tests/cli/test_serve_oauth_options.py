"""The OAuth and caller-binds flags of `capgate serve`: what they become, and each mistake refused at start-up
with exit 2 and a message that says what to do."""

from __future__ import annotations

from pathlib import Path

import pytest

from capgate.cli.program import build_parser
from capgate.cli.serve_options import oauth_settings
from capgate.core.errors import ConfigurationError
from capgate.exposes.inbound.oauth_settings import OAuthSettings
from tests.support.cli import capgate, cli_env
from tests.support.servers import free_port

ISSUER = "https://login.example.com/tenant"


def settings(*flags: str, **environ: str) -> OAuthSettings | None:
    return oauth_settings(build_parser().parse_args(["serve", *flags]), environ)


def test_the_flags_become_the_settings() -> None:
    assert settings() is None
    assert settings("--oauth-issuer", ISSUER) == OAuthSettings(issuer=ISSUER)
    given = settings(
        "--oauth-issuer",
        ISSUER,
        "--oauth-audience",
        "api://capgate",
        "--oauth-audience",
        "https://gateway.example.com/mcp",
        "--public-url",
        "https://gateway.example.com/",
        "--oauth-scope-read",
        "runs.read",
        "--oauth-scope-write",
        "runs.write",
        "--oauth-introspection-client",
        "capgate",
        CAPGATE_OAUTH_CLIENT_SECRET="the-secret-0123456789",
    )
    assert given == OAuthSettings(
        issuer=ISSUER,
        audiences=("api://capgate", "https://gateway.example.com/mcp"),
        public_url="https://gateway.example.com",
        read_scope="runs.read",
        write_scope="runs.write",
        introspection_client="capgate",
        introspection_secret="the-secret-0123456789",
    )
    assert "the-secret" not in repr(given)


@pytest.mark.parametrize(
    "flags,message",
    [
        (["--oauth-audience", "api://x"], "--oauth-audience needs --oauth-issuer"),
        (["--public-url", "https://g.example.com"], "--public-url needs --oauth-issuer"),
        (["--oauth-issuer", "login.example.com"], "not an http(s) URL"),
        (["--oauth-issuer", "http://login.example.com"], "must be reached over https"),
        (["--oauth-issuer", ISSUER, "--public-url", "gateway"], "--public-url 'gateway': not an http(s) URL"),
        (["--oauth-issuer", ISSUER, "--oauth-scope-read", "a b"], "a scope is one word"),
        (["--oauth-issuer", ISSUER, "--oauth-scope-write", "read"], "must differ"),
    ],
)
def test_mistakes_in_the_flags_are_refused(flags: list[str], message: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        settings(*flags)
    assert message in str(raised.value)


def test_http_is_allowed_for_an_issuer_on_loopback() -> None:
    assert settings("--oauth-issuer", "http://127.0.0.1:4000") == OAuthSettings(issuer="http://127.0.0.1:4000")


def serve_fails(*flags: str, **environ: str) -> str:
    result = capgate("serve", "--rest-port", "0", "--mcp-port", "0", "--no-audit-log", *flags, env=cli_env(**environ))
    assert result.returncode == 2, result.stderr
    return result.stderr


def test_an_issuer_that_cannot_be_found_stops_start_up() -> None:
    issuer = f"http://127.0.0.1:{free_port()}"
    stderr = serve_fails("--oauth-issuer", issuer)
    assert f"--oauth-issuer {issuer}: no authorization server metadata found" in stderr
    assert "cannot connect" in stderr and "ready on" not in stderr


def test_a_wildcard_host_with_oauth_needs_a_public_url() -> None:
    stderr = serve_fails("--host", "0.0.0.0", "--oauth-issuer", "http://127.0.0.1:9")
    assert "give it with --public-url" in stderr


def test_caller_binds_mistakes_stop_start_up(tmp_path: Path) -> None:
    binds = tmp_path / "binds.yaml"
    binds.write_text("callers:\n  token:ci-bot: {TRIGGER_DEV_API_KEY: tr_dev_ciKEYciKEYciKEY00000001}\n")
    stderr = serve_fails("--caller-binds", str(binds), "--caller-binds-required")
    assert "--caller-binds-required: no caller is identified" in stderr
    stderr = serve_fails("--caller-binds", str(binds), CAPGATE_TOKENS="dashboard:read:dashboard-token-0123456789")
    assert "token:ci-bot names no inbound token (the tokens are: dashboard)" in stderr
    assert "tr_dev_ciKEY" not in stderr
    # An inbound token may not be a caller's upstream key either.
    stderr = serve_fails("--caller-binds", str(binds), CAPGATE_TOKENS="ci-bot:write:tr_dev_ciKEYciKEYciKEY00000001")
    assert "is the upstream's own key" in stderr and "tr_dev_ciKEY" not in stderr
