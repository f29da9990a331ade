"""RFC 9457 problem+json responses, the one error shape of the REST facade."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from capgate.core.redaction import redact_bytes

PROBLEM_JSON = "application/problem+json"


def problem(status: int, title: str, detail: str, *, headers: dict[str, str] | None = None, **extra: Any) -> Response:
    return Response(
        problem_body(status, title, detail, **extra), status_code=status, headers=headers, media_type=PROBLEM_JSON
    )


def problem_body(status: int, title: str, detail: str, **extra: Any) -> bytes:
    # `error` repeats `detail`: clients of APIs like Trigger.dev's (and its SDK) read the message from `error`.
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, "error": detail, **extra}
    return redact_bytes(orjson.dumps(body))
