"""RFC 9457 problem details: every error the service answers.

Service functions raise :class:`Problem`; the app renders it as ``application/problem+json``.
The ``type`` is ``urn:cmltrack:problem:<code>``, where ``<code>`` is the input error code
(:data:`cmltrack.errors.ERROR_CODES`) for a refused input, or one of :data:`HTTP_PROBLEMS`.
"""

from __future__ import annotations

import re
from typing import Any

from cmltrack.errors import InputError

#: Problem codes of the HTTP layer (input errors use the input error codes).
HTTP_PROBLEMS: dict[str, str] = {
    "bad_request": "a malformed request (JSON, query or header)",
    "forbidden": "the token's role may not do this",
    "not_found": "no such patient, token or path",
    "method_not_allowed": "the path does not take this method",
    "id_mismatch": "the record's id differs from the path's",
    "precondition_failed": "If-Match names another version than the stored one",
    "too_large": "the body or an import line is over the limit",
    "unsupported_media_type": "a content type the operation does not take",
    "conflict": "the name is taken or cannot be changed",
    "precondition_required": "CDS Hooks prefetch is missing and no FHIR server was given",
    "unavailable": "a part the request needs is not available",
    "unauthorized": "no or bad credentials (sent as about:blank)",
    "internal": "an unexpected error (a bug: see the log)",
}

TITLES = {
    400: "Bad request", 401: "Unauthorized", 403: "Forbidden", 404: "Not found",
    405: "Method not allowed", 409: "Conflict", 412: "Precondition failed",
    413: "Content too large", 415: "Unsupported media type", 422: "Invalid record",
    503: "Service unavailable",
}
MEDIA_TYPE = "application/problem+json"


class Problem(Exception):
    """An error answer: status, code, one-line detail, and field errors for a refused record."""

    def __init__(self, status: int, code: str, detail: str | None = None, *,
                 errors: list[dict[str, Any]] | None = None, title: str | None = None) -> None:
        super().__init__(detail or code)
        self.status = status
        self.code = code
        self.detail = detail
        self.errors = errors
        self.title = title or TITLES.get(status, "Error")

    def body(self, instance: str | None = None) -> dict[str, Any]:
        """The problem document."""
        if self.status == 401:  # no reason is given to an unauthenticated caller
            return {"type": "about:blank", "status": 401, "title": "Unauthorized"}
        out: dict[str, Any] = {"type": f"urn:cmltrack:problem:{self.code}",
                               "title": self.title, "status": self.status}
        if self.detail is not None:
            out["detail"] = self.detail
        if instance is not None:
            out["instance"] = instance
        if self.errors is not None:
            out["errors"] = self.errors
        return out


_SEGMENT = re.compile(r"\.([A-Za-z0-9_]+)|\[(\d+)\]")


def json_pointer(path: str | None, field: str | None) -> str:
    """``$.observations[0].platelets`` (after any ``line n, `` prefix) as a JSON pointer,
    ``/observations/0/platelets``."""
    if not path:
        return "/" + field if field else ""
    path = path[path.index("$") + 1:] if "$" in path else ""
    parts = [m.group(1) or m.group(2) for m in _SEGMENT.finditer(path)]
    return "".join("/" + p.replace("~", "~0").replace("/", "~1") for p in parts)


def from_input_error(exc: InputError, status: int = 422) -> Problem:
    """A refused record (422) or malformed input as a problem naming where and what."""
    errors = [{"pointer": json_pointer(exc.path, exc.field), "field": exc.field,
               "message": exc.message}] if status == 422 else None
    return Problem(status, exc.code, str(exc), errors=errors,
                   title="Invalid record" if status == 422 else None)
