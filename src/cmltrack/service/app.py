"""The FastAPI application: ``create_app(settings)`` opens the database, applies pending
migrations and wires the routers (REST API, CDS Hooks, the web pages when installed)."""

from __future__ import annotations

import importlib
import logging
import time
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from cmltrack import DISCLAIMER, __version__
from cmltrack.service import logs
from cmltrack.service.core import Activity, Services
from cmltrack.service.problems import MEDIA_TYPE, Problem
from cmltrack.service.settings import Settings
from cmltrack.store import db as dbmod


def open_services(settings: Settings) -> Services:
    """Connect to the configured database and bring its schema up to date."""
    url = dbmod.resolve_url(settings.db, settings.data_dir)
    database = dbmod.connect(url)
    try:
        revision = dbmod.upgrade(database)
    except Exception:
        database.dispose()
        raise
    return Services(settings=settings, db=database, revision=revision)


def problem_response(p: Problem, request: Request | None = None) -> Response:
    instance = request.url.path if request is not None else None
    import orjson

    headers = {"WWW-Authenticate": "Bearer"} if p.status == 401 else None
    return Response(orjson.dumps(p.body(instance)), status_code=p.status,
                    media_type=MEDIA_TYPE, headers=headers)


_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "too_large",
               415: "unsupported_media_type", 400: "bad_request"}


def create_app(settings: Settings, services: Services | None = None) -> FastAPI:
    """The service's ASGI app (migrations are applied here, before it listens)."""
    svc = services or open_services(settings)
    app = FastAPI(
        title="cmltrack",
        version=__version__,
        description="Decision support for CML on TKIs: patient records, assessments, worklist, "
        "cohort and CDS Hooks 2.0. " + DISCLAIMER,
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.services = svc

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> Response:
        return problem_response(exc, request)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        code = _HTTP_CODES.get(exc.status_code, "bad_request")
        detail = exc.detail if isinstance(exc.detail, str) else None
        if exc.status_code == 404:
            detail = f"no such path {request.url.path}"
        elif exc.status_code == 405:
            detail = f"{request.method} is not allowed on {request.url.path}"
        return problem_response(Problem(exc.status_code, code, detail), request)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        err = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in err.get("loc", ()))
        return problem_response(
            Problem(400, "bad_request", f"{where}: {err.get('msg', 'invalid')}"), request)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        logs.event("unexpected error", logging.ERROR, path=request.url.path,
                   error=type(exc).__name__)
        return problem_response(Problem(500, "internal", "an unexpected error; see the log",
                                        title="Internal server error"), request)

    from cmltrack.service.fastpath import AssessmentFastPath

    app.add_middleware(AssessmentFastPath, services=svc)  # inner: runs inside the request log
    app.add_middleware(RequestLog, activity=svc.activity)

    @app.get("/healthz", tags=["health"])
    def healthz() -> Response:
        """Liveness and database check (no authentication)."""
        ok = dbmod.ping(svc.db)
        body: dict[str, Any] = {"status": "ok" if ok else "unavailable",
                                "db": "ok" if ok else "unreachable", "schema": svc.revision}
        return JSONResponse(body, status_code=200 if ok else 503)

    from cmltrack.service import admin, api, cds

    app.include_router(api.router, tags=["clinical"])
    app.include_router(admin.router, tags=["admin"])
    app.include_router(cds.router, tags=["cds-hooks"])
    _install_web(app, svc)
    _document_problems(app)
    return app


_PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string"}, "title": {"type": "string"},
        "status": {"type": "integer"}, "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "object", "properties": {
            "pointer": {"type": "string"}, "field": {"type": ["string", "null"]},
            "message": {"type": "string"}}}},
    },
}


def _document_problems(app: FastAPI) -> None:
    """Every operation's errors are RFC 9457 problems: say so in /openapi.json."""
    from fastapi.openapi.utils import get_openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        doc = get_openapi(title=app.title, version=app.version, description=app.description,
                          routes=app.routes)
        doc.setdefault("components", {}).setdefault("schemas", {})["Problem"] = _PROBLEM_SCHEMA
        problem = {"description": "An RFC 9457 problem", "content": {
            MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}}
        for item in doc.get("paths", {}).values():
            for op in item.values():
                responses = op.setdefault("responses", {})
                responses.pop("422", None)
                responses["4XX"] = problem
                responses["503"] = problem
        app.openapi_schema = doc
        return doc

    app.openapi = openapi  # type: ignore[method-assign]


class RequestLog:
    """Pure ASGI middleware: a request id for each request (``X-Request-ID``, echoed) and one
    log line per request (method, path, status, actor, time; never a header or a body)."""

    def __init__(self, app: Any, activity: Activity | None = None) -> None:
        self.app = app
        self.activity = activity or Activity()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = ""
        for k, v in scope.get("headers", ()):
            if k == b"x-request-id":
                rid = v.decode("latin-1")
        if not (0 < len(rid) <= 100 and rid.replace("-", "").isalnum()):
            rid = uuid.uuid4().hex
        state = scope.setdefault("state", {})
        state["request_id"] = rid
        start = time.perf_counter()
        status = 500
        self.activity.begin()

        async def send_with_id(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()),
                                      (b"x-request-id", rid.encode())]
            await send(message)

        try:
            if _has_nul(scope):
                # PostgreSQL text cannot hold NUL: refuse it here, for every route, before any
                # query (it was a 500 on PostgreSQL and silently accepted on SQLite).
                p = Problem(400, "bad_request", "the path or query string contains a NUL "
                            "character (%00), which no identifier or filter may hold")
                resp = problem_response(p)
                await resp(scope, receive, send_with_id)
                return
            await self.app(scope, receive, send_with_id)
        finally:
            self.activity.end()
            logs.event("request", method=scope.get("method"), path=scope.get("path"),
                       status=status, request_id=rid, actor=state.get("actor"),
                       ms=round((time.perf_counter() - start) * 1000, 1))


def _has_nul(scope: Any) -> bool:
    path = scope.get("path", "")
    query = scope.get("query_string", b"")
    return "\x00" in path or b"%00" in query or b"\x00" in query


def _install_web(app: FastAPI, svc: Services) -> None:
    """Mount the web pages when the web package is present: ``cmltrack.web.install(app, svc)``."""
    try:
        web = importlib.import_module("cmltrack.web")
    except ImportError:
        return
    install = getattr(web, "install", None)
    if install is not None:
        install(app, svc)
