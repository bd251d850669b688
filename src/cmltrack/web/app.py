"""The web pages as a FastAPI router, installed into the service's app by ``install``.

The pages call the service's functions (:mod:`cmltrack.service.core`, the worklist, the token
checks), never its HTTP API, and the domain through them: a record is stored, validated and
assessed exactly as ``PUT /api/v1/patients/{id}`` and ``GET .../assessment`` do it.
"""

from __future__ import annotations

import datetime as dt
import gc
import hmac
import io
import mimetypes
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from threading import Lock, Thread
from typing import Any, TypeVar
from urllib.parse import quote, urlencode

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from cmltrack import DISCLAIMER, __version__
from cmltrack.domain.enums import TKIS, Guideline
from cmltrack.domain.records import REASONS_END
from cmltrack.service import core
from cmltrack.service.auth import Principal, authenticate
from cmltrack.service.problems import Problem
from cmltrack.service.worklist import worklist_item
from cmltrack.store import audit as audit_store
from cmltrack.store import patients as store
from cmltrack.store import tokens as token_store
from cmltrack.web import views
from cmltrack.web.session import (
    COOKIE,
    MAX_AGE_S,
    SECURITY_HEADERS,
    Session,
    csrf_ok,
    decode,
    encode,
)

T = TypeVar("T")
_PACKAGE = resources.files("cmltrack.web")
_TEMPLATES = Environment(
    loader=FileSystemLoader(str(_PACKAGE.joinpath("templates"))),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
#: Months at which the cohort page reads its curves and numbers at risk.
COHORT_TIMES = (0, 12, 24, 36, 48, 60, 72, 84, 96, 108, 120)
#: Worklist rows per page (``?per=all`` shows every row).
PAGE_SIZE = 200
#: Worklist columns: sort key and header.
COLUMNS = (
    ("urgency", "Urgency"), ("patient", "Patient"), ("status", "Status"),
    ("months", "Months on TKI"), ("drug", "TKI and dose"), ("pcr", "Last BCR::ABL1"),
    ("due", "Next test due"), ("action", "Top recommendation"),
)
_SORTS: dict[str, Callable[[views.WorklistRow], Any]] = {
    "urgency": views.WorklistRow.sort_key,
    "patient": lambda r: r.patient_id,
    "status": lambda r: (r.status, r.sort_key()),
    "months": lambda r: (r.months_on_therapy is None, r.months_on_therapy or 0.0),
    "drug": lambda r: (r.drug or "~", r.dose_mg_per_day or 0.0),
    "pcr": lambda r: r.last_pcr_date or "",
    "due": lambda r: (r.next_test is None, -r.days_overdue,
                      r.next_test.due if r.next_test else ""),
    "action": lambda r: r.top_action or "~",
}
_DONE = {
    "pcr": "The PCR result was added; the assessment below includes it.",
    "blood": "The blood count was added; the assessment below includes it.",
    "therapy": "The therapy change was recorded; the assessment below includes it.",
}


def _static_files() -> dict[str, tuple[bytes, str]]:
    """Every file under static/ (read once): path -> (bytes, content type)."""
    out: dict[str, tuple[bytes, str]] = {}

    def walk(node: Any, prefix: str) -> None:
        for child in node.iterdir():
            name = f"{prefix}{child.name}"
            if child.is_dir():
                walk(child, name + "/")
            else:
                kind = mimetypes.guess_type(child.name)[0] or "application/octet-stream"
                if kind.startswith("text/") or kind.endswith("javascript"):
                    kind += "; charset=utf-8"
                out[name] = (child.read_bytes(), kind)

    walk(_PACKAGE.joinpath("static"), "")
    return out


@dataclass
class WebState:
    """Per-process memos keyed by record digest (a write changes the digest, so nothing stale
    is ever served): worklist rows and cohort endpoint rows."""

    rows: dict[tuple[str, str, str], views.WorklistRow] = field(default_factory=dict)
    endpoints: dict[tuple[str, str, str], list[dict[str, Any]]] = field(default_factory=dict)
    row_html: dict[tuple[views.WorklistRow, str], Markup] = field(default_factory=dict)
    lock: Lock = field(default_factory=Lock)
    static: dict[str, tuple[bytes, str]] = field(default_factory=_static_files)
    session_key: bytes = b""
    pseudonym_key: bytes = b""  # the service's cohort pseudonym key (core.pseudonym)
    patient_base: str = "/patients/"  # the patient page's path without the id


def install(app: FastAPI, svc: core.Services) -> None:
    """Mount the pages on the service's app (called by ``create_app``)."""
    state = WebState()
    with svc.db.write() as s:
        state.session_key = bytes.fromhex(token_store.server_secret(s, "web_session"))
        state.pseudonym_key = bytes.fromhex(token_store.server_secret(s, "cohort_pseudonym"))
    app.state.web = state
    app.include_router(router)
    state.patient_base = str(app.url_path_for("web_patient", patient_id="x"))[:-1]
    Thread(target=_warm, args=(svc, state), name="cmltrack-web-warm", daemon=True).start()


router = APIRouter(include_in_schema=False)


# --------------------------------------------------------------------------- plumbing


def _svc(request: Request) -> core.Services:
    svc: core.Services = request.app.state.services
    return svc


def _state(request: Request) -> WebState:
    state: WebState = request.app.state.web
    return state


def _principal_by_hash(svc: core.Services, sha: str) -> Principal | None:
    """The principal whose token hashes to ``sha`` while that token is valid (configuration
    tokens first, then active database tokens, as the API checks a bearer token)."""
    for spec in svc.settings.tokens:
        if hmac.compare_digest(spec.sha256, sha):
            return Principal(spec.name, spec.role)
    with svc.db.read() as s:
        info = token_store.find_by_hash(s, sha)
    return None if info is None else Principal(info.name, info.role)


@dataclass(frozen=True, slots=True)
class Visit:
    """One request's session and (if signed in with a still valid token) its principal."""

    session: Session
    who: Principal | None
    fresh: bool  # the session is new: the response must set its cookie


def _visit(request: Request) -> Visit:
    key = _state(request).session_key
    session = decode(request.cookies.get(COOKIE), key)
    if session is None:
        return Visit(Session.anonymous(), None, True)
    who = None
    if session.token_sha256:
        who = _principal_by_hash(_svc(request), session.token_sha256)
        if who is None or who.role != session.role:  # revoked or changed: sign in again
            return Visit(Session.anonymous(), None, True)
    return Visit(session, who, False)


def _set_cookie(request: Request, response: Response, session: Session) -> None:
    response.set_cookie(
        COOKIE, encode(session, _state(request).session_key), max_age=MAX_AGE_S, path="/",
        secure=True, httponly=True, samesite="strict",
    )


def _url(request: Request) -> Callable[..., str]:
    def url(name: str, **params: Any) -> str:
        return _path(request, f"web_{name}", **params)
    return url


def _path(request: Request, name: str, **params: Any) -> str:
    """The route's path with each parameter percent-encoded: Starlette inserts them verbatim,
    and a patient id may hold "?", "#", "%" or spaces. "/" stays (the routes take ids as
    ``{patient_id:path}``, so an id with "/" opens too)."""
    return str(request.app.url_path_for(name, **{k: quote(str(v), safe="/")
                                                 for k, v in params.items()}))


def _render(request: Request, visit: Visit, template: str, code: int = 200,
            **context: Any) -> HTMLResponse:
    html = _TEMPLATES.get_template(template).render(
        user=visit.who, csrf_token=visit.session.csrf, disclaimer=DISCLAIMER,
        version=__version__, url=_url(request),
        static=lambda path: str(request.app.url_path_for("web_static", path=path)),
        **context,
    )
    response = HTMLResponse(html, status_code=code, headers=SECURITY_HEADERS)
    if visit.fresh:
        _set_cookie(request, response, visit.session)
    return response


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers=SECURITY_HEADERS)


def _error(request: Request, visit: Visit, status: int, title: str, detail: str
           ) -> HTMLResponse:
    return _render(request, visit, "error.html", status, title=title, detail=detail)


def _needs(request: Request, visit: Visit, *roles: str) -> Response | None:
    """A redirect to sign-in (GET, not signed in), or a 403 page for another role."""
    if visit.who is None:
        return _redirect(str(request.app.url_path_for("web_signin")))
    if visit.who.role not in roles:
        return _error(request, visit, 403, "Not allowed",
                      f"Your role ({visit.who.role}) may not open this page: "
                      + ("an analyst sees the de-identified cohort only."
                         if visit.who.role == "analyst" else
                         "an administrator manages tokens and reads the audit through the API."))
    return None


def _as_of(request: Request) -> dt.date:
    """The day the worklist and patient pages judge by: ``?as_of=`` or today (UTC), as the
    service's worklist."""
    raw = request.query_params.get("as_of")
    if raw:
        try:
            return dt.date.fromisoformat(raw)
        except ValueError:
            raise Problem(400, "bad_request", f"as_of={raw!r} is not a date YYYY-MM-DD"
                          ) from None
    return dt.datetime.now(dt.UTC).date()


def _request(guideline: str | None, as_of: dt.date | None) -> core.AssessmentRequest:
    return core.assessment_request({"guideline": guideline,
                                    "as_of": None if as_of is None else as_of.isoformat()})


# --------------------------------------------------------------------------- worklist data


def per_digest(svc: core.Services, state: WebState, memo: dict[tuple[str, str, str], T],
               key: str, build: Callable[[store.StoredRecord], T],
               pace: Callable[[], None] | None = None) -> list[T]:
    """One value per stored patient, kept in ``memo`` by (patient, record digest, ``key``):
    a write changes the digest, so a stale value is never served. The patients without a
    value are read by id in one query and built here (``pace``, if given, is called before
    each: the background warmer waits there while requests are being served)."""
    with svc.db.read() as s:
        digests = store.list_digests(s)
    out: list[T] = []
    missing: list[str] = []
    for pid, digest in digests:
        found = memo.get((pid, digest, key))
        if found is None:
            missing.append(pid)
        else:
            out.append(found)
    for start in range(0, len(missing), 100):  # read in slices: memory stays small
        with svc.db.read() as s:
            stored = store.get_records(s, missing[start:start + 100])
        for r in stored:
            if pace is not None:
                pace()
            value = build(r)
            with state.lock:
                memo[(r.id, r.digest, key)] = value
            out.append(value)
    return out


def worklist_rows(svc: core.Services, state: WebState, req: core.AssessmentRequest,
                  as_of: dt.date, pace: Callable[[], None] | None = None
                  ) -> list[views.WorklistRow]:
    """Every stored patient's row, urgent first.

    A patient without a row is validated and assessed here, with the functions
    ``GET /api/v1/patients/{id}/assessment`` uses (``core.validate``, ``assess`` with the
    request's options, the contract's ``to_dict``) and read by the service's
    ``worklist_item``; the assessments are not written to the database's cache one by one
    (a commit per patient made the first load of a 1,000-patient clinic five times slower).
    """
    from cmltrack.domain.assess import assess

    def build(r: store.StoredRecord) -> views.WorklistRow:
        record = core.validate(r.data)
        a = assess(record, options=req.options, as_of=as_of).to_dict()
        return views.worklist_row(r.data, a, worklist_item(r.data, a, as_of))

    return views.sort_worklist(per_digest(svc, state, state.rows, req.key, build, pace))


#: The background warmer looks for patients without a worklist row this often (seconds).
WARM_EVERY_S = 30.0
#: ... and builds tomorrow's rows (UTC) in the last hour of the day.
WARM_AHEAD_S = 3600


def _warm(svc: core.Services, state: WebState) -> None:
    """Keep today's worklist and the cohort's endpoint table built, in the background, so that
    no clinician waits for them: at start, after writes (every ``WARM_EVERY_S``), and for the
    next day before it begins (rows are judged as of a day, so each day needs new ones). It
    works only while no request is being served (``svc.activity.wait_idle``)."""
    while True:
        try:
            now = dt.datetime.now(dt.UTC)
            days = [now.date()]
            midnight = dt.datetime.combine(now.date() + dt.timedelta(days=1), dt.time(),
                                           dt.UTC)
            if (midnight - now).total_seconds() <= WARM_AHEAD_S:
                days.append(now.date() + dt.timedelta(days=1))
            for day in days:
                warm_day(svc, state, day, svc.activity.wait_idle)
            _cohort_rows(svc, state, _request(None, None), svc.activity.wait_idle)
            _prune(state, now.date())
            # What the pass built lives until the records change: spare the collector from
            # scanning it again and again (no cycles in it; freed by reference counting).
            gc.freeze()
        except Exception:  # a warm-up only: the page builds what is missing when it is asked
            pass
        time.sleep(WARM_EVERY_S)


def warm_day(svc: core.Services, state: WebState, day: dt.date,
             pace: Callable[[], None] | None = None) -> None:
    """Build and render the worklist rows of ``day`` that are missing (the warmer's work for
    one day; ``pace`` is called before each patient and each row)."""
    render = _row_renderer(state, state.patient_base)
    for row in worklist_rows(svc, state, _request(None, day), day, pace):
        if (row, state.patient_base) not in state.row_html:
            if pace is not None:
                pace()
            render(row)  # the page joins rendered rows


def _prune(state: WebState, today: dt.date) -> None:
    """Forget rows judged as of an earlier day (the options key ends with its ``as_of``)."""
    first = today.isoformat()
    with state.lock:
        for k in [k for k in state.rows if "" < k[2].rsplit("|", 1)[-1] < first]:
            del state.rows[k]


#: Rendered worklist rows kept at most (a row's HTML depends only on the row's value).
ROW_HTML_MAX = 50_000


def _row_renderer(state: WebState, patient_base: str) -> Callable[[views.WorklistRow], Markup]:
    """A row's HTML, rendered once per row value and kept: a 1,000-row page joins kept rows."""
    macro = _TEMPLATES.get_template("_worklist_row.html").module.row  # type: ignore[attr-defined]

    def render(r: views.WorklistRow) -> Markup:
        key = (r, patient_base)
        html = state.row_html.get(key)
        if html is None:
            if len(state.row_html) >= ROW_HTML_MAX:
                state.row_html.clear()
            html = state.row_html[key] = Markup(macro(r, patient_base))
        return html

    return render


# --------------------------------------------------------------------------- pages


@router.get("/static/{path:path}", name="web_static")
def static(path: str, request: Request) -> Response:
    found = _state(request).static.get(path)
    if found is None:
        return Response("not found", status_code=404, media_type="text/plain")
    body, kind = found
    return Response(body, media_type=kind, headers={
        "Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"})


@router.get("/", name="web_home")
def home(request: Request) -> Response:
    visit = _visit(request)
    if visit.who is not None and visit.who.role == "analyst":
        return _redirect(str(request.app.url_path_for("web_cohort")))
    return worklist(request)


@router.get("/worklist", name="web_worklist")
def worklist(request: Request) -> Response:
    visit = _visit(request)
    refused = _needs(request, visit, "clinician")
    if refused is not None:
        return refused
    svc, state = _svc(request), _state(request)
    try:
        as_of = _as_of(request)
        req = _request(request.query_params.get("guideline"), as_of)
    except Problem as p:
        return _error(request, visit, p.status, "Bad request", p.detail or "")
    all_rows = worklist_rows(svc, state, req, as_of)
    q = request.query_params.get("q", "").strip()
    status = request.query_params.get("status", "")
    urgency = request.query_params.get("urgency", "")
    rows = [
        r for r in all_rows
        if (not q or q.lower() in r.patient_id.lower())
        and (not status or r.status == status)
        and (not urgency or str(r.urgency) == urgency)
    ]
    sort = request.query_params.get("sort", "urgency")
    if sort not in _SORTS:
        sort = "urgency"
    direction = "desc" if request.query_params.get("dir") == "desc" else "asc"
    rows.sort(key=_SORTS[sort], reverse=direction == "desc")
    base = {k: v for k, v in (("q", q), ("status", status), ("urgency", urgency)) if v}
    if request.query_params.get("as_of"):
        base["as_of"] = as_of.isoformat()
    links = {}
    for key, _ in COLUMNS:
        flip = "desc" if key == sort and direction == "asc" else "asc"
        links[key] = "?" + urlencode({**base, "sort": key, "dir": flip})
    # Pages of PAGE_SIZE rows (the most urgent on the first), or every row with ?per=all.
    per_raw = request.query_params.get("per", "")
    if per_raw == "all":
        per = max(len(rows), 1)
    else:
        per = int(per_raw) if per_raw.isdigit() and int(per_raw) > 0 else PAGE_SIZE
    pages = max(1, -(-len(rows) // per))
    page_raw = request.query_params.get("page", "1")
    page = min(max(int(page_raw) if page_raw.isdigit() else 1, 1), pages)
    matching = len(rows)
    rows = rows[(page - 1) * per: page * per]
    keep = {**base, "sort": sort, "dir": direction}
    nav = {
        "first": (page - 1) * per + 1 if rows else 0,
        "last": (page - 1) * per + len(rows),
        "prev": "?" + urlencode({**keep, "page": page - 1, "per": per}) if page > 1 else None,
        "next": ("?" + urlencode({**keep, "page": page + 1, "per": per})
                 if page < pages else None),
        "all": "?" + urlencode({**keep, "per": "all"}) if pages > 1 else None,
    }
    return _render(
        request, visit, "worklist.html", active="worklist", rows=rows, total=len(all_rows),
        shown=matching, nav=nav, as_of=as_of.isoformat(),
        guideline=str(req.options.guideline),
        q=q, status=status, urgency=urgency, sort=sort, dir=direction, columns=COLUMNS,
        sort_links=links, urgency_labels=views.URGENCY_LABEL,
        row_html=_row_renderer(state, state.patient_base),
        statuses=sorted({r.status for r in all_rows} | {"optimal", "warning", "failure",
                                                         "not_evaluable"}),
        schedule_missing=any(r.due is None for r in all_rows),
    )


def _patient_page(request: Request, visit: Visit, patient_id: str, *, status: int = 200,
                  message: str | None = None, form_error: str | None = None) -> Response:
    from cmltrack.domain.assess import assess

    svc = _svc(request)
    try:
        as_of = _as_of(request)
        req = _request(request.query_params.get("guideline"), as_of)
        stored = core.get_patient(svc, patient_id)
    except Problem as p:
        title = "No such patient" if p.status == 404 else "Bad request"
        return _error(request, visit, p.status, title, p.detail or "")
    record = core.validate(stored.data)
    a = assess(record, options=req.options, as_of=as_of)
    a_dict = a.to_dict()
    row = views.worklist_row(stored.data, a_dict, worklist_item(stored.data, a_dict, as_of))
    page = views.patient_page(record, a, row)
    with svc.db.read() as s:
        entries, _ = audit_store.list_entries(s, patient_id=patient_id, limit=1000)
    return _render(
        request, visit, "patient.html", status, active="worklist", page=page,
        audit=list(reversed(entries))[:200], message=message, form_error=form_error,
        count_series=views.COUNT_SERIES, drugs=sorted(TKIS | {"hydroxyurea"}),
        reasons_end=sorted(REASONS_END, key=lambda r: (r != "dose_change", r)),
    )


@router.get("/patients/{patient_id:path}", name="web_patient")
def patient(patient_id: str, request: Request) -> Response:
    visit = _visit(request)
    refused = _needs(request, visit, "clinician")
    if refused is not None:
        return refused
    done = request.query_params.get("done")
    return _patient_page(request, visit, patient_id, message=_DONE.get(done or ""))


# --------------------------------------------------------------------------- forms


def _number(form: Mapping[str, Any], name: str, label: str) -> float | None:
    raw = str(form.get(name) or "").strip().replace(",", "")
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise Problem(422, "bad_type", f"{label}: {raw!r} is not a number") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise Problem(422, "bad_type", f"{label}: {raw!r} is not a finite number")
    return value


def _date(form: Mapping[str, Any], name: str, label: str) -> str:
    raw = str(form.get(name) or "").strip()
    try:
        return dt.date.fromisoformat(raw).isoformat()
    except ValueError:
        raise Problem(422, "bad_date", f"{label}: {raw!r} is not a date YYYY-MM-DD") from None


async def _form_post(request: Request) -> tuple[Visit, dict[str, Any] | None, Response | None]:
    """The visit and form of a POST, or a refusal: not signed in, wrong role, bad CSRF."""
    visit = _visit(request)
    form = dict(await request.form())
    if not csrf_ok(visit.session, str(form.get("csrf_token") or "")):
        return visit, None, _error(request, visit, 403, "Form expired",
                                   "The form's security token did not match your session "
                                   "(it may have expired). Reload the page and try again.")
    refused = _needs(request, visit, "clinician")
    if refused is not None:
        return visit, None, refused
    return visit, form, None


def _after_change(request: Request, visit: Visit, patient_id: str, done: str,
                  change: Callable[[], Any]) -> Response:
    try:
        change()
    except Problem as p:
        if p.status == 404:
            return _error(request, visit, 404, "No such patient", p.detail or "")
        return _patient_page(request, visit, patient_id, status=p.status,
                             form_error=f"Not saved: {p.detail or p.title}")
    url = _path(request, "web_patient", patient_id=patient_id)
    return _redirect(f"{url}?done={done}")


@router.post("/patients/{patient_id:path}/pcr", name="web_add_pcr")
async def add_pcr(patient_id: str, request: Request) -> Response:
    visit, form, refused = await _form_post(request)
    if refused is not None or form is None or visit.who is None:
        return refused or _redirect("/")
    who = visit.who

    def change() -> None:
        undetected = bool(form.get("undetected"))
        value = _number(form, "bcr_abl1_is", "BCR::ABL1 % IS")
        obs: dict[str, Any] = {"date": _date(form, "date", "PCR date"), "kind": "pcr"}
        if undetected:
            if value not in (None, 0.0):
                raise Problem(422, "inconsistent",
                              "BCR::ABL1 % IS: give no value for an undetected result")
            obs["detected"] = False
        elif value is None:
            raise Problem(422, "missing_field",
                          "BCR::ABL1 % IS: give the value, or tick 'undetected'")
        else:
            obs["bcr_abl1_is"] = value
        gene = str(form.get("control_gene") or "")
        copies = _number(form, "control_copies", "control copies")
        if gene and copies is not None:
            obs["control_gene"] = gene
            obs["control_copies"] = copies
        core.add_observation(_svc(request), who, patient_id, obs, request_id=uuid.uuid4().hex)

    return _after_change(request, visit, patient_id, "pcr", change)


@router.post("/patients/{patient_id:path}/blood", name="web_add_blood")
async def add_blood(patient_id: str, request: Request) -> Response:
    visit, form, refused = await _form_post(request)
    if refused is not None or form is None or visit.who is None:
        return refused or _redirect("/")
    who = visit.who

    def change() -> None:
        obs: dict[str, Any] = {"date": _date(form, "date", "blood count date"), "kind": "blood"}
        for name, label, _unit in views.COUNT_SERIES:
            value = _number(form, name, label)
            if value is not None:
                obs[name] = value
        if len(obs) == 2:
            raise Problem(422, "missing_field", "blood count: give at least one value")
        core.add_observation(_svc(request), who, patient_id, obs, request_id=uuid.uuid4().hex)

    return _after_change(request, visit, patient_id, "blood", change)


@router.post("/patients/{patient_id:path}/therapy", name="web_add_therapy")
async def add_therapy(patient_id: str, request: Request) -> Response:
    """A change of drug or dose (the open TKI line ends that day and a new one starts), or a
    hold (the open line ends; no new line): the record is replaced with If-Match, so a change
    made meanwhile by someone else is refused (412), not overwritten."""
    visit, form, refused = await _form_post(request)
    if refused is not None or form is None or visit.who is None:
        return refused or _redirect("/")
    who = visit.who
    svc = _svc(request)

    def change() -> None:
        start = _date(form, "start", "therapy change date")
        hold = bool(form.get("hold"))
        reason = str(form.get("reason_end") or "dose_change")
        stored = core.get_patient(svc, patient_id)
        data = dict(stored.data)
        therapy = [dict(t) for t in data.get("therapy") or []]
        open_lines = [t for t in therapy if t.get("end") is None
                      and str(t.get("drug", "")).strip().lower() in TKIS]
        if hold and not open_lines:
            raise Problem(422, "inconsistent", "hold: no TKI line is running to interrupt")
        for t in open_lines:
            t["end"] = start
            t["reason_end"] = reason
        if not hold:
            drug = str(form.get("drug") or "").strip().lower()
            if not drug:
                raise Problem(422, "missing_field", "drug: name the drug")
            line: dict[str, Any] = {"drug": drug, "start": start}
            dose = _number(form, "dose_mg_per_day", "dose mg/day")
            if dose is not None:
                line["dose_mg_per_day"] = dose
            therapy.append(line)
        data["therapy"] = therapy
        core.put_patient(svc, who, patient_id, data, if_match=f'"{stored.digest}"',
                         request_id=uuid.uuid4().hex)

    return _after_change(request, visit, patient_id, "therapy", change)


# --------------------------------------------------------------------------- sign-in


def _sign_in(request: Request, visit: Visit, token: str) -> Response:
    svc = _svc(request)
    who = authenticate(svc.db, svc.settings, token)
    if who is None or who.role not in ("clinician", "analyst"):
        error = ("This token is not valid (unknown or revoked)." if who is None else
                 "Administrators use the API; the pages are for clinicians and analysts.")
        return _render(request, visit, "signin.html", 401, error=error)
    from cmltrack.service.auth import token_sha256

    target = "web_cohort" if who.role == "analyst" else "web_worklist"
    response = _redirect(str(request.app.url_path_for(target)))
    _set_cookie(request, response, Session.signed_in(who.name, who.role, token_sha256(token)))
    return response


@router.get("/sign-in", name="web_signin")
def signin_form(request: Request) -> Response:
    """The sign-in form; ``?token=`` signs in at once (the demo's printed links)."""
    visit = _visit(request)
    token = request.query_params.get("token")
    if token:
        return _sign_in(request, visit, token)
    return _render(request, visit, "signin.html")


@router.post("/sign-in")
async def signin(request: Request) -> Response:
    visit = _visit(request)
    form = await request.form()
    if not csrf_ok(visit.session, str(form.get("csrf_token") or "")):
        return _render(request, Visit(visit.session, None, visit.fresh), "signin.html", 403,
                       error="The form expired; please sign in again.")
    return _sign_in(request, visit, str(form.get("token") or ""))


@router.post("/sign-out", name="web_signout")
async def signout(request: Request) -> Response:
    visit = _visit(request)
    form = await request.form()
    response = _redirect(str(request.app.url_path_for("web_signin")))
    if csrf_ok(visit.session, str(form.get("csrf_token") or "")):
        response.delete_cookie(COOKIE, path="/", secure=True, httponly=True, samesite="strict")
    return response


# --------------------------------------------------------------------------- cohort


def _cohort_table(svc: core.Services, state: WebState, req: core.AssessmentRequest) -> Any:
    """The ADTTE endpoint table of every stored patient, ids replaced by pseudonyms.

    Each patient is assessed as ``cmltrack endpoints`` assesses it (as of the record's latest
    date: the last follow-up censors), then :func:`cmltrack.domain.endpoints.derive_endpoints`.
    """
    import pandas as pd

    from cmltrack.domain.endpoints import COLUMNS as ENDPOINT_COLUMNS

    return pd.DataFrame([row for rows in _cohort_rows(svc, state, req) for row in rows],
                        columns=list(ENDPOINT_COLUMNS))


def _cohort_rows(svc: core.Services, state: WebState, req: core.AssessmentRequest,
                 pace: Callable[[], None] | None = None) -> list[list[dict[str, Any]]]:
    """Each stored patient's endpoint rows (ADTTE), kept per record digest and guideline."""
    from cmltrack.domain.assess import assess
    from cmltrack.domain.endpoints import derive_endpoints

    key = state.pseudonym_key

    def build(r: store.StoredRecord) -> list[dict[str, Any]]:
        record = core.validate(r.data)
        a = assess(record, options=req.options)
        return [e.to_dict() | {"USUBJID": core.pseudonym(key, r.id)}
                for e in derive_endpoints(record, a)]

    return per_digest(svc, state, state.endpoints, str(req.options.guideline), build, pace)


@router.get("/cohort", name="web_cohort")
def cohort(request: Request) -> Response:
    visit = _visit(request)
    refused = _needs(request, visit, "analyst", "clinician")
    if refused is not None:
        return refused
    svc, state = _svc(request), _state(request)
    as_of = dt.datetime.now(dt.UTC).date()
    guideline = request.query_params.get("guideline") or str(Guideline.ELN2020)
    try:
        req_today = _request(guideline, as_of)
        req = _request(guideline, None)
    except Problem as p:
        return _error(request, visit, p.status, "Bad request", p.detail or "")
    rows = worklist_rows(svc, state, req_today, as_of)
    table = _cohort_table(svc, state, req)
    # Read the curves up to the longest follow-up (no reading where nobody is left).
    longest = float(table["AVAL"].max()) if len(table) else 0.0
    times = [t for t in COHORT_TIMES if t <= longest] or [0]
    curves = views.survival_curves(table, times) if len(table) else {
        "at": times, "km": [], "cif": []}
    return _render(
        request, visit, "cohort.html", active="cohort", n=len(rows),
        counts=views.status_counts(r.status for r in rows), curves=curves,
        guideline=str(req.options.guideline),
    )


@router.get("/cohort/endpoints.csv", name="web_cohort_csv")
def cohort_csv(request: Request) -> Response:
    visit = _visit(request)
    refused = _needs(request, visit, "analyst", "clinician")
    if refused is not None:
        return refused
    req = _request(request.query_params.get("guideline"), None)
    table = _cohort_table(_svc(request), _state(request), req)
    buf = io.StringIO()
    table.to_csv(buf, index=False)
    return Response(buf.getvalue(), media_type="text/csv; charset=utf-8", headers={
        **SECURITY_HEADERS,
        "Content-Disposition": 'attachment; filename="cmltrack-endpoints.csv"'})
