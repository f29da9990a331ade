"""A key capgate holds for itself never shows: not in its repr, not in a log line, and a short one is refused."""

from __future__ import annotations

import pytest

from capgate.core.errors import ConfigurationError
from capgate.core.redaction import redact
from capgate.core.secret_key import SecretKey

TEXT = "a-request-state-key-of-forty-characters!"


def test_the_key_never_shows_and_its_text_is_redacted() -> None:
    key = SecretKey.from_text(TEXT, "CAPGATE_REQUEST_STATE_KEY")
    assert key.reveal() == TEXT.encode()
    assert repr(key) == str(key) == f"SecretKey(<{len(TEXT)} bytes>)" and TEXT not in repr([key])
    assert redact(f"sealed with {TEXT}") == "sealed with [redacted]"


def test_generated_keys_differ_and_are_long_enough() -> None:
    first, second = SecretKey.generate(), SecretKey.generate()
    assert first.reveal() != second.reveal() and len(first.reveal()) == 32


def test_a_short_key_is_refused_saying_how_to_make_one() -> None:
    with pytest.raises(ConfigurationError) as refused:
        SecretKey.from_text("short-secret", "CAPGATE_REQUEST_STATE_KEY")
    message = str(refused.value)
    assert message.startswith("CAPGATE_REQUEST_STATE_KEY: a key must be at least 32 bytes of secret randomness, not 12")
    assert "secrets.token_hex(32)" in message and "short-secret" not in message
