"""`forward`: a REST resource that passes every request under it on to a consumed namespace, as it came.

The target is the namespace's base URI, `/`, and the rest of the caller's path; the method, the query and the
body go on unchanged. Of the caller's headers only the resource's `trustedHeaders` go on, never its
credentials; then the namespace's own fixed headers (`inputParameters` with a `value`) and its authentication
are set, as the reference engine sets them after copying. The upstream's status and body come back.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import quote

from capgate.consumes.binds import Secrets
from capgate.consumes.client import Sender, Timeouts, UpstreamRequest
from capgate.consumes.operation import authentication_headers, authentication_query
from capgate.core.errors import ArgumentError
from capgate.core.types import UpstreamResult
from capgate.document.models import ConsumesHttp
from capgate.document.templates import render

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_NEVER_FORWARDED = frozenset({"authorization", "proxy-authorization", "cookie", "host", "content-length"})


class Forwarder:
    """One consumed namespace as a forward target, compiled at load time."""

    def __init__(
        self,
        consumes: ConsumesHttp,
        trusted_headers: list[str],
        *,
        base_uri: str,
        secrets: Secrets,
        client: Sender,
        timeouts: Timeouts | None = None,
    ) -> None:
        self.name = f"{consumes.namespace}.forward"
        self._base_uri = base_uri
        self._trusted = [name.lower() for name in trusted_headers if name.lower() not in _NEVER_FORWARDED]
        fixed = {
            p.name: render(str(p.value), secrets.lookup)
            for p in consumes.input_parameters
            if p.location == "header" and p.value is not None
        }
        self._fixed = {**fixed, **authentication_headers(consumes, secrets)}
        self._query = authentication_query(consumes, secrets)
        self._client = client
        self._timeouts = timeouts

    async def send(
        self, method: str, path: str, query: str, headers: Mapping[str, str], body: bytes | None
    ) -> UpstreamResult:
        """Forward one request; `path` is what follows the resource's prefix, `query` the raw query string."""
        segments = path.split("/")
        if any(segment in (".", "..") for segment in segments) or _CONTROL.search(path):
            raise ArgumentError([("path", f"{path!r} must not contain '.' or '..' segments or control characters")])
        path = "/".join(quote(segment, safe="") for segment in segments)
        forwarded = {name: headers[name] for name in self._trusted if name in headers}
        if body and "content-type" in headers:
            forwarded["content-type"] = headers["content-type"]
        forwarded.update(self._fixed)
        url = self._base_uri + ("/" + path if path else "")
        queries = [q for q in [query, *self._query] if q]
        request = UpstreamRequest(
            self.name,
            method,
            url + ("?" + "&".join(queries) if queries else ""),
            forwarded,
            body or None,
            display_url=url,
            idempotent=method in ("GET", "HEAD", "PUT", "DELETE", "OPTIONS"),
            timeouts=self._timeouts,
        )
        return await self._client.send(request)
