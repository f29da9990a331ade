"""Key material capgate holds for itself (the key that seals MCP request state), never shown in any output."""

from __future__ import annotations

import secrets

from capgate.core.errors import ConfigurationError
from capgate.core.redaction import register

MIN_KEY_BYTES = 32  # the SDK's AES-256-GCM codec takes no less


class SecretKey:
    """A secret key; its repr and str name only its length, and its text is redacted from every output."""

    __slots__ = ("_material",)

    def __init__(self, material: bytes) -> None:
        if len(material) < MIN_KEY_BYTES:
            raise ConfigurationError(
                f"a key must be at least {MIN_KEY_BYTES} bytes of secret randomness, not {len(material)}; make one "
                'with: python -c "import secrets; print(secrets.token_hex(32))"'
            )
        self._material = material

    @classmethod
    def generate(cls) -> SecretKey:
        """A new random key, known to this process (and to the workers it forks) only."""
        return cls(secrets.token_bytes(MIN_KEY_BYTES))

    @classmethod
    def from_text(cls, text: str, source: str) -> SecretKey:
        """The key given as text by `source` (an environment variable's name, say); ConfigurationError names it."""
        try:
            key = cls(text.encode())
        except ConfigurationError as exc:
            raise ConfigurationError(f"{source}: {exc}") from None
        register([text])
        return key

    def reveal(self) -> bytes:
        """The key's bytes, for the code that seals with it."""
        return self._material

    def __repr__(self) -> str:
        return f"SecretKey(<{len(self._material)} bytes>)"

    __str__ = __repr__
