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
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

from cmltrack.domain.enums import CytogeneticScheme, Guideline, PhaseCriteria
from cmltrack.domain.options import AssessOptions
from cmltrack.domain.records import PatientRecord
from cmltrack.errors import InputError
from cmltrack.io.validate import validate_record
from cmltrack.service.auth import Principal
from cmltrack.service.problems import Problem, from_input_error
from cmltrack.service.settings import Settings
from cmltrack.store import patients as store
from cmltrack.store.canonical import digest as record_digest
from cmltrack.store.db import Database
from cmltrack.store.tokens import server_secret

MAX_RECORD_BYTES = 16 * 1024 * 1024
ASSESSMENT_PARAMS = ("guideline", "protocol", "as_of", "cytogenetic_scheme", "phase_criteria",
                     "aml_criteria")
#: The protocols ``cmltrack assess --protocol`` takes, by name.
PROTOCOLS: dict[str, Literal["kantarjian2003", "clag-im", "actim"]] = {
    "kantarjian2003": "kantarjian2003", "clag-im": "clag-im", "actim": "actim"}


@dataclass
class Services:
    """What the service runs on: its settings, database and schema revision."""

    settings: Settings
    db: Database
    revision: str
    #: Assessments computed in this process, keyed by (digest, options key): the database cache
    #: serves other workers and restarts; this one spares a round trip on a hot patient.
    memo: dict[tuple[str, str], str] = field(default_factory=dict)


# --- records ---------------------------------------------------------------------------------


def parse_json(body: bytes, where: str = "request body") -> Any:
    """A JSON value from bytes, or 400 naming the position."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise Problem(400, "bad_format", f"{where}: not valid JSON: {exc}") from None


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


def get_assessment(svc: Services, patient_id: str, req: AssessmentRequest
                   ) -> tuple[str, str]:
    """(assessment JSON, record digest), from the cache when the digest and options match."""
    with svc.db.read() as session:
        d = store.get_digest(session, patient_id)
        if d is None:
            raise Problem(404, "not_found", f"no patient {patient_id!r}")
        hit = svc.memo.get((d, req.key))
        if hit is not None:
            return hit, d
        body = store.cached_assessment(session, patient_id, req.key, d)
        stored = None if body is not None else store.get_record(session, patient_id)
    if body is None:
        assert stored is not None
        body = assessment_json(validate(stored.data), req)
        with svc.db.write() as session:
            store.store_assessment(session, patient_id, req.key, stored.digest, body)
        d = stored.digest
    if len(svc.memo) > 4096:
        svc.memo.clear()
    svc.memo[(d, req.key)] = body
    return body, d


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
        data = orjson.loads(item.raw)
    except orjson.JSONDecodeError as exc:
        item.problem = Problem(400, "bad_format", f"line {item.line}: not valid JSON: {exc}")
        return
    if isinstance(data, dict) and isinstance(data.get("id"), str):
        item.patient_id = data["id"]
    try:
        if is_bundle(data):
            data = bundle_to_record_data(data, today=today)
            item.patient_id = data.get("id")
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
