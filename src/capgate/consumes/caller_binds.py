"""Each caller's own values for the document's binds: `capgate serve --caller-binds FILE`.

So that two teams calling through one gateway act upstream with their own keys (and the upstream can tell
their calls apart), the operator maps a caller to its own values of the variables the document binds:

    # caller-binds.yaml (or .json)
    callers:
      token:ci-bot:              {TRIGGER_DEV_API_KEY: {env: CI_TRIGGER_KEY}}
      client:team-a-dashboard:   {TRIGGER_DEV_API_KEY: {file: /run/secrets/team-a-key}}
      sub:alice@example.com:     {TRIGGER_DEV_API_KEY: tr_dev_...}

A caller is `token:ID` (a static token's id), `sub:SUBJECT` or `client:CLIENT_ID` (an OAuth access token's;
`sub:` is tried first). A value is the value itself, `{env: NAME}` or `{file: PATH}` (relative to this file),
so the file need hold no secret. Variables a caller does not name keep the operator's values. Every value is
registered for redaction as the operator's are. The file is read again on SIGHUP, with the document.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from capgate.consumes.binds import Secrets, bound_variables
from capgate.core.datafile import read_data_file, read_text_within
from capgate.core.errors import ConfigurationError
from capgate.document.models import Document

CALLER_KINDS = ("token", "sub", "client")
_CALLER = re.compile(rf"^({'|'.join(CALLER_KINDS)}):\S")


class CallerBinds:
    """The callers that act upstream with their own values; empty when `--caller-binds` is not given."""

    def __init__(self, by_caller: Mapping[str, Secrets] | None = None, *, required: bool = False) -> None:
        self._by_caller = dict(by_caller or {})
        self.required = required  # a caller without an entry is refused (`--caller-binds-required`)

    def __bool__(self) -> bool:
        return bool(self._by_caller)

    def secrets_for(self, keys: Sequence[str]) -> Secrets | None:
        """The secrets of the first of `keys` (a caller's names, `Caller.bind_keys`) that has an entry."""
        for key in keys:
            found = self._by_caller.get(key)
            if found is not None:
                return found
        return None

    def token_ids(self) -> list[str]:
        """The static token ids named (`token:ID`), so that a typo in one is an error at start-up."""
        return sorted(key.removeprefix("token:") for key in self._by_caller if key.startswith("token:"))

    def values(self) -> list[str]:
        """Every caller's values: no inbound token may be one of them."""
        return sorted({value for secrets in self._by_caller.values() for value in secrets.values()})

    def __repr__(self) -> str:
        return f"CallerBinds(callers={sorted(self._by_caller)}, required={self.required})"


def load_caller_binds(
    path: str | None,
    document: Document,
    secrets: Secrets,
    environ: Mapping[str, str] | None = None,
    *,
    required: bool = False,
) -> CallerBinds:
    """The callers of the file at `path` (none without one); ConfigurationError says what is wrong and where,
    never with a value."""
    if path is None:
        return CallerBinds(required=required)
    environ = os.environ if environ is None else environ
    file = Path(path)
    data = read_data_file(file, "--caller-binds")
    callers = data.get("callers") if isinstance(data, Mapping) else None
    if not isinstance(callers, Mapping) or not callers:
        raise ConfigurationError(
            f"--caller-binds {path}: expected `callers:` mapping each caller (token:ID, sub:SUBJECT or "
            "client:CLIENT_ID) to its own values, e.g. `callers: {token:ci-bot: {VARIABLE: {env: NAME}}}`"
        )
    variables = bound_variables(document)
    by_caller = {}
    for caller, values in callers.items():
        where = f"--caller-binds {path}: callers.{caller}"
        if not isinstance(caller, str) or not _CALLER.match(caller):
            raise ConfigurationError(
                f"{where}: a caller is token:ID (a static token's id), sub:SUBJECT or client:CLIENT_ID (an OAuth "
                "access token's)"
            )
        if not isinstance(values, Mapping) or not values:
            raise ConfigurationError(f"{where}: expected a mapping of the document's variables to this caller's values")
        own: dict[str, str] = {}
        for variable, value in values.items():
            if variable not in variables:
                known = ", ".join(sorted(variables)) or "none"
                raise ConfigurationError(f"{where}: the document binds no variable {variable!r} (it binds: {known})")
            resolved = _value(f"{where}.{variable}", value, file.parent, environ)
            own.update(dict.fromkeys(variables[variable], resolved))
        by_caller[caller] = secrets.overlaid(own)
    return CallerBinds(by_caller, required=required)


def _value(where: str, value: Any, folder: Path, environ: Mapping[str, str]) -> str:
    """A literal, `{env: NAME}` or `{file: PATH}`; the messages name where to look, never what was found."""
    if isinstance(value, str | int) and not isinstance(value, bool):
        text = str(value)
    elif isinstance(value, Mapping) and len(value) == 1 and "env" in value:
        text = environ.get(str(value["env"]), "")
        if not text:
            raise ConfigurationError(f"{where}: environment variable {value['env']} is not set; export it")
    elif isinstance(value, Mapping) and len(value) == 1 and "file" in value:
        file = folder / str(value["file"])
        try:
            text = read_text_within(file).strip()
        except OSError as exc:
            raise ConfigurationError(f"{where}: cannot read {file} ({exc.strerror})") from None
        except UnicodeDecodeError:
            raise ConfigurationError(f"{where}: {file} is not UTF-8 text") from None
        if not text:
            raise ConfigurationError(f"{where}: {file} is empty")
    else:
        raise ConfigurationError(f"{where}: expected the value itself, {{env: NAME}} or {{file: PATH}}")
    if not text:
        raise ConfigurationError(f"{where}: the value is empty")
    return text
