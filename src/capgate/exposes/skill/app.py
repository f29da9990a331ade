"""The skill adapter's routes, as the format's engine serves them (Agent Skills over the sibling adapters).

    GET /skills                              every skill: name, description, license, tool names
    GET /skills/{name}                       one skill's metadata and tools; a derived tool's invocationRef
                                             says which sibling adapter (rest or mcp) and action to call
    GET /skills/{name}/contents              the files of the skill's `location` directory
    GET /skills/{name}/contents/{file}       one of them (several segments; unsafe names are refused)
    GET /skills/{name}/download              all of them as a ZIP archive

The catalogue runs nothing: agents call the sibling adapters themselves.
"""

from __future__ import annotations

import io
import mimetypes
import zipfile
from pathlib import Path
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from capgate.core.locations import LocationError, file_location, inside
from capgate.document.models import Document, ExposesMcp, ExposesRest, ExposesSkill, Skill
from capgate.exposes.problem import problem

_MEDIA_TYPES = {".md": "text/markdown", ".yaml": "application/yaml", ".yml": "application/yaml"}


def build_skill_app(document: Document, adapter: ExposesSkill) -> Starlette:
    """An ASGI app serving `adapter`'s catalogue; `document` says which sibling namespace is rest or mcp."""
    catalogue = _Catalogue(document, adapter)
    routes = [
        Route("/skills", catalogue.listing, methods=["GET"]),
        Route("/skills/{name}", catalogue.detail, methods=["GET"]),
        Route("/skills/{name}/contents", catalogue.contents, methods=["GET"]),
        Route("/skills/{name}/contents/{file:path}", catalogue.file, methods=["GET"]),
        Route("/skills/{name}/download", catalogue.download, methods=["GET"]),
    ]
    return Starlette(routes=routes)


class _Catalogue:
    def __init__(self, document: Document, adapter: ExposesSkill) -> None:
        self.modes: dict[str, str] = {
            other.namespace: str(other.type)
            for other in document.capability.exposes
            if isinstance(other, ExposesRest | ExposesMcp)
        }
        self.adapter = adapter
        self.skills = {skill.name: skill for skill in adapter.skills}

    async def listing(self, request: Request) -> Response:
        listed = [
            _present(
                {"name": s.name, "description": s.description, "license": s.license, "tools": [t.name for t in s.tools]}
            )
            for s in self.adapter.skills
        ]
        return _json({"count": len(listed), "skills": listed})

    async def detail(self, request: Request) -> Response:
        skill = self._skill(request)
        return skill if isinstance(skill, Response) else _json(_detail(skill, self.modes))

    async def contents(self, request: Request) -> Response:
        root = self._root(request)
        if isinstance(root, Response):
            return root
        files = [
            {"path": path.relative_to(root).as_posix(), "size": path.stat().st_size, "type": _media_type(path)}
            for path in sorted(root.rglob("*"))
            if path.is_file()
        ]
        return _json({"name": request.path_params["name"], "files": files})

    async def file(self, request: Request) -> Response:
        root = self._root(request)
        if isinstance(root, Response):
            return root
        try:
            path = inside(root, request.path_params["file"])
        except LocationError as exc:
            return problem(400, "Bad Request", str(exc))
        if not path.is_file():
            return problem(404, "Not Found", f"file not found: {request.path_params['file']}")
        return FileResponse(path, media_type=_media_type(path))

    async def download(self, request: Request) -> Response:
        root = self._root(request)
        if isinstance(root, Response):
            return root
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
            for path in sorted(root.rglob("*")):
                if path.is_file() and path.resolve().is_relative_to(root.resolve()):
                    zipped.write(path, path.relative_to(root).as_posix())
        headers = {"content-disposition": f'attachment; filename="{request.path_params["name"]}.zip"'}
        return Response(archive.getvalue(), media_type="application/zip", headers=headers)

    def _skill(self, request: Request) -> Skill | Response:
        name = request.path_params["name"]
        skill = self.skills.get(name)
        if skill is None:
            return problem(404, "Not Found", f"skill not found: {name} (skills: {', '.join(self.skills) or 'none'})")
        return skill

    def _root(self, request: Request) -> Path | Response:
        skill = self._skill(request)
        if isinstance(skill, Response):
            return skill
        if skill.location is None:
            return problem(404, "Not Found", f"no location configured for skill: {skill.name}")
        try:
            root = file_location(skill.location)
        except LocationError as exc:
            return problem(404, "Not Found", str(exc))
        if not root.is_dir():
            return problem(404, "Not Found", f"location directory not found for skill: {skill.name}")
        return root


def _detail(skill: Skill, modes: dict[str, str]) -> dict[str, Any]:
    tools = []
    for tool in skill.tools:
        entry: dict[str, Any] = {"name": tool.name, "description": tool.description}
        if tool.from_ is not None:
            entry["type"] = "derived"
            entry["invocationRef"] = {
                "targetNamespace": tool.from_.source_namespace,
                "action": tool.from_.action,
                "mode": modes.get(tool.from_.source_namespace, "unknown"),
            }
        elif tool.instruction is not None:
            entry["type"] = "instruction"
            entry["instruction"] = tool.instruction
        tools.append(entry)
    described = {
        "name": skill.name,
        "description": skill.description,
        "license": skill.license,
        "compatibility": skill.compatibility,
        "argument-hint": skill.argument_hint,
        "allowed-tools": skill.allowed_tools,
        "user-invocable": skill.user_invocable,
        "disable-model-invocation": skill.disable_model_invocation,
        "metadata": skill.metadata or None,
    }
    return {**_present(described), "tools": tools}


def _present(fields: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in fields.items() if value is not None}


def _media_type(path: Path) -> str:
    return _MEDIA_TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"


def _json(data: Any) -> Response:
    return Response(orjson.dumps(data), media_type="application/json")
