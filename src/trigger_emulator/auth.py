"""API keys and the environments they stand for.

Each configured secret key is one environment; its runs are invisible to every other key. Failures carry
the apiBuilder's messages (`Invalid API key`, …); the legacy routes replace them with their own text.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from starlette.datastructures import Headers

from trigger_emulator.ids import stable_cuid
from trigger_emulator.models import DEV_USER, ENVIRONMENT_KINDS, Environment


class AuthError(Exception):
    """The request's credentials do not name an environment; `str(error)` is the apiBuilder's 401 text."""


def environment_for_key(key: str) -> Environment:
    """The environment a key authenticates as: its kind and slug come from the key's prefix, its id from the key."""
    prefix = key.split("_")[1]
    kind, slug = ENVIRONMENT_KINDS[prefix]
    return Environment(
        id=stable_cuid("environment", key),
        name=slug,
        kind=kind,
        user=DEV_USER if kind == "DEVELOPMENT" else None,
    )


# What the Fetch standard strips from both ends of a header value: the live service reads headers through
# Remix's `Headers`, so `Authorization: Bearer ` reaches it as `Bearer`, whatever the HTTP parser in front did.
_HTTP_WHITESPACE = " \t\r\n"


def bearer_token(headers: Headers) -> str:
    """The token in `Authorization` as the live service reads it (`internal-packages/rbac/src/bearerCredentials.ts`):
    the value normalised as Fetch's `Headers` normalise it, then `replace(/^Bearer /, "").trim()`.

    So `Bearer ` (normalised to `Bearer`, which has no `Bearer ` prefix to remove) is the key `Bearer`, which is
    no environment's: "Invalid API key". Only a value that is empty once the prefix is gone is "missing".
    """
    value = headers.get("authorization", "").strip(_HTTP_WHITESPACE)
    return value.removeprefix("Bearer ").strip()


@dataclass(frozen=True)
class KeyRing:
    """The configured keys, each mapped to its environment."""

    environments: Mapping[str, Environment]

    @classmethod
    def from_keys(cls, keys: Iterable[str]) -> KeyRing:
        """Build the key ring for a list of secret keys."""
        return cls({key: environment_for_key(key) for key in keys})

    def authenticate(self, headers: Headers) -> Environment:
        """The environment of the request's key; raises `AuthError` with the live service's message."""
        token = bearer_token(headers)
        if not token:
            raise AuthError("Invalid or Missing API key")
        env = self.environments.get(token)
        if env is None:
            raise AuthError("Invalid API key")
        branch = headers.get("x-trigger-branch")
        if env.kind == "PREVIEW" and not branch:
            raise AuthError("x-trigger-branch header required for preview env")
        if env.kind == "DEVELOPMENT" and branch and branch != "default":
            raise AuthError("No matching branch env")
        return env
