"""The authorization server's signing keys (its JWKS), cached, refreshed when a token names a key not seen yet.

Bounded, so that tokens with made-up key ids cannot make capgate hammer the server or hold much: the set is
fetched again when it is older than `max_age`, or when a token names an unknown `kid` — but at most once
every `min_interval`, one fetch at a time — and at most `MAX_KEYS` keys are kept. Only public keys for an
asymmetric algorithm are kept (RSA, EC, OKP); a symmetric (`oct`) key or one marked for encryption is ignored,
so no token can be checked with HMAC against a key meant for a signature. If a fetch fails, the keys already
held stay in use and a warning is logged.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import jwt

logger = logging.getLogger("capgate.oauth")

MAX_AGE = 600.0  # seconds a fetched set is used before it is fetched again
MIN_INTERVAL = 30.0  # seconds between two fetches, whatever tokens arrive
MAX_KEYS = 64

# The algorithms a signature may use, each with the key type (and curve) it needs. No `none`, no HMAC.
ALGORITHMS: dict[str, tuple[str, str | None]] = {
    **{f"RS{bits}": ("RSA", None) for bits in (256, 384, 512)},
    **{f"PS{bits}": ("RSA", None) for bits in (256, 384, 512)},
    "ES256": ("EC", "P-256"),
    "ES384": ("EC", "P-384"),
    "ES512": ("EC", "P-521"),
    "EdDSA": ("OKP", "Ed25519"),
}

Fetch = Callable[[], Awaitable[list[dict[str, Any]]]]  # the `keys` of the JWKS; raises when it cannot


class KeysUnavailable(Exception):
    """No keys could be fetched yet, so no token can be checked."""


class SigningKeys:
    """The keys of one JWKS, as `key_for(kid, alg)` hands them to the token check."""

    def __init__(
        self, fetch: Fetch, *, max_age: float = MAX_AGE, min_interval: float = MIN_INTERVAL, where: str = ""
    ) -> None:
        self._fetch = fetch
        self._max_age = max_age
        self._min_interval = min_interval
        self._where = where  # the JWKS URL, for messages
        self._keys: list[dict[str, Any]] = []
        self._fetched: float | None = None  # monotonic time of the last fetch, successful or not
        self._loaded = False  # whether any fetch succeeded
        self._failure = ""  # why the last fetch failed
        self._lock = asyncio.Lock()
        self._prepared: dict[tuple[str | None, str], jwt.PyJWK] = {}  # only keys found: kids come from tokens

    async def refresh(self) -> None:
        """Fetch the set now (at start-up); KeysUnavailable if that fails."""
        async with self._lock:
            await self._load()
        if not self._loaded:
            raise self._unavailable()

    async def key_for(self, kid: str | None, algorithm: str) -> jwt.PyJWK | None:
        """The key that verifies a token signed with `algorithm` by key `kid`, or None when the set has none."""
        if self._stale():
            await self._reload(reason="its keys are old")
        key = self._find(kid, algorithm)
        if key is None and self._may_fetch():
            await self._reload(reason=f"a token names key {kid!r}")
            key = self._find(kid, algorithm)
        if key is None and not self._loaded:
            raise self._unavailable()
        return key

    def _unavailable(self) -> KeysUnavailable:
        return KeysUnavailable(f"the signing keys at {self._where} could not be fetched ({self._failure})")

    def _stale(self) -> bool:
        return self._fetched is None or time.monotonic() - self._fetched > self._max_age

    def _may_fetch(self) -> bool:
        return self._fetched is None or time.monotonic() - self._fetched >= self._min_interval

    async def _reload(self, *, reason: str) -> None:
        fetched = self._fetched
        async with self._lock:
            if self._fetched != fetched:  # another call fetched while this one waited: use its keys
                return
            logger.debug("fetching the signing keys at %s: %s", self._where, reason)
            await self._load()

    async def _load(self) -> None:
        self._fetched = time.monotonic()
        try:
            keys = await self._fetch()
        except Exception as exc:
            self._failure = str(exc)
            held = len(self._keys)
            logger.warning("cannot fetch the signing keys at %s (%s); keeping the %d held", self._where, exc, held)
            return
        usable = [key for key in keys if _usable(key)]
        if len(usable) > MAX_KEYS:
            logger.warning("the JWKS at %s has %d keys; using the first %d", self._where, len(usable), MAX_KEYS)
        self._keys = usable[:MAX_KEYS]
        self._prepared = {}
        self._loaded = True

    def _find(self, kid: str | None, algorithm: str) -> jwt.PyJWK | None:
        prepared = self._prepared.get((kid, algorithm))
        if prepared is not None:
            return prepared
        kty, curve = ALGORITHMS[algorithm]
        matching = [
            key
            for key in self._keys
            if (kid is None or key.get("kid") == kid)
            and key.get("kty") == kty
            and (curve is None or key.get("crv") == curve)
            and key.get("alg", algorithm) == algorithm
        ]
        # Without a `kid` the key must be unambiguous; with one, ids are unique in a well-formed set.
        if len(matching) != 1:
            return None
        try:
            found = jwt.PyJWK(matching[0], algorithm=algorithm)
        except (jwt.PyJWTError, ValueError, TypeError, KeyError) as exc:
            logger.warning("key %r of %s cannot be used: %s", matching[0].get("kid"), self._where, exc)
            return None
        self._prepared[(kid, algorithm)] = found
        return found


def _usable(key: Any) -> bool:
    """A public signing key of a type some allowed algorithm uses; never a symmetric one."""
    return (
        isinstance(key, dict)
        and key.get("kty") in ("RSA", "EC", "OKP")
        and key.get("use", "sig") == "sig"
        and "d" not in key  # a private key has no business in a published set
    )
