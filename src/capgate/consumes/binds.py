"""Resolve a document's binds into secret values, and keep them out of every output."""

from __future__ import annotations

import os
from collections.abc import Mapping

from capgate.core import redaction
from capgate.core.datafile import read_data_file
from capgate.core.errors import ConfigurationError
from capgate.core.locations import LocationError, file_location
from capgate.document.check import environment_binds
from capgate.document.models import Bind, Document


class Secrets:
    """Bound values, looked up by every name a template may use: VAR, env.VAR and namespace.VAR."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self._values = dict(values)
        redaction.register(self._values.values())  # so every log line, error and body written is redacted

    def lookup(self, name: str) -> str | None:
        return self._values.get(name)

    def overlaid(self, values: Mapping[str, str]) -> Secrets:
        """These secrets with some replaced (by every name they are looked up by): one caller's own values."""
        return Secrets({**self._values, **values})

    def names(self) -> list[str]:
        """Every name a template may read a bound value by."""
        return sorted(self._values)

    def values(self) -> list[str]:
        """Every bound value, e.g. to refuse an inbound token that is one of them."""
        return sorted(set(self._values.values()))

    def __repr__(self) -> str:
        return f"Secrets(names={sorted(self._values)})"


def resolve_binds(document: Document, environ: Mapping[str, str] | None = None) -> Secrets:
    """Read every bound variable; raise ConfigurationError naming each one that is missing."""
    environ = os.environ if environ is None else environ
    values: dict[str, str] = {}
    missing: list[tuple[str, str]] = []  # (provider key, where it was looked for)
    for bind in [*document.binds, *document.capability.binds, *environment_binds(document)]:
        provider = _file_provider(bind) if bind.location else environ
        for variable, provider_key in bind.keys.items():
            value = provider.get(provider_key)
            if value is None or value == "":
                where = f"in {bind.location}" if bind.location else "in the environment"
                text = f"{provider_key} is not set {where} (binds namespace {bind.namespace!r})"
                missing.append((provider_key, text))
                continue
            for name in lookup_names(bind, variable):
                values[name] = str(value)
    if missing:
        raise ConfigurationError(
            "missing secret: "
            + "; ".join(text for _, text in missing)
            + f". Set it, e.g. `export {missing[0][0]}=...`, or point the bind's `location` at a file:// JSON or "
            "YAML file"
        )
    return Secrets(values)


def lookup_names(bind: Bind, variable: str) -> tuple[str, ...]:
    """Every name a template may look a bound variable up by: VAR, env.VAR and namespace.VAR."""
    return (variable, f"env.{variable}", f"{bind.namespace}.{variable}")


def bound_variables(document: Document) -> dict[str, list[str]]:
    """Each variable the document binds, and every name it is looked up by."""
    names: dict[str, list[str]] = {}
    for bind in [*document.binds, *document.capability.binds]:
        for variable in bind.keys:
            names.setdefault(variable, []).extend(lookup_names(bind, variable))
    return names


def unset_variables(document: Document, environ: Mapping[str, str] | None = None) -> list[tuple[int, str]]:
    """(bind index, provider key) of each environment-bound variable that is not set, for warnings."""
    environ = os.environ if environ is None else environ
    return [
        (index, key)
        for index, bind in enumerate(document.binds)
        if not bind.location
        for key in bind.keys.values()
        if not environ.get(key)
    ]


def bound_values(document: Document, environ: Mapping[str, str]) -> list[str]:
    """The values of the environment variables the document binds that are set (to redact them)."""
    return [
        environ[key]
        for bind in [*document.binds, *document.capability.binds]
        if not bind.location
        for key in bind.keys.values()
        if environ.get(key)
    ]


def _file_provider(bind: Bind) -> Mapping[str, str]:
    assert bind.location is not None
    try:
        path = file_location(bind.location)
    except LocationError:
        raise ConfigurationError(
            f"binds namespace {bind.namespace!r}: location {bind.location!r} is not supported; use file:///path "
            "(or file:///./path, from the working directory) to a JSON or YAML file, or leave it out to read the "
            "environment"
        ) from None
    data = read_data_file(path, f"binds namespace {bind.namespace!r}")
    if not isinstance(data, dict):
        raise ConfigurationError(f"binds namespace {bind.namespace!r}: {path} must hold a mapping of key: value")
    return {str(k): str(v) for k, v in data.items() if v is not None}
