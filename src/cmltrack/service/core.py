"""The service's work as plain functions: the REST routers, the CDS Hooks and the web pages
call these (the web layer calls functions, not HTTP). Each raises
:class:`~cmltrack.service.problems.Problem` for what the caller must be told.

Assessments come from :func:`cmltrack.domain.assess.assess`, the function ``cmltrack assess``
calls, serialised the way ``cmltrack assess --json`` prints them, and are cached by record digest
and options (a write removes the patient's cached assessments in its transaction).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import importlib
import importlib.resources
import json
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

from cmltrack.domain.enums import CytogeneticScheme, Guideline, PhaseCriteria
from cmltrack.domain.options import AssessOptions
from cmltrack.domain.records import PatientRecord
from cmltrack.errors import InputError
from cmltrack.io.jsonio import DuplicateKey, refuse_duplicate_keys
from cmltrack.io.limits import MAX_LINE_MB
from cmltrack.io.validate import validate_record
from cmltrack.service.auth import Principal
from cmltrack.service.problems import Problem, from_input_error
from cmltrack.service.settings import Settings
from cmltrack.store import patients as store
from cmltrack.store.canonical import digest as record_digest
from cmltrack.store.db import Database
from cmltrack.store.tokens import server_secret

#: A request body or one import line: the readers' line bound (io.limits), in bytes.
MAX_RECORD_BYTES = int(MAX_LINE_MB * 1024 * 1024)
ASSESSMENT_PARAMS = ("guideline", "protocol", "as_of", "cytogenetic_scheme", "phase_criteria",
                     "aml_criteria")
#: The protocols ``cmltrack assess --protocol`` takes, by name.
PROTOCOLS: dict[str, Literal["kantarjian2003", "clag-im", "actim"]] = {
    "kantarjian2003": "kantarjian2003", "clag-im": "clag-im", "actim": "actim"}


@dataclass
class Activity:
    """Requests being served (counted by the request middleware on the event loop), so that
    background work can wait for a quiet moment instead of competing with them."""

    inflight: int = 0
    last: float = 0.0

    def begin(self) -> None:
        self.inflight += 1

    def end(self) -> None:
        self.inflight -= 1
        self.last = time.monotonic()

    def wait_idle(self, quiet_s: float = 0.05) -> None:
        """Return once no request is in flight and none ended in the last ``quiet_s``."""
        while self.inflight > 0 or time.monotonic() - self.last < quiet_s:
            time.sleep(quiet_s)


@dataclass
class Services:
    """What the service runs on: its settings, database and schema revision."""

    settings: Settings
    db: Database
    revision: str
    #: Assessments computed in this process, keyed by (digest, options key), served until the
    #: database cache (written behind by ``cache_writer``) has them.
    memo: dict[tuple[str, str], str] = field(default_factory=dict)
    cache_writer: CacheWriter = field(init=False)
    activity: Activity = field(default_factory=Activity)

    def __post_init__(self) -> None:
        self.cache_writer = CacheWriter(self.db)


# --- records ---------------------------------------------------------------------------------


def parse_json(body: bytes, where: str = "request body") -> Any:
    """A JSON value from bytes, or 400 naming the position."""
    try:
        value = orjson.loads(body)
        refuse_duplicate_keys(body, value)
    except orjson.JSONDecodeError as exc:
        raise Problem(400, "bad_format", f"{where}: not valid JSON: {exc}") from None
    except DuplicateKey as exc:
        raise Problem(400, "bad_format", f"{where}: ambiguous JSON: {exc}") from None
    return value


def is_bundle(data: Any) -> bool:
    return isinstance(data, dict) and data.get("resourceType") == "Bundle"


def bundle_to_record_data(bundle: dict[str, Any], *, today: dt.date) -> dict[str, Any]:
    """A one-patient FHIR Bundle in its record form (per fhir.md), via cmltrack.io.fhir."""
    try:
        fhir = importlib.import_module("cmltrack.io.fhir")  # landed by the FHIR issue
    except ImportError:
        raise Problem(415, "unsupported_media_type",
                      "FHIR Bundles are not readable by this build (cmltrack.io.fhir missing)"
                      ) from None
    from cmltrack.io import record_to_dict

    try:
        records, _warnings = fhir.records_from_bundle(bundle, source="request body", today=today)
    except InputError as exc:
        raise from_input_error(exc) from None
    if len(records) != 1:
        raise Problem(422, "inconsistent",
                      f"the Bundle holds {len(records)} patients; PUT takes exactly one",
                      errors=[{"pointer": "/entry", "field": None,
                               "message": "exactly one Patient expected"}])
    data: dict[str, Any] = record_to_dict(records[0])
    return data


MAX_ID = 200  # characters of a patient id (the store's column)


def check_id(patient_id: str, where: str = "the path's patient id") -> None:
    if not patient_id or len(patient_id) > MAX_ID:
        raise Problem(422, "impossible_value",
                      f"{where} must have 1-{MAX_ID} characters (has {len(patient_id)})",
                      errors=[{"pointer": "/id", "field": "id",
                               "message": f"1-{MAX_ID} characters"}])


def validate(data: Any, *, prefix: str = "$", today: dt.date | None = None) -> PatientRecord:
    """The record, validated exactly as ``cmltrack assess`` validates it, or 422."""
    try:
        return validate_record(data, today=today or dt.date.today(), file="", prefix=prefix)
    except InputError as exc:
        raise from_input_error(exc) from None


def put_patient(svc: Services, who: Principal, patient_id: str, data: Any, *,
                if_match: str | None = None, request_id: str | None = None
                ) -> tuple[str, str]:
    """Store or replace a record: (``created``/``replaced``/``unchanged``, digest)."""
    today = dt.date.today()
    check_id(patient_id)
    if is_bundle(data):
        data = bundle_to_record_data(data, today=today)
    if not isinstance(data, dict):
        raise Problem(422, "bad_format", f"$: expected a patient object, got {type(data).__name__}",
                      errors=[{"pointer": "", "field": None, "message": "expected an object"}])
    if "id" in data and data["id"] != patient_id:
        raise Problem(409, "id_mismatch",
                      f"$.id: the record's id {data['id']!r} differs from the path's "
                      f"{patient_id!r}")
    validate(data, today=today)
    if data.get("id") != patient_id:  # the id is required; validation named it
        raise Problem(409, "id_mismatch", f"$.id: missing or not {patient_id!r}")
    d = record_digest(data)
    try:
        with svc.db.write() as session:
            status = store.put_record(session, patient_id, data, d, actor=who.name,
                                      request_id=request_id, if_match=if_match)
    except store.PreconditionFailed:
        raise Problem(412, "precondition_failed",
                      f"If-Match {if_match} does not name the stored version") from None
    return status, d


def get_patient(svc: Services, patient_id: str) -> store.StoredRecord:
    with svc.db.read() as session:
        stored = store.get_record(session, patient_id)
    if stored is None:
        raise Problem(404, "not_found", f"no patient {patient_id!r}")
    return stored


def delete_patient(svc: Services, who: Principal, patient_id: str, *,
                   if_match: str | None = None, request_id: str | None = None) -> None:
    try:
        with svc.db.write() as session:
            store.delete_record(session, patient_id, actor=who.name, request_id=request_id,
                                if_match=if_match)
    except store.NotFound:
        raise Problem(404, "not_found", f"no patient {patient_id!r}") from None
    except store.PreconditionFailed:
        raise Problem(412, "precondition_failed",
                      f"If-Match {if_match} does not name the stored version") from None


def add_observation(svc: Services, who: Principal, patient_id: str, observation: Any, *,
                    if_match: str | None = None, request_id: str | None = None) -> str:
    """Append one observation (patient-record JSON shape); the whole record is re-validated.
    Returns the new digest."""
    if not isinstance(observation, dict):
        raise Problem(422, "bad_format", "$: expected an observation object",
                      errors=[{"pointer": "", "field": None, "message": "expected an object"}])
    for _attempt in range(5):
        stored = get_patient(svc, patient_id)
        if if_match is not None:
            tags = {t.strip().removeprefix("W/").strip('"') for t in if_match.split(",")}
            if stored.digest not in tags and "*" not in tags:
                raise Problem(412, "precondition_failed",
                              f"If-Match {if_match} does not name the stored version")
        data = dict(stored.data)
        data["observations"] = [*(data.get("observations") or []), observation]
        n = len(data["observations"]) - 1
        try:
            validate(data)
        except Problem as p:
            # Name the observation as the caller sent it: "$" is the posted object.
            if p.detail and p.errors:
                p.detail = p.detail.replace(f"$.observations[{n}]", "$")
                for e in p.errors:
                    e["pointer"] = str(e["pointer"]).replace(f"/observations/{n}", "", 1)
            raise
        d = record_digest(data)
        try:
            with svc.db.write() as session:
                store.add_observation(session, patient_id, data, d,
                                      expected_digest=stored.digest, actor=who.name,
                                      request_id=request_id)
            return d
        except store.NotFound:
            raise Problem(404, "not_found", f"no patient {patient_id!r}") from None
        except store.PreconditionFailed:
            if if_match is not None:
                raise Problem(412, "precondition_failed",
                              f"If-Match {if_match} does not name the stored version") from None
            continue  # changed between read and write: append to the new version
    raise Problem(409, "conflict", "the record kept changing; try again")


# --- assessments -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AssessmentRequest:
    options: AssessOptions
    as_of: dt.date | None
    key: str


def _enum(enum: Any, name: str, value: str | None, default: Any) -> Any:
    if value is None or value == "":
        return default
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(str(e) for e in enum)
        raise Problem(400, "bad_request", f"{name}={value!r} is not one of {allowed}") from None


def assessment_request(params: Mapping[str, str | None]) -> AssessmentRequest:
    """Options from query values (absent = the CLI's defaults); an unknown value is 400."""
    guideline = _enum(Guideline, "guideline", params.get("guideline"), Guideline.ELN2020)
    scheme = _enum(CytogeneticScheme, "cytogenetic_scheme", params.get("cytogenetic_scheme"),
                   CytogeneticScheme.ELN)
    phase = _enum(PhaseCriteria, "phase_criteria", params.get("phase_criteria"),
                  PhaseCriteria.ELN)
    protocol = params.get("protocol") or None
    if protocol is not None and protocol not in PROTOCOLS:
        raise Problem(400, "bad_request",
                      f"protocol={protocol!r} is not one of {', '.join(PROTOCOLS)}")
    aml = params.get("aml_criteria") or "ELN2022"
    if aml not in ("ELN2022", "ELN2017"):
        raise Problem(400, "bad_request", f"aml_criteria={aml!r} is not one of ELN2022, ELN2017")
    as_of_s = params.get("as_of") or None
    as_of = None
    if as_of_s is not None:
        try:
            as_of = dt.date.fromisoformat(as_of_s)
        except ValueError:
            raise Problem(400, "bad_request", f"as_of={as_of_s!r} is not a date YYYY-MM-DD"
                          ) from None
    options = AssessOptions(guideline=guideline, cytogenetic_scheme=scheme,
                            phase_criteria=phase, protocol=PROTOCOLS.get(protocol or ""),
                            aml_criteria="ELN2017" if aml == "ELN2017" else "ELN2022")
    key = f"{guideline}|{scheme}|{phase}|{protocol or ''}|{aml}|{as_of or ''}"
    return AssessmentRequest(options, as_of, key)


def assessment_json(record: PatientRecord, req: AssessmentRequest) -> str:
    """The assessment exactly as ``cmltrack assess --json`` prints it (without the newline)."""
    from cmltrack.domain.assess import assess

    result = assess(record, options=req.options, as_of=req.as_of)
    return json.dumps(result.to_dict(), separators=(",", ":"))


def lookup_assessment(svc: Services, patient_id: str, req: AssessmentRequest
                      ) -> tuple[str, str | None]:
    """(record digest, the cached assessment JSON or None) in one indexed query, or 404: cheap
    enough to run on the event loop (a hit needs nothing else)."""
    with svc.db.connection() as conn:
        found = store.lookup_assessment(conn, patient_id, req.key)
    if found is None:
        raise Problem(404, "not_found", f"no patient {patient_id!r}")
    d, body = found
    return d, body if body is not None else svc.memo.get((d, req.key))


def compute_assessment(svc: Services, patient_id: str, req: AssessmentRequest
                       ) -> tuple[str, str]:
    """(assessment JSON, record digest) computed from the stored record; the database cache is
    written behind (:class:`CacheWriter`), this process serves it from its memo meanwhile."""
    with svc.db.read() as session:
        stored = store.get_record(session, patient_id)
    if stored is None:
        raise Problem(404, "not_found", f"no patient {patient_id!r}")
    body = assessment_json(validate(stored.data), req)
    remember(svc, patient_id, req.key, stored.digest, body)
    return body, stored.digest


def remember(svc: Services, patient_id: str, key: str, digest: str, body: str) -> None:
    """Keep a computed assessment in this process and queue it for the database cache."""
    if len(svc.memo) > 4096:
        svc.memo.clear()
    svc.memo[(digest, key)] = body
    svc.cache_writer.put(patient_id, key, digest, body)


def get_assessment(svc: Services, patient_id: str, req: AssessmentRequest
                   ) -> tuple[str, str]:
    """(assessment JSON, record digest), from the cache when the digest and options match."""
    d, body = lookup_assessment(svc, patient_id, req)
    if body is not None:
        return body, d
    return compute_assessment(svc, patient_id, req)


class CacheWriter:
    """Writes computed assessments to the database cache in the background, many per
    transaction (a commit per assessment cost a disk flush each on SQLite). The cache is only
    a cache: an entry lost in a crash is computed again; an entry whose record changed
    meanwhile is dropped (:func:`cmltrack.store.patients.store_assessments` checks the digest).
    """

    def __init__(self, db: Database) -> None:
        self.db = db
        self.pending: dict[tuple[str, str], tuple[str, str]] = {}
        self.cond = threading.Condition()
        self.thread: threading.Thread | None = None

    def put(self, patient_id: str, key: str, digest: str, body: str) -> None:
        with self.cond:
            self.pending[(patient_id, key)] = (digest, body)
            if self.thread is None:
                self.thread = threading.Thread(target=self._run, name="cmltrack-cache-writer",
                                               daemon=True)
                self.thread.start()
            self.cond.notify()

    def flush(self) -> None:
        """Write what is pending now (the caller's thread)."""
        with self.cond:
            batch, self.pending = self.pending, {}
        if not batch:
            return
        items = [(pid, key, digest, body) for (pid, key), (digest, body) in batch.items()]
        for start in range(0, len(items), 200):  # short transactions, the GIL given back
            try:
                with self.db.write() as session:
                    store.store_assessments(session, items[start:start + 200])
            except Exception as exc:  # a cache: computed again when asked
                from cmltrack.service import logs

                logs.event("assessment cache write failed", error=type(exc).__name__)
            time.sleep(0)

    def _run(self) -> None:
        while True:
            with self.cond:
                while not self.pending:
                    self.cond.wait()
            time.sleep(0.05)  # let a burst gather into one transaction
            self.flush()


def warm_up() -> None:
    """Load what the first requests would otherwise load (the rule tables, the FHIR reader,
    lazily imported modules) by assessing the bundled example clinic once, before listening."""
    import importlib.util

    from cmltrack.io.validate import validate_record as _validate

    text = importlib.resources.files("cmltrack").joinpath("examples/patients.json").read_text(
        "utf-8")
    req = assessment_request({})
    for data in orjson.loads(text):
        try:
            assessment_json(_validate(data, today=dt.date.today(), file=""), req)
        except InputError:
            continue
    if importlib.util.find_spec("cmltrack.io.fhir") is not None:
        importlib.import_module("cmltrack.io.fhir")


# --- cohort ----------------------------------------------------------------------------------


def pseudonym(key: bytes, patient_id: str) -> str:
    """``anon-`` and 16 hex digits of HMAC-SHA-256(key, id): stable, not reversible."""
    return "anon-" + hmac.new(key, patient_id.encode(), hashlib.sha256).hexdigest()[:16]


def cohort_assessments(svc: Services, req: AssessmentRequest) -> Iterator[str]:
    """Every patient's assessment as JSON lines, ``patient_id`` replaced by its pseudonym.

    The assessment carries no birth date and no free text beyond rule bases (which quote values,
    never names), so replacing the id is what de-identifies it.
    """
    with svc.db.write() as session:
        key = bytes.fromhex(server_secret(session, "cohort_pseudonym"))
    with svc.db.read() as session:
        ids = [r.id for r in store.iter_records(session)]
    for pid in ids:
        try:
            body, _ = get_assessment(svc, pid, req)
        except Problem:
            continue  # deleted meanwhile
        data = orjson.loads(body)
        data["patient_id"] = pseudonym(key, pid)
        yield json.dumps(data, separators=(",", ":")) + "\n"


# --- import ----------------------------------------------------------------------------------


@dataclass
class ImportLine:
    """One input line on its way through an import."""

    line: int
    raw: bytes | None
    problem: Problem | None = None
    patient_id: str | None = None
    data: dict[str, Any] | None = None
    digest: str | None = None
    status: str | None = None

    def ack(self) -> bytes:
        out: dict[str, Any] = {"line": self.line}
        if self.patient_id is not None:
            out["id"] = self.patient_id
        if self.problem is not None:
            out["status"] = "refused"
            out["problem"] = self.problem.body()
        else:
            out["status"] = self.status
            out["digest"] = self.digest
        return orjson.dumps(out) + b"\n"


def _prepare(item: ImportLine, today: dt.date) -> None:
    """Parse and validate one line (no database)."""
    assert item.raw is not None
    try:
        data = parse_json(item.raw, f"line {item.line}")
    except Problem as problem:
        item.problem = problem
        return
    if isinstance(data, dict) and isinstance(data.get("id"), str):
        item.patient_id = data["id"]
    try:
        if is_bundle(data):
            data = bundle_to_record_data(data, today=today)
            item.patient_id = data.get("id")
        elif isinstance(data, dict) and isinstance(data.get("resourceType"), str):
            item.patient_id = None  # a resource's id is not a patient id
            raise Problem(422, "bad_format",
                          f"line {item.line}: a lone FHIR {data['resourceType']} resource; "
                          "each line is one patient: a record or a one-patient FHIR Bundle",
                          errors=[{"pointer": "/resourceType", "field": "resourceType",
                                   "message": "a one-patient Bundle expected"}])
        validate(data, prefix=f"line {item.line}, $", today=today)
        check_id(str(data["id"]), f"line {item.line}, $.id")
    except Problem as p:
        item.problem = p
        return
    item.data = data
    item.digest = record_digest(data)


def import_group(svc: Services, who: Principal, items: list[ImportLine], *,
                 request_id: str | None = None) -> None:
    """Validate and store a group of lines; the group's patients commit in one transaction
    (on a database error each is retried alone, so one patient never sinks another)."""
    today = dt.date.today()
    for item in items:
        if item.raw is not None and item.problem is None:
            _prepare(item, today)
    ready = [i for i in items if i.problem is None and i.data is not None]
    seen: set[str] = set()
    for i in ready:  # the same id twice in one group: the later line waits for the next group
        assert i.patient_id is not None
        if i.patient_id in seen:
            i.status = "defer"
        seen.add(i.patient_id)
    batch = [i for i in ready if i.status != "defer"]
    try:
        _store(svc, who, batch, request_id)
    except Exception:
        for i in batch:
            try:
                _store(svc, who, [i], request_id)
            except Exception as exc:  # reported on its line, the import goes on
                i.problem = Problem(422, "inconsistent", f"line {i.line}: not stored: {exc}")
    for i in ready:
        if i.status == "defer":
            i.status = None
            _store(svc, who, [i], request_id)


def _store(svc: Services, who: Principal, batch: list[ImportLine], request_id: str | None
           ) -> None:
    if not batch:
        return
    items: list[tuple[str, dict[str, Any], str]] = []
    for i in batch:
        assert i.patient_id is not None and i.data is not None and i.digest is not None
        items.append((i.patient_id, i.data, i.digest))
    with svc.db.write() as session:
        statuses = store.put_records(session, items, actor=who.name, request_id=request_id)
    for i, s in zip(batch, statuses, strict=True):
        i.status = s


class LineSplitter:
    """Numbered lines of a byte stream fed in chunks (blank lines are counted, not returned);
    a line over the limit comes out as ``None`` and is skipped up to its end."""

    def __init__(self, limit: int = MAX_RECORD_BYTES) -> None:
        self.limit = limit
        self.buf = bytearray()
        self.lineno = 0
        self.skipping = False

    def feed(self, chunk: bytes) -> list[tuple[int, bytes | None]]:
        out: list[tuple[int, bytes | None]] = []
        buf = self.buf
        buf += chunk
        start = 0
        while True:
            nl = buf.find(b"\n", start)
            if nl < 0:
                break
            line = bytes(buf[start:nl])
            start = nl + 1
            if self.skipping:
                self.skipping = False
                continue
            self.lineno += 1
            if line.strip():
                out.append((self.lineno, line))
        del buf[:start]
        if len(buf) > self.limit:
            if not self.skipping:
                self.lineno += 1
                out.append((self.lineno, None))
                self.skipping = True
            buf.clear()
        return out

    def finish(self) -> list[tuple[int, bytes | None]]:
        out: list[tuple[int, bytes | None]] = []
        if self.buf.strip() and not self.skipping:
            self.lineno += 1
            out.append((self.lineno, bytes(self.buf)))
        self.buf.clear()
        return out


def record_as_bundle(data: dict[str, Any]) -> dict[str, Any]:
    """A stored record as a FHIR R4 Bundle (fhir.md's writer), or 406 when it is missing."""
    try:
        writer = importlib.import_module("cmltrack.io.fhir.writer")
    except ImportError:
        raise Problem(406, "unsupported_media_type",
                      "FHIR output is not available in this build (cmltrack.io.fhir missing)"
                      ) from None
    bundle: dict[str, Any] = writer.records_bundle([validate(data)])
    return bundle
