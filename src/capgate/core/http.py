"""Facts of HTTP that several layers rely on, each stated once."""

from __future__ import annotations

import re

# What a document may declare as an operation's method.
DECLARABLE_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD")
# What the REST facade routes to an endpoint, which answers 405 itself for those a resource lacks.
ROUTED_METHODS = (*DECLARABLE_METHODS, "OPTIONS")
# RFC 9110 §9.2.1: they only read. A `read` token may use them; calls made with them are never audited.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# RFC 9110 §9.2.2: repeating them does no more than doing them once.
IDEMPOTENT_METHODS = SAFE_METHODS | {"PUT", "DELETE"}
# Methods whose requests carry a body.
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
# RFC 9110 §5.1: a field name is a token.
FIELD_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
# Response fields that describe one connection or the bytes on it, not the answer: the client consumes them
# (it decompresses the body, reads its length) and the server towards the caller writes its own.
CONNECTION_FIELDS = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "content-length",
        "content-encoding",
    }
)
# nginx's status for a request its client closed before the answer: logged, never sent (nobody is left to read it).
CLIENT_CLOSED_REQUEST = 499
