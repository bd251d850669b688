"""A fast path for the hottest read: a cached assessment.

``GET /api/v1/patients/{id}/assessment`` by a clinician holding a token from the configuration,
with known query parameters each given once, whose assessment is in the cache for the record's
current digest, is answered here: one indexed query, no FastAPI routing, dependency solving or
parameter validation (about half of a cache hit's CPU). Everything else (a database token,
another role, a bad or repeated parameter, a cache miss, an unknown patient, any error) goes on
to the route in :mod:`cmltrack.service.api`, which is the one definition in OpenAPI and answers
as before. The body and headers are the route's: the cached JSON, its ``ETag``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from cmltrack.service import core
from cmltrack.service.auth import configured_principal

PREFIX = "/api/v1/patients/"
SUFFIX = "/assessment"
_PARAMS = frozenset(core.ASSESSMENT_PARAMS)


class AssessmentFastPath:
    """Pure ASGI middleware (inside the request log, so ids, logging and the NUL check hold)."""

    def __init__(self, app: Any, services: core.Services) -> None:
        self.app = app
        self.svc = services

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            path: str = scope["path"]
            if path.startswith(PREFIX) and path.endswith(SUFFIX) and \
                    len(path) > len(PREFIX) + len(SUFFIX):
                hit = self._hit(scope, path[len(PREFIX):-len(SUFFIX)])
                if hit is not None:
                    body, digest = hit
                    await send({"type": "http.response.start", "status": 200, "headers": [
                        (b"content-length", str(len(body)).encode()),
                        (b"content-type", b"application/json"),
                        (b"etag", f'"{digest}"'.encode())]})
                    await send({"type": "http.response.body", "body": body})
                    return
        await self.app(scope, receive, send)

    def _hit(self, scope: Any, patient_id: str) -> tuple[bytes, str] | None:
        try:
            token = None
            for name, value in scope["headers"]:
                if name == b"authorization":
                    scheme, _, rest = value.decode("latin-1").partition(" ")
                    token = rest.strip() if scheme.lower() == "bearer" else None
            who = configured_principal(self.svc.settings, token)
            if who is None or who.role != "clinician":
                return None
            pairs = parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
            names = [k for k, _ in pairs]
            if len(set(names)) != len(names) or not _PARAMS.issuperset(names):
                return None
            req = core.assessment_request(dict(pairs))
            digest, body = core.lookup_assessment(self.svc, patient_id, req)
            if body is None:
                return None
            scope.setdefault("state", {})["actor"] = who.name
            return body.encode(), digest
        except Exception:  # the route answers it, with its problem responses
            return None
