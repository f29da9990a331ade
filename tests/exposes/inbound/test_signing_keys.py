"""The issuer's signing keys: cached, fetched again for an unknown `kid` at most once per interval, never a
symmetric key, and kept when a fetch fails."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from capgate.exposes.inbound.signing_keys import MAX_KEYS, KeysUnavailable, SigningKeys
from tests.support.authorization import public_jwk

pytestmark = pytest.mark.anyio

RSA_KEY = public_jwk(rsa.generate_private_key(public_exponent=65537, key_size=2048), "rsa-1")
EC_KEY = public_jwk(ec.generate_private_key(ec.SECP256R1()), "ec-1")
ROTATED = public_jwk(rsa.generate_private_key(public_exponent=65537, key_size=2048), "rsa-2")


class Published:
    """What the issuer publishes, and how often it was asked."""

    def __init__(self, *keys: dict[str, Any]) -> None:
        self.keys = list(keys)
        self.fetches = 0
        self.failing = False

    async def fetch(self) -> list[dict[str, Any]]:
        self.fetches += 1
        if self.failing:
            raise OSError("connection refused")
        return list(self.keys)


async def test_keys_are_found_by_kid_and_algorithm() -> None:
    published = Published(RSA_KEY, EC_KEY)
    keys = SigningKeys(published.fetch, where="jwks")
    await keys.refresh()
    assert (await keys.key_for("rsa-1", "RS256")) is not None
    assert (await keys.key_for("rsa-1", "PS256")) is not None  # an RSA key without `alg` signs either
    assert (await keys.key_for("ec-1", "ES256")) is not None
    assert (await keys.key_for("ec-1", "ES384")) is None  # P-256 is not ES384's curve
    assert (await keys.key_for("rsa-1", "ES256")) is None  # nor is an RSA key an EC one
    assert (await keys.key_for(None, "ES256")) is not None  # no kid: the one key that fits
    assert published.fetches == 1


async def test_an_unknown_kid_fetches_again_but_at_most_once_per_interval() -> None:
    published = Published(RSA_KEY)
    keys = SigningKeys(published.fetch, min_interval=3600)
    await keys.refresh()
    published.keys.append(ROTATED)
    # The interval since the first fetch has not passed: a made-up kid costs the issuer nothing.
    for kid in ("made-up-1", "made-up-2", "rsa-2"):
        assert (await keys.key_for(kid, "RS256")) is None
    assert published.fetches == 1
    eager = SigningKeys(published.fetch, min_interval=0)
    await eager.refresh()
    published.keys.append(public_jwk(rsa.generate_private_key(public_exponent=65537, key_size=2048), "rsa-3"))
    assert (await eager.key_for("rsa-3", "RS256")) is not None  # a rotated-in key is fetched when first named
    assert published.fetches == 3


async def test_old_keys_are_fetched_again_and_kept_when_that_fails() -> None:
    published = Published(RSA_KEY)
    keys = SigningKeys(published.fetch, max_age=0, min_interval=0)
    await keys.refresh()
    published.failing = True
    assert (await keys.key_for("rsa-1", "RS256")) is not None  # stale, the fetch failed: the held key serves
    assert published.fetches == 2


async def test_no_keys_at_all_is_said_so() -> None:
    published = Published()
    published.failing = True
    keys = SigningKeys(published.fetch, where="http://issuer/jwks")
    with pytest.raises(KeysUnavailable, match=r"http://issuer/jwks could not be fetched \(connection refused\)"):
        await keys.refresh()
    with pytest.raises(KeysUnavailable):
        await keys.key_for("rsa-1", "RS256")


async def test_symmetric_private_and_encryption_keys_are_never_used() -> None:
    hmac_key = {"kty": "oct", "kid": "shared", "k": "c2VjcmV0", "alg": "HS256"}
    private = {**RSA_KEY, "kid": "private", "d": "AQAB"}
    encryption = {**EC_KEY, "kid": "enc", "use": "enc"}
    keys = SigningKeys(Published(hmac_key, private, encryption).fetch)
    await keys.refresh()
    assert [await keys.key_for(kid, "RS256") for kid in ("shared", "private")] == [None, None]
    assert (await keys.key_for("enc", "ES256")) is None


async def test_a_huge_set_is_cut_to_the_bound() -> None:
    many = [{**EC_KEY, "kid": f"k{index}"} for index in range(MAX_KEYS + 10)]
    keys = SigningKeys(Published(*many).fetch)
    await keys.refresh()
    assert (await keys.key_for(f"k{MAX_KEYS - 1}", "ES256")) is not None
    assert (await keys.key_for(f"k{MAX_KEYS}", "ES256")) is None
