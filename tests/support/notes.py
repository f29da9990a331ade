"""The notes API of tests/support/documents/notes-api.yaml: a document for an API that is not Trigger.dev's,
served in front of a test's own upstream with quick retries and no audit log."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from capgate.consumes.client import DEFAULT_CLIENT_SETTINGS, ClientSettings
from capgate.consumes.resilience import ResilienceSettings
from capgate.consumes.retry import RetryPolicy
from capgate.gateway.safeguards import Hardening
from capgate.serve.config import ServeConfig
from tests.support.gateway import Running, running_gateway

NOTES = str(Path(__file__).resolve().parent / "documents" / "notes-api.yaml")
TOKEN = "notes-canary-token-000000000001"
ENV = {"NOTES_API_TOKEN": TOKEN}


@contextmanager
def notes_gateway(upstream_url: str, client_settings: ClientSettings | None = None) -> Iterator[Running]:
    resilience = ResilienceSettings(retry=RetryPolicy(attempts=3, backoff=0.02, max_backoff=0.05))
    config = ServeConfig(
        documents=(NOTES,),
        rest_port=0,
        mcp_port=0,
        base_uris={"notes": upstream_url},
        environ=ENV,
        client_settings=client_settings or DEFAULT_CLIENT_SETTINGS,
        hardening=Hardening(resilience=resilience, audit_log=None),
    )
    with running_gateway(config) as running:
        yield running
