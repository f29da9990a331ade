"""`capgate convert`: a document rewritten in the other dialect, Naftiko 1.0.0-alpha2 <-> Ikanos 1.0.0-beta5.

What was written is converted, not the model capgate reads it into, so fields capgate does not model and the
order of keys carry over (YAML comments do not). Lists of named items become Ikanos's keyed maps and back;
`label`/`display`, `functions`/`flows`, `targetName`/`target` and the consumes import's `location`/`from` are
renamed; an orchestrated array's `items` (alpha2: a list of named fields; Ikanos: the fields keyed by name) is
respelled. Each thing the target dialect cannot say is left out, and said in a note:
- to Ikanos, an exposed resource or operation without a `name` gets one (Ikanos keys them by name);
- to Naftiko, imports of `exposes`, `aggregates` and `binds` (alpha2 imports consumes only), and the Ikanos-only
  fields (`tunnel`, binary content's `maxBinarySize` and `outputMediaType`, `responses`, `ttlMs`, `cacheScope`,
  `info.version`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

import yaml

from capgate.document import alpha, ikanos
from capgate.document.source import Path, format_path

Dialect = Literal["naftiko", "ikanos"]
TARGET_VERSION: dict[Dialect, str] = {"naftiko": "1.0.0-alpha2", "ikanos": ikanos.VERSIONS[-1]}
_TO_IKANOS = {spelling: ikanos_spelling for ikanos_spelling, spelling in ikanos.RENAMED.items()}
_IKANOS_ONLY = frozenset({"tunnel", "maxBinarySize", "outputMediaType", "responses", "ttlMs", "cacheScope"})
_ONLY_CONSUMES_IMPORTED = ("exposes", "aggregates", "binds")  # sections whose imports alpha2 cannot say


@dataclass
class Converted:
    """A document in the target dialect, and what its conversion left out or made up."""

    data: dict[str, Any]
    notes: list[str] = field(default_factory=list)

    def yaml(self) -> str:
        return yaml.safe_dump(self.data, sort_keys=False, allow_unicode=True, width=120)


def dialect_of(data: dict[str, Any]) -> Dialect | None:
    if alpha.ROOT_KEY in data:
        return "naftiko"
    return "ikanos" if ikanos.ROOT_KEY in data else None


def convert(data: dict[str, Any], target: Dialect) -> Converted:
    """`data` (a document as written, in the other dialect) written in `target`."""
    converted = Converted({})
    body = {key: value for key, value in data.items() if key not in (alpha.ROOT_KEY, ikanos.ROOT_KEY)}
    walk = _ToIkanos(converted.notes) if target == "ikanos" else _ToNaftiko(converted.notes)
    converted.data = {target: TARGET_VERSION[target], **walk.node(body, ())}
    return converted


class _Walk:
    """A document's tree written again: lists and scalars as they are, each mapping by the dialect's `mapping`;
    what cannot carry over goes to `notes`."""

    def __init__(self, notes: list[str]) -> None:
        self.notes = notes

    def node(self, value: Any, where: Path) -> Any:
        if isinstance(value, list):
            return [self.node(item, (*where, index)) for index, item in enumerate(value)]
        return self.mapping(value, where) if isinstance(value, dict) else value

    def mapping(self, value: dict[str, Any], where: Path) -> dict[str, Any]:
        raise NotImplementedError


class _ToIkanos(_Walk):
    def mapping(self, value: dict[str, Any], where: Path) -> dict[str, Any]:
        written: dict[str, Any] = {}
        for key, child in value.items():
            name = _TO_IKANOS.get(str(key), str(key))
            at = (*where, key)
            if key in ikanos.VERBATIM:
                written[name] = child
            elif key == "location" and "import" in value:
                written["from"] = child
            elif key == "properties" and isinstance(child, dict):
                written[name] = {k: self.node(v, (*at, k)) for k, v in child.items()}
            elif key == "outputParameters" and _all_named(child):
                written[name] = self._by_name(child, at)
            elif _TO_IKANOS.get(str(key), str(key)) in ikanos.KEYED and key != "outputParameters" and _dicts(child):
                written[name] = self._keyed(child, at)
            else:
                written[name] = self.node(child, at)
        return written

    def _keyed(self, items: list[dict[str, Any]], where: Path) -> dict[str, Any]:
        keyed: dict[str, Any] = {}
        for index, item in enumerate(items):
            key = item.get("name")
            if not isinstance(key, str) or not key or key in keyed:
                key = _unique(_made_up_name(item), keyed)
                self.notes.append(
                    f"{format_path((*where, index))}: has no name of its own; Ikanos keys it by one: {key!r}"
                )
            keyed[key] = self.node({k: v for k, v in item.items() if k != "name"}, (*where, index))
        return keyed

    def _by_name(self, outputs: list[dict[str, Any]], where: Path) -> dict[str, Any]:
        """Output parameters keyed by their names; a name given twice keeps its last, and a note says so."""
        keyed: dict[str, Any] = {}
        for index, item in enumerate(outputs):
            if item["name"] in keyed:
                self.notes.append(
                    f"{format_path((*where, index))}: a second output parameter named {item['name']!r}; Ikanos keys "
                    "them by name, so only this one is kept: rename one"
                )
            keyed[item["name"]] = self._orchestrated(item, (*where, index))
        return keyed

    def _orchestrated(self, output: dict[str, Any], where: Path) -> dict[str, Any]:
        """An output parameter without its name (it is keyed by it, or by the name itself in `properties`); an
        array's named `items` fields keyed by name."""
        written: dict[str, Any] = self.node({k: v for k, v in output.items() if k != "name"}, where)
        items = output.get("items")
        if isinstance(items, list) and _all_named(items):
            written["items"] = self._by_name(items, (*where, "items"))
        properties = output.get("properties")
        if isinstance(properties, dict):
            written["properties"] = {}
            for key, child in properties.items():
                at = (*where, "properties", key)
                if isinstance(child, dict) and child.get("name", key) != key:
                    self.notes.append(
                        f"{format_path(at)}: its name {child['name']!r} is left out: Ikanos names it {key!r}"
                    )
                written["properties"][key] = self._orchestrated(child, at) if isinstance(child, dict) else child
        return written


class _ToNaftiko(_Walk):
    def mapping(self, value: dict[str, Any], where: Path) -> dict[str, Any]:
        written: dict[str, Any] = {}
        for key, child in value.items():
            name = ikanos.RENAMED.get(str(key), str(key))
            at = (*where, key)
            if key in _IKANOS_ONLY or (where == ("info",) and key == "version"):
                self.notes.append(f"{format_path(at)}: Ikanos only; left out (Naftiko 1.0.0-alpha2 has no `{key}`)")
            elif key in ikanos.VERBATIM:
                written[name] = child
            elif key in _ONLY_CONSUMES_IMPORTED and isinstance(child, list):
                written[name] = [self.node(e, (*at, i)) for i, e in enumerate(child) if not self._dropped(e, at, i)]
            elif key == "from" and "import" in value:
                written["location"] = child
            elif key == "properties" and isinstance(child, dict):
                written[name] = {k: self.node(v, (*at, k)) for k, v in child.items()}
            elif key in ikanos.KEYED and isinstance(child, dict):
                written[name] = [self._named(k, v, (*at, k), key == "outputParameters") for k, v in child.items()]
            else:
                written[name] = self.node(child, at)
        return written

    def _named(self, name: str, item: Any, where: Path, orchestrated: bool) -> Any:
        if not isinstance(item, dict):
            return item
        return {"name": name, **(self._orchestrated(item, where) if orchestrated else self.node(item, where))}

    def _orchestrated(self, output: dict[str, Any], where: Path) -> dict[str, Any]:
        """An output parameter whose arrays' `items` may be fields keyed by name: alpha2 lists them, named."""
        written: dict[str, Any] = self.node(output, where)
        items = output.get("items")
        if isinstance(items, dict) and items and all(isinstance(child, dict) for child in items.values()):
            written["items"] = [self._named(k, v, (*where, "items", k), True) for k, v in items.items()]
        properties = output.get("properties")
        if isinstance(properties, dict):
            written["properties"] = {
                k: self._orchestrated(v, (*where, "properties", k)) if isinstance(v, dict) else v
                for k, v in properties.items()
            }
        return written

    def _dropped(self, entry: Any, section: Path, index: int) -> bool:
        if not (isinstance(entry, dict) and "from" in entry and "import" in entry):
            return False
        self.notes.append(
            f"{format_path((*section, index))}: imports {entry['import']!r} from {entry['from']}, which Naftiko "
            f"1.0.0-alpha2 cannot (it imports consumes only); left out: copy the entry into the document"
        )
        return True


def _dicts(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, dict) for item in value)


def _all_named(value: Any) -> bool:
    return _dicts(value) and bool(value) and all(isinstance(item.get("name"), str) for item in value)


def _made_up_name(item: dict[str, Any]) -> str:
    """A key for an unnamed entry: an exposed resource's path (`/ships/{imo}` -> `ships-imo`), an operation's
    method (`get`)."""
    source = str(item.get("path") or item.get("method") or "item")
    return re.sub(r"[^a-zA-Z0-9]+", "-", source).strip("-").lower() or "root"


def _unique(key: str, taken: dict[str, Any]) -> str:
    candidate, number = key, 2
    while candidate in taken:
        candidate, number = f"{key}-{number}", number + 1
    return candidate
