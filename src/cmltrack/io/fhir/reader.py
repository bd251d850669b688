"""FHIR R4 resources -> patient records (spec/fhir.md), by hand mapping.

The reader maps each resource as it arrives into a small *item* (its kind, date, record values
and the FHIR element each value came from), keyed by the Patient reference it names; nothing
else of the resource is kept. Once every resource is in, each Patient's items become one record
in the JSON shape of the record contract, validated by the same model as every other form
(:class:`~cmltrack.domain.records.PatientRecord`). So a FHIR input is refused exactly where its
JSON form would be, and the error names the Bundle entry or NDJSON line and the FHIR element
the refused value came from.

Resources are plain parsed JSON (orjson), not fhir.resources models: building a pydantic model
per Observation would cost more than the whole rest of reading (see benchmarks/fhir_read.py).
A resource whose structure is not FHIR where the mapping reads it (a string for a Quantity, a
date that is not one) is refused here as fhir.resources would refuse it.
"""

from __future__ import annotations

import datetime as dt
import marshal
import re
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, Any, NamedTuple

from pydantic import ValidationError

from cmltrack.domain.records import MAX_TEXT_CHARS, PatientRecord
from cmltrack.errors import InputError
from cmltrack.io.fhir import codes as C
from cmltrack.io.validate import OnError, to_input_error
from cmltrack.units import UnitError, to_standard

#: Where resource number ``ordinal`` came from: (file, "entry[3] (Observation/x)").
Describe = Callable[[int], tuple[str, str]]
#: Where a record value came from: (resource ordinal, FHIR element).
Src = tuple[int, str]

_HGVS = re.compile(r"p\.\(?([A-Z][a-z]{2})(\d+)([A-Z][a-z]{2})\)?")
_NUMBER = (int, float)


class Warnings:
    """Warning lines, each kind counted once ("14 Encounter resources ignored")."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.lines: list[str] = []

    def count(self, template: str) -> None:
        """One more of a kind; ``template`` starts with ``{n}``, the count's place (the rest
        may quote the input, braces and all: it is never a format string)."""
        self.counts[template] = self.counts.get(template, 0) + 1

    def add(self, line: str) -> None:
        self.lines.append(line)

    @staticmethod
    def fill(template: str, n: int) -> str:
        """The warning line of ``template`` with the count ``n``."""
        return str(n) + template.removeprefix("{n}")

    def render(self) -> list[str]:
        out = [self.fill(t, n) for t, n in self.counts.items()]
        return out + self.lines


class _Item(NamedTuple):
    """What one resource contributes to its patient's record.

    A tuple: the Bulk reader's fast path stores plain tuples of this layout (cheaper to build),
    the spill store marshals them, and :meth:`_Build.add` turns one back into an _Item."""

    ordinal: int
    kind: str
    date: str | None
    values: dict[str, Any]
    elements: dict[str, str]
    keys: tuple[str | None, ...] = ()


#: An item as stored: an _Item or a plain tuple of the same layout.
Stored = tuple[Any, ...]
#: The input resource id behind each part of a record: ("patient",), ("condition",),
#: ("dx", field), ("obs", n, field) for a blood count, marrow or chemistry value, ("obs", n)
#: for any other observation, ("therapy", n), ("event", n); n the index in the record. The
#: writer keys the resources it makes the same way (``_Writer.keyed``).
InputIds = dict[tuple[Any, ...], str]


@dataclass(slots=True)
class _Condition:
    ordinal: int
    id: str | None
    primary: bool
    disease: str | None
    date: str | None
    phase: str | None
    evidence: list[str]


@dataclass(slots=True)
class _Patient:
    ordinal: int
    id: str
    keys: list[str]
    sex: str | None
    birth: str | None
    deceased: str | None


class Spill:
    """Items kept on disk, so that a Bulk export of any size is read in bounded memory.

    A Bulk export is grouped by resource type, so a patient's record can be built only once
    every file is read. The reader holds the items (a few numbers and strings per resource,
    not the resources) and, each time it holds more than :data:`SPILL_ITEMS`, appends them to
    one temporary file, each patient's as one marshal block, and forgets them; the index keeps
    where each patient's blocks are. Building a record reads its blocks back in order."""

    def __init__(self) -> None:
        self.file: IO[bytes] | None = None
        self.index: dict[str, list[tuple[int, int]]] = {}

    def write(self, items: dict[str, list[Stored]]) -> None:
        """Append ``items`` to the file and empty it."""
        if self.file is None:
            self.file = tempfile.TemporaryFile()  # noqa: SIM115 (closed by close())
        fh, index = self.file, self.index
        fh.seek(0, 2)
        pos = fh.tell()
        dumps = marshal.dumps
        for key, lst in items.items():
            blob = dumps([x if type(x) is tuple else tuple(x) for x in lst])
            fh.write(blob)
            blocks = index.get(key)
            if blocks is None:
                index[key] = [(pos, len(blob))]
            else:
                blocks.append((pos, len(blob)))
            pos += len(blob)
        items.clear()

    def load(self, key: str) -> list[Stored]:
        """The items of ``key`` written so far, in the order they came."""
        assert self.file is not None
        out: list[Stored] = []
        for pos, size in self.index.get(key, ()):
            self.file.seek(pos)
            out.extend(marshal.loads(self.file.read(size)))
        return out

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None
        self.index = {}


#: Items the reader holds before it writes them to its spill file (about 150 MB).
SPILL_ITEMS = 1_000_000


def ref_key(reference: str) -> str:
    """A reference in the form resources are registered under: ``Type/id``, or a ``urn:``."""
    if reference.startswith("urn:"):
        return reference
    ref = reference.split("/_history/", 1)[0].rstrip("/")
    parts = ref.rsplit("/", 2)
    return "/".join(parts[-2:]) if len(parts) >= 2 else ref


def _codings(concept: Any) -> Iterator[tuple[Any, Any]]:
    if isinstance(concept, dict):
        for c in concept.get("coding") or ():
            yield c.get("system"), c.get("code")


def cut(value: Any, limit: int = 64) -> str:
    """``value`` as text for a message or warning, at most about ``limit`` characters (an id or
    a code in the input may be megabytes)."""
    text = str(value)
    return text if len(text) <= limit else f"{text[:limit - 16]}...({len(text)} chars)"


def resource_label(res: Any) -> str:
    """``(Observation/obs-12)``: a resource as messages name it."""
    if not isinstance(res, dict):
        return ""
    return f"({cut(res.get('resourceType'))}/{cut(res.get('id'))})"


def _first_code(concept: Any) -> str:
    for system, code in _codings(concept):
        return cut(f"{system}|{code}", 120)
    text = concept.get("text") if isinstance(concept, dict) else None
    return f"text {cut(repr(text), 120)}" if text else "(none)"


def _note(res: dict[str, Any]) -> str | None:
    notes = res.get("note")
    if notes:
        text = notes[0].get("text")
        return text if isinstance(text, str) else None
    return None


class Reader:
    """Collects resources one at a time (:meth:`add`), then yields records (:meth:`records`)."""

    def __init__(self, describe: Describe, *, today: dt.date,
                 max_text: int = MAX_TEXT_CHARS) -> None:
        self.describe = describe
        self.today = today
        self.max_text = max_text  # a free-text value's length (io.limits)
        #: Filled with each record's input resource ids when given (see InputIds).
        self.ids: dict[str, InputIds] | None = None
        self.warnings = Warnings()
        self.patients: list[_Patient] = []
        self.patient_of: dict[str, int] = {}
        self.items: dict[str, list[Stored]] = {}
        self.spill = Spill()
        self.conditions: dict[str, list[_Condition]] = {}
        self.first_ref: dict[str, Src] = {}
        self._keys: dict[str, str] = {}  # reference text -> its key (most are repeated)

    # -- errors ---------------------------------------------------------------------------------

    def error(self, ordinal: int, element: str, message: str, code: str, *,
              field: str | None = None, patient: str | None = None) -> InputError:
        file, where = self.describe(ordinal)
        path = f"{where} {element}" if element else where
        return InputError(message, code=code, file=file, path=path, field=field,
                          patient=patient)

    # -- one resource ---------------------------------------------------------------------------

    def add(self, res: Any, ordinal: int, full_url: str | None = None) -> None:
        """Map one resource (``full_url``: its Bundle entry's, if any)."""
        if not isinstance(res, dict):
            raise self.error(ordinal, "", f"expected a FHIR resource object, got "
                             f"{type(res).__name__}", "bad_format")
        rtype = res.get("resourceType")
        try:
            if rtype == "Observation":
                self.observation(res, ordinal, full_url)
            elif rtype == "Patient":
                self._patient(res, ordinal, full_url)
            elif rtype == "Condition":
                self._condition(res, ordinal)
            elif rtype in ("MedicationStatement", "MedicationRequest"):
                self._medication(res, ordinal, rtype)
            elif rtype == "Procedure":
                self._procedure(res, ordinal)
            elif isinstance(rtype, str):
                self.warnings.count("{n} " + cut(rtype) + " resources ignored")
            else:
                raise self.error(ordinal, "resourceType", "missing: not a FHIR resource",
                                 "missing_field")
        except (AttributeError, TypeError, IndexError, KeyError, InputError) as exc:
            raise self.failed(res, ordinal, exc) from None

    def failed(self, res: Any, ordinal: int, exc: Exception) -> InputError:
        """The error to raise for ``exc`` met while mapping resource ``ordinal`` (which may
        be any JSON value: a line holding a string is refused as not a resource)."""
        if not isinstance(res, dict):
            return exc if isinstance(exc, InputError) else self.error(
                ordinal, "", f"malformed resource ({exc})", "bad_format")
        rtype = res.get("resourceType")
        if isinstance(exc, InputError):
            if exc.patient is None and rtype != "Patient":
                return exc.located(patient=self._patient_named(res))
            return exc
        # A structure the mapping cannot walk (a list where FHIR has an object, ...).
        return self.error(ordinal, "", f"malformed {rtype} resource ({exc})", "bad_format",
                          patient=self._patient_named(res))

    def _patient_named(self, res: dict[str, Any]) -> str | None:
        """The id of the patient a resource names (before every Patient is known: its
        reference's id)."""
        ref = res.get("subject") or res.get("patient")
        text = ref.get("reference") if isinstance(ref, dict) else None
        if not isinstance(text, str):
            return None
        key = ref_key(text)
        index = self.patient_of.get(key)
        return self.patients[index].id if index is not None else key.rsplit("/", 1)[-1]

    def _subject(self, res: dict[str, Any], ordinal: int, name: str = "subject") -> str:
        ref = res.get(name)
        if ref is None and name == "subject":
            ref, name = res.get("patient"), "patient"
        text = ref.get("reference") if isinstance(ref, dict) else None
        if not isinstance(text, str):
            raise self.error(ordinal, "subject", "no reference to a Patient", "missing_field")
        key = self._keys.get(text)
        if key is None:
            key = self._keys[text] = ref_key(text)
            if key not in self.first_ref:
                self.first_ref[key] = (ordinal, name)
        return key

    def _put(self, key: str, item: Stored) -> None:
        lst = self.items.get(key)
        if lst is None:
            self.items[key] = [item]
        else:
            lst.append(item)

    def _status_skipped(self, res: dict[str, Any], rtype: str) -> bool:
        status = res.get("status")
        if status in C.SKIPPED_STATUS[rtype]:
            self.warnings.count("{n} " + rtype + f" resources with status {status!r} skipped")
            return True
        return False

    def _date(self, value: Any, ordinal: int, element: str) -> str:
        if not isinstance(value, str):
            raise self.error(ordinal, element, f"{value!r} is not a FHIR date", "bad_date")
        return value[:10]

    def _effective(self, res: dict[str, Any], ordinal: int) -> str | None:
        v = res.get("effectiveDateTime")
        if v is not None:
            return self._date(v, ordinal, "effectiveDateTime")
        period = res.get("effectivePeriod")
        if period and period.get("start") is not None:
            return self._date(period["start"], ordinal, "effectivePeriod.start")
        if res.get("issued") is not None:
            return self._date(res["issued"], ordinal, "issued")
        return None

    def number(self, q: Any, field: str, ordinal: int, element: str) -> Any:
        """A Quantity's value in the field's standard unit (None: no value)."""
        if not isinstance(q, dict):
            raise self.error(ordinal, element, f"{q!r} is not a Quantity", "bad_type",
                             field=field)
        v = q.get("value")
        if v is None:
            return None
        if type(v) not in _NUMBER:
            raise self.error(ordinal, element + ".value", f"{v!r} is not a number", "bad_type",
                             field=field)
        standard, table = C.UNITS[field]
        code = q.get("code")
        if code is not None and q.get("system") == C.UCUM:
            conv = table.get(code)
            if conv is None:
                raise self.error(
                    ordinal, element + ".code",
                    f"unit {code!r} cannot be converted to {standard} "
                    f"(accepted: {', '.join(table)})", "bad_unit", field=field)
            return conv(v)
        unit = q.get("unit", code)
        if unit is None:
            return v
        if not isinstance(unit, str):
            raise self.error(ordinal, element + ".unit", f"{unit!r} is not a unit", "bad_type",
                             field=field)
        conv = table.get(unit)
        if conv is not None:
            return conv(v)
        try:
            return to_standard(field, float(v), unit) if field in _TEXT_UNITS else _refuse(unit)
        except UnitError as exc:
            raise self.error(ordinal, element + ".unit", str(exc), "bad_unit",
                             field=field) from None

    def _integer(self, comp: dict[str, Any], field: str, ordinal: int, element: str) -> Any:
        if "valueInteger" in comp:
            v = comp["valueInteger"]
            if type(v) is not int:
                raise self.error(ordinal, element + ".valueInteger", f"{v!r} is not an integer",
                                 "bad_type", field=field)
            return v
        if "valueQuantity" in comp:
            q = comp["valueQuantity"]
            v = q.get("value") if isinstance(q, dict) else q
            if type(v) not in _NUMBER:
                raise self.error(ordinal, element + ".valueQuantity.value",
                                 f"{v!r} is not a number", "bad_type", field=field)
            return v
        return None

    # -- Patient and Condition ------------------------------------------------------------------

    def _patient(self, res: dict[str, Any], ordinal: int, full_url: str | None) -> None:
        fid = res.get("id")
        rid: Any = None
        for ident in res.get("identifier") or ():
            if ident.get("system") == C.PATIENT_ID_SYSTEM:
                rid = ident.get("value")
                break
        if rid is None:
            rid = fid
        if not isinstance(rid, str) or not rid:
            raise self.error(ordinal, "id", "a Patient needs an id or a cmltrack patient-id "
                             "identifier", "missing_field", field="id")
        gender = res.get("gender")
        sex = {"female": "F", "male": "M"}.get(gender) if isinstance(gender, str) else None
        if gender not in (None, "female", "male", "other", "unknown"):
            raise self.error(ordinal, "gender", f"{gender!r} is not a FHIR gender",
                             "unknown_value", field="sex", patient=rid)
        birth = res.get("birthDate")
        if birth is not None and not isinstance(birth, str):
            raise self.error(ordinal, "birthDate", f"{birth!r} is not a date", "bad_date",
                             field="birth_date", patient=rid)
        deceased = None
        if res.get("deceasedDateTime") is not None:
            deceased = self._date(res["deceasedDateTime"], ordinal, "deceasedDateTime")
        elif res.get("deceasedBoolean") is True:
            self.warnings.add(f"patient {cut(rid)}: deceasedBoolean true without a date: "
                              "no death event")
        keys = []
        if isinstance(fid, str):
            keys.append("Patient/" + fid)
        if full_url:
            keys.append(ref_key(full_url))
        index = len(self.patients)
        for key in keys:
            if key in self.patient_of:
                other = self.patients[self.patient_of[key]]
                raise self.error(ordinal, "id", f"Patient {key} appears twice (also "
                                 f"{' '.join(self.describe(other.ordinal))})", "duplicate",
                                 field="id", patient=rid)
            self.patient_of[key] = index
        self.patients.append(_Patient(ordinal, rid, keys, sex, birth, deceased))

    def _condition(self, res: dict[str, Any], ordinal: int) -> None:
        status = res.get("verificationStatus")
        if any(code == "entered-in-error" for _, code in _codings(status)):
            self.warnings.count("{n} Condition resources with verificationStatus "
                                "'entered-in-error' skipped")
            return
        primary = any((s, c) == C.PRIMARY_DIAGNOSIS
                      for cat in res.get("category") or () for s, c in _codings(cat))
        disease = _disease(res.get("code"))
        if disease is None and not primary:
            self.warnings.count("{n} Conditions with code " + _first_code(res.get("code")) +
                                " ignored")
            return
        if disease is None:
            code = res.get("code")
            text = code.get("text") if isinstance(code, dict) else None
            disease = text if isinstance(text, str) and text else None
        date = None
        for element in ("onsetDateTime", "onsetPeriod", "recordedDate"):
            v = res.get(element)
            if element == "onsetPeriod":
                if v and v.get("start") is not None:
                    date = self._date(v["start"], ordinal, "onsetPeriod.start")
                    break
            elif v is not None:
                date = self._date(v, ordinal, element)
                break
        phase = None
        for stage in res.get("stage") or ():
            for system, code in _codings(stage.get("summary")):
                if system == C.CML and code in C.PHASES:
                    phase = code
            if phase is not None:
                break
        evidence = [ref_key(d["reference"]) for ev in res.get("evidence") or ()
                    for d in ev.get("detail") or () if isinstance(d.get("reference"), str)]
        key = self._subject(res, ordinal)
        self.conditions.setdefault(key, []).append(
            _Condition(ordinal, _fhir_id(res.get("id")), primary, disease, date, phase,
                       evidence))

    # -- Observations ---------------------------------------------------------------------------

    def observation(self, res: dict[str, Any], ordinal: int, full_url: str | None) -> None:
        """Map one Observation (the caller turns a malformed one's exception into an error:
        see :meth:`add` and :meth:`failed`)."""
        if res.get("status") in _OBS_SKIP:
            self._status_skipped(res, "Observation")
            return
        code = res.get("code")
        fast = special = None
        for c in code.get("coding") or () if type(code) is dict else ():
            key = (c.get("system"), c.get("code"))
            fast = _FAST.get(key)
            if fast is not None:
                break
            special = C.SPECIAL_CODES.get(key)
            if special is not None:
                break
        if fast is None and special is None:
            self.warnings.count("{n} Observations with code " + _first_code(code) + " ignored")
            return
        ref: Any = res.get("subject")
        text = ref.get("reference") if type(ref) is dict else None
        subject = self._keys.get(text) if type(text) is str else None
        if subject is None:
            subject = self._subject(res, ordinal)
        v: Any = res.get("effectiveDateTime")
        date = v[:10] if type(v) is str else self._effective(res, ordinal)
        keys = (res.get("id"), full_url)
        if fast is not None:
            kind, field, table, elements = fast
            # The common case at registry scale: one value in a UCUM unit, no limits.
            q: Any = res.get("valueQuantity")
            if type(q) is dict and "referenceRange" not in res:
                v = q.get("value")
                conv = table.get(q.get("code"))  # type: ignore[arg-type]
                if conv is not None and type(v) in _NUMBER and q.get("system") == C.UCUM:
                    one = (ordinal, kind, date, {field: v if conv is C._same else conv(v)},
                           elements, keys)
                    lst = self.items.get(subject)
                    if lst is None:
                        self.items[subject] = [one]
                    else:
                        lst.append(one)
                    return
            item = self._value(res, ordinal, kind, field, date, keys)
        else:
            item = getattr(self, "_obs_" + special)(res, ordinal, date, keys)  # type: ignore[operator]
        if item is not None:
            self._put(subject, item)

    def _value(self, res: dict[str, Any], ordinal: int, kind: str, field: str,
               date: str | None, keys: tuple[str | None, ...]) -> _Item | None:
        values: dict[str, Any] = {}
        elements: dict[str, str] = {}
        if field in C.BOOLEAN_FIELDS:
            if "valueBoolean" in res:
                v = res["valueBoolean"]
                if type(v) is not bool:
                    raise self.error(ordinal, "valueBoolean", f"{v!r} is not true or false",
                                     "bad_type", field=field)
                values[field], elements[field] = v, "valueBoolean"
        elif "valueQuantity" in res:
            v = self.number(res["valueQuantity"], field, ordinal, "valueQuantity")
            if v is not None:
                values[field], elements[field] = v, "valueQuantity.value"
        elif "valueInteger" in res:
            v = res["valueInteger"]
            if type(v) is not int:
                raise self.error(ordinal, "valueInteger", f"{v!r} is not an integer",
                                 "bad_type", field=field)
            values[field], elements[field] = v, "valueInteger"
        else:
            for name in res:
                if name.startswith("value"):
                    raise self.error(ordinal, name, f"a {field} result must be a "
                                     "valueQuantity", "bad_type", field=field)
        limits = C.LIMITS.get(field)
        ranges = res.get("referenceRange")
        if limits is not None and ranges:
            rr = ranges[0]
            for end, wanted, suffix in (("low", limits[0], "_lln"), ("high", limits[1], "_uln")):
                if wanted and rr.get(end) is not None:
                    element = f"referenceRange[0].{end}"
                    v = self.number(rr[end], field, ordinal, element)
                    if v is not None:
                        values[field + suffix], elements[field + suffix] = v, element + ".value"
        if not values:
            return None
        return _Item(ordinal, kind, date, values, elements, keys)

    def _obs_pcr(self, res: dict[str, Any], ordinal: int, date: str | None,
                 keys: tuple[str | None, ...]) -> _Item | None:
        values: dict[str, Any] = {}
        elements: dict[str, str] = {}
        if "valueQuantity" in res:
            q = res["valueQuantity"]
            comparator = q.get("comparator") if isinstance(q, dict) else None
            if comparator in ("<", "<="):
                values["detected"] = False  # the number is the assay's limit, not a result
                elements["detected"] = "valueQuantity.comparator"
            elif comparator is not None:
                raise self.error(ordinal, "valueQuantity.comparator", f"comparator "
                                 f"{comparator!r}: BCR::ABL1 must be a value or below a limit",
                                 "impossible_value", field="bcr_abl1_is")
            else:
                values["bcr_abl1_is"] = self.number(q, "bcr_abl1_is", ordinal, "valueQuantity")
                elements["bcr_abl1_is"] = "valueQuantity.value"
        elif "valueCodeableConcept" in res:
            concept = res["valueCodeableConcept"]
            if not any(k in C.UNDETECTED_CODES for k in _codings(concept)):
                raise self.error(ordinal, "valueCodeableConcept", f"{_first_code(concept)} is "
                                 "not a code of an undetected result", "unknown_value",
                                 field="bcr_abl1_is")
            values["detected"], elements["detected"] = False, "valueCodeableConcept"
        elif "valueString" in res:
            text = res["valueString"]
            if not isinstance(text, str) or text.strip().lower() not in C.UNDETECTED_TEXT:
                raise self.error(ordinal, "valueString", f"{text!r} is not a BCR::ABL1 result "
                                 "(a valueQuantity, or 'not detected')", "bad_type",
                                 field="bcr_abl1_is")
            values["detected"], elements["detected"] = False, "valueString"
        elif any(c in C.UNDETECTED_INTERPRETATION
                 for i in res.get("interpretation") or () for _, c in _codings(i)):
            values["detected"], elements["detected"] = False, "interpretation"
        elif "dataAbsentReason" in res:
            self.warnings.count("{n} BCR::ABL1 Observations without a value (dataAbsentReason) "
                                "skipped")
            return None
        for i, comp in enumerate(res.get("component") or ()):
            ckey = next(iter(_codings(comp.get("code"))), None)
            element = f"component[{i}]"
            if ckey == C.CONTROL_GENE:
                values["control_gene"] = self._control_gene(comp, ordinal, element)
                elements["control_gene"] = element + ".valueCodeableConcept"
            elif ckey == C.CONTROL_COPIES:
                if "valueQuantity" in comp:
                    v = self.number(comp["valueQuantity"], "control_copies", ordinal,
                                    element + ".valueQuantity")
                else:
                    v = self._integer(comp, "control_copies", ordinal, element)
                values["control_copies"] = v
                elements["control_copies"] = element + ".valueQuantity.value"
            else:
                self._ignored(comp)
        return _Item(ordinal, "pcr", date, values, elements, keys)

    def _ignored(self, comp: dict[str, Any]) -> None:
        """Warn about a component of a code the mapping does not read."""
        self.warnings.count("{n} Observation components with code " +
                            _first_code(comp.get("code")) + " ignored")

    def _control_gene(self, comp: dict[str, Any], ordinal: int, element: str) -> Any:
        concept = comp.get("valueCodeableConcept") or {}
        for system, code in _codings(concept):
            if system == C.HGNC:
                for gene, hgnc in C.CONTROL_GENES.items():
                    if code == hgnc:
                        return gene
        texts = [concept.get("text")] + [c.get("display") for c in concept.get("coding") or ()]
        for t in texts:
            if isinstance(t, str) and t.strip().upper() in C.CONTROL_GENES:
                return t.strip().upper()
        # Not ABL1 or GUSB: the record model refuses it, naming this component.
        return texts[0] if texts[0] is not None else _first_code(concept)

    def _obs_cytogenetics(self, res: dict[str, Any], ordinal: int, date: str | None,
                          keys: tuple[str | None, ...]) -> _Item | None:
        values: dict[str, Any] = {}
        elements: dict[str, str] = {}
        for i, comp in enumerate(res.get("component") or ()):
            ckey = next(iter(_codings(comp.get("code"))), None)
            field = C.CYTO_COMPONENTS.get(ckey)  # type: ignore[arg-type]
            element = f"component[{i}]"
            if field is None:
                self._ignored(comp)
            elif field in ("aca", "aca_ph_neg"):
                text = comp.get("valueString")
                if not isinstance(text, str):
                    raise self.error(ordinal, element + ".valueString", f"{text!r} is not an "
                                     "abnormality in ISCN shorthand", "bad_type", field=field)
                values.setdefault(field, []).append(text)
                elements[field] = element + ".valueString"
            elif field == "ph_pct":
                values[field] = self.number(comp.get("valueQuantity"), field, ordinal,
                                            element + ".valueQuantity")
                elements[field] = element + ".valueQuantity.value"
            else:
                values[field] = self._integer(comp, field, ordinal, element)
                elements[field] = element + ".valueInteger"
        return _Item(ordinal, "cytogenetics", date, values, elements, keys)

    def _obs_fish(self, res: dict[str, Any], ordinal: int, date: str | None,
                  keys: tuple[str | None, ...]) -> _Item | None:
        values: dict[str, Any] = {}
        elements: dict[str, str] = {}
        if "valueQuantity" in res:
            values["fish_pct"] = self.number(res["valueQuantity"], "fish_pct", ordinal,
                                             "valueQuantity")
            elements["fish_pct"] = "valueQuantity.value"
        for i, comp in enumerate(res.get("component") or ()):
            ckey = next(iter(_codings(comp.get("code"))), None)
            field = C.FISH_COMPONENTS.get(ckey)  # type: ignore[arg-type]
            if field is None:
                self._ignored(comp)
                continue
            values[field] = self._integer(comp, field, ordinal, f"component[{i}]")
            elements[field] = f"component[{i}].valueInteger"
        return _Item(ordinal, "fish", date, values, elements, keys)

    def _obs_mutation(self, res: dict[str, Any], ordinal: int, date: str | None,
                      keys: tuple[str | None, ...]) -> _Item | None:
        concept = res.get("valueCodeableConcept")
        found = [k for k in _codings(concept) if k in (C.PRESENT, C.ABSENT)]
        mutations: list[str] = []
        for i, comp in enumerate(res.get("component") or ()):
            ckey = next(iter(_codings(comp.get("code"))), None)
            if ckey == C.GENE_STUDIED:
                continue
            if ckey != C.VARIANT:
                self._ignored(comp)
                continue
            vc = comp.get("valueCodeableConcept") or {}
            name = vc.get("text")
            if not isinstance(name, str) or not name.strip():
                name = None
                for system, code in _codings(vc):
                    m = _HGVS.search(code) if system == C.HGVS and isinstance(code, str) else None
                    if m and m.group(1) in C.ONE_LETTER and m.group(3) in C.ONE_LETTER:
                        name = C.ONE_LETTER[m.group(1)] + m.group(2) + C.ONE_LETTER[m.group(3)]
                        break
            if name is None:
                raise self.error(ordinal, f"component[{i}].valueCodeableConcept", "a variant "
                                 "needs text (T315I) or an HGVS protein code", "missing_field",
                                 field="mutations")
            mutations.append(name)
        if not found and not mutations:
            raise self.error(ordinal, "valueCodeableConcept", "a mutation analysis needs "
                             f"{C.LN}|LA9633-4 (Present) or LA9634-2 (Absent)", "missing_field",
                             field="mutations")
        if found and found[0] == C.PRESENT and not mutations:
            raise self.error(ordinal, "component", "a mutation found (Present) needs a variant "
                             f"component ({C.LN}|48005-3)", "missing_field", field="mutations")
        return _Item(ordinal, "mutation", date, {"mutations": mutations},
                     {"mutations": "component"}, keys)

    def _obs_age(self, res: dict[str, Any], ordinal: int, date: str | None,
                 keys: tuple[str | None, ...]) -> _Item | None:
        v = self.number(res.get("valueQuantity"), "age", ordinal, "valueQuantity")
        if v is None:
            return None
        return _Item(ordinal, "age", date, {"age": v}, {"age": "valueQuantity.value"}, keys)

    def _obs_transcript(self, res: dict[str, Any], ordinal: int, date: str | None,
                        keys: tuple[str | None, ...]) -> _Item | None:
        concept = res.get("valueCodeableConcept") or {}
        value = next((code for system, code in _codings(concept) if system == C.CML), None)
        if value is None:
            value = concept.get("text")
        if value is None:
            return None
        return _Item(ordinal, "transcript", date, {"transcript": value},
                     {"transcript": "valueCodeableConcept"}, keys)

    def _obs_progression(self, res: dict[str, Any], ordinal: int, date: str | None,
                         keys: tuple[str | None, ...]) -> _Item | None:
        phase = None
        for comp in res.get("component") or ():
            if next(iter(_codings(comp.get("code"))), None) == C.PHASE_TYPE:
                for system, code in _codings(comp.get("valueCodeableConcept")):
                    if system == C.CML:
                        phase = code
        values: dict[str, Any] = {"kind": "progression", "phase": phase, "note": _note(res),
                                  "detail": self._detail(res, ordinal)}
        return _Item(ordinal, "event", date, values, {"phase": "component"}, keys)

    def _detail(self, res: dict[str, Any], ordinal: int) -> Any:
        """An event's detail: the component CML#event-detail's valueString."""
        for i, comp in enumerate(res.get("component") or ()):
            if next(iter(_codings(comp.get("code"))), None) == C.EVENT_DETAIL:
                text = comp.get("valueString")
                if not isinstance(text, str):
                    raise self.error(ordinal, f"component[{i}].valueString", f"{text!r} is not "
                                     "text", "bad_type", field="detail")
                return text
        return None

    def _obs_event(self, res: dict[str, Any], ordinal: int, date: str | None,
                   keys: tuple[str | None, ...]) -> _Item | None:
        concept = res.get("valueCodeableConcept")
        kind = next((code for system, code in _codings(concept) if system == C.CML), None)
        if kind not in C.EVENT_KINDS:
            raise self.error(ordinal, "valueCodeableConcept", f"{_first_code(concept)} is not "
                             f"an event kind ({', '.join(C.EVENT_KINDS)})", "unknown_value",
                             field="kind")
        return _Item(ordinal, "event", date, {"kind": kind, "note": _note(res),
                                              "detail": self._detail(res, ordinal)},
                     {"kind": "valueCodeableConcept"}, keys)

    def _obs_death_cause(self, res: dict[str, Any], ordinal: int, date: str | None,
                         keys: tuple[str | None, ...]) -> _Item | None:
        cause = res.get("valueString")
        if cause is not None and not isinstance(cause, str):
            raise self.error(ordinal, "valueString", f"{cause!r} is not text", "bad_type",
                             field="cause")
        return _Item(ordinal, "death", date, {"kind": "death", "cause": cause,
                                              "note": _note(res),
                                              "detail": self._detail(res, ordinal)},
                     {"cause": "valueString"}, keys)

    # -- AML (spec/aml.md) ----------------------------------------------------------------------

    def _coded(self, res: dict[str, Any], ordinal: int, field: str) -> Any:
        concept = res.get("valueCodeableConcept")
        value = next((code for system, code in _codings(concept) if system == C.CML), None)
        if value is None:
            raise self.error(ordinal, "valueCodeableConcept", f"{_first_code(concept)} is not a "
                             f"cmltrack {field} code", "unknown_value", field=field)
        return value

    def _obs_aml_type(self, res: dict[str, Any], ordinal: int, date: str | None,
                      keys: tuple[str | None, ...]) -> _Item | None:
        return _Item(ordinal, "aml_type", date, {"aml_type": self._coded(res, ordinal, "aml_type")},
                     {"aml_type": "valueCodeableConcept"}, keys)

    def _obs_aml_status(self, res: dict[str, Any], ordinal: int, date: str | None,
                        keys: tuple[str | None, ...]) -> _Item | None:
        return _Item(ordinal, "aml_status", date, {"status": self._coded(res, ordinal, "status")},
                     {"status": "valueCodeableConcept"}, keys)

    def _obs_ecog(self, res: dict[str, Any], ordinal: int, date: str | None,
                  keys: tuple[str | None, ...]) -> _Item | None:
        v = self._integer(res, "ecog", ordinal, "")
        if v is None:
            return None
        return _Item(ordinal, "ecog", date, {"ecog": v}, {"ecog": "valueInteger"}, keys)

    def _boolean(self, holder: dict[str, Any], ordinal: int, element: str, field: str) -> Any:
        v = holder.get("valueBoolean")
        if type(v) is not bool:
            raise self.error(ordinal, element + "valueBoolean", f"{v!r} is not true or false",
                             "bad_type", field=field)
        return v

    def _obs_extramedullary(self, res: dict[str, Any], ordinal: int, date: str | None,
                            keys: tuple[str | None, ...]) -> _Item | None:
        values: dict[str, Any] = {"present": self._boolean(res, ordinal, "", "present")}
        for comp in res.get("component") or ():
            if next(iter(_codings(comp.get("code"))), None) == C.EXTRAMEDULLARY_SITE:
                values["site"] = comp.get("valueString")
            else:
                self._ignored(comp)
        return _Item(ordinal, "extramedullary", date, values,
                     {"present": "valueBoolean", "site": "component"}, keys)

    def _obs_aml_genetics(self, res: dict[str, Any], ordinal: int, date: str | None,
                          keys: tuple[str | None, ...]) -> _Item | None:
        g: dict[str, Any] = {}
        for i, comp in enumerate(res.get("component") or ()):
            ckey = next(iter(_codings(comp.get("code"))), None)
            element = f"component[{i}]."
            if ckey == C.KARYOTYPE:
                g["karyotype"] = comp.get("valueString")
            elif ckey == C.KARYOTYPE_DONE:
                g["karyotype_done"] = self._boolean(comp, ordinal, element, "karyotype_done")
            elif ckey == C.FINDING:
                concept = comp.get("valueCodeableConcept")
                code = next((c for system, c in _codings(concept) if system == C.CML), None)
                text = concept.get("text") if isinstance(concept, dict) else None
                g.setdefault("findings", []).append(code if code is not None else text)
            elif ckey == C.MUTATIONS_TESTED:
                g.setdefault("mutations_tested", []).append(comp.get("valueString"))
            else:
                self._ignored(comp)
        return _Item(ordinal, "aml_genetics", date, {"genetics": g}, {"genetics": "component"},
                     keys)

    def _obs_aml_mutation(self, res: dict[str, Any], ordinal: int, date: str | None,
                          keys: tuple[str | None, ...]) -> _Item | None:
        concept = res.get("valueCodeableConcept")
        gene = concept.get("text") if isinstance(concept, dict) else None
        if gene is None:
            gene = next((c for _, c in _codings(concept)), None)
        m: dict[str, Any] = {"gene": gene}
        for i, comp in enumerate(res.get("component") or ()):
            ckey = next(iter(_codings(comp.get("code"))), None)
            element = f"component[{i}]."
            if ckey == C.VAF:
                m["vaf"] = self.number(comp.get("valueQuantity"), "vaf", ordinal,
                                       element + "valueQuantity")
            elif ckey == C.ALLELIC_RATIO:
                m["allelic_ratio"] = self.number(comp.get("valueQuantity"), "allelic_ratio",
                                                 ordinal, element + "valueQuantity")
            elif ckey == C.BZIP_INFRAME:
                m["bzip_inframe"] = self._boolean(comp, ordinal, element, "bzip_inframe")
            elif ckey == C.BIALLELIC:
                m["biallelic"] = self._boolean(comp, ordinal, element, "biallelic")
            else:
                self._ignored(comp)
        return _Item(ordinal, "aml_mutation", date, {"mutation": m}, {"mutation": "component"},
                     keys)

    def _obs_mrd(self, res: dict[str, Any], ordinal: int, date: str | None,
                 keys: tuple[str | None, ...]) -> _Item | None:
        concept = res.get("valueCodeableConcept")
        found = {k for k in _codings(concept)}
        result: Any = ("positive" if C.POSITIVE in found else
                       "negative" if C.NEGATIVE in found else
                       concept.get("text") if isinstance(concept, dict) else None)
        values: dict[str, Any] = {"result": result}
        elements = {"result": "valueCodeableConcept"}
        for i, comp in enumerate(res.get("component") or ()):
            ckey = next(iter(_codings(comp.get("code"))), None)
            element = f"component[{i}]"
            if ckey in (C.MRD_METHOD, C.MRD_TISSUE):
                field = "method" if ckey == C.MRD_METHOD else "tissue"
                vc = comp.get("valueCodeableConcept")
                values[field] = next((c for system, c in _codings(vc) if system == C.CML), None)
                elements[field] = element + ".valueCodeableConcept"
            elif ckey == C.MRD_TARGET:
                values["target"] = comp.get("valueString")
                elements["target"] = element + ".valueString"
            elif ckey == C.MRD_VALUE:
                values["value_pct"] = self.number(comp.get("valueQuantity"), "mrd_value",
                                                  ordinal, element + ".valueQuantity")
                elements["value_pct"] = element + ".valueQuantity.value"
            else:
                self._ignored(comp)
        return _Item(ordinal, "mrd", date, values, elements, keys)

    # -- therapy and procedures -----------------------------------------------------------------

    def _medication(self, res: dict[str, Any], ordinal: int, rtype: str) -> None:
        if self._status_skipped(res, rtype):
            return
        drug = self._drug(res, ordinal)
        if rtype == "MedicationStatement":
            start: Any = None
            end = None
            period = res.get("effectivePeriod")
            if period and period.get("start") is not None:
                start = self._date(period["start"], ordinal, "effectivePeriod.start")
            elif res.get("effectiveDateTime") is not None:
                start = self._date(res["effectiveDateTime"], ordinal, "effectiveDateTime")
            else:
                raise self.error(ordinal, "effective[x]", "a therapy needs its start",
                                 "missing_field", field="start")
            if period and period.get("end") is not None:
                end = self._date(period["end"], ordinal, "effectivePeriod.end")
            dosage = (res.get("dosage") or [None])[0]
            dose_element = "dosage[0]"
        else:
            dosage = (res.get("dosageInstruction") or [None])[0]
            dose_element = "dosageInstruction[0]"
            bounds = (((dosage or {}).get("timing") or {}).get("repeat") or {}).get(
                "boundsPeriod") or {}
            if bounds.get("start") is not None:
                start = self._date(bounds["start"], ordinal,
                                   dose_element + ".timing.repeat.boundsPeriod.start")
            elif res.get("authoredOn") is not None:
                start = self._date(res["authoredOn"], ordinal, "authoredOn")
            else:
                raise self.error(ordinal, "authoredOn", "a therapy needs its start",
                                 "missing_field", field="start")
            end = (self._date(bounds["end"], ordinal,
                              dose_element + ".timing.repeat.boundsPeriod.end")
                   if bounds.get("end") is not None else None)
        dose = self._dose(dosage, ordinal, dose_element) if dosage else None
        reason = None
        reasons = res.get("statusReason")
        if reasons:
            concept = reasons[0]
            reason = next((code for system, code in _codings(concept) if system == C.CML),
                          None) or concept.get("text")
        values = {"drug": drug, "dose_mg_per_day": dose, "start": start, "end": end,
                  "reason_end": reason}
        elements = {"drug": "medicationCodeableConcept", "dose_mg_per_day": dose_element,
                    "start": "effectivePeriod.start", "end": "effectivePeriod.end",
                    "reason_end": "statusReason[0]"}
        kind = "ms" if rtype == "MedicationStatement" else "mr"
        self._put(self._subject(res, ordinal),
                  _Item(ordinal, kind, start, values, elements, (res.get("id"), None)))

    def _drug(self, res: dict[str, Any], ordinal: int) -> str:
        concept = res.get("medicationCodeableConcept")
        if not isinstance(concept, dict):
            element = ("medicationReference" if "medicationReference" in res
                       else "medicationCodeableConcept")
            raise self.error(ordinal, element, "the drug must be a medicationCodeableConcept",
                             "missing_field", field="drug")
        for system, code in _codings(concept):
            if system == C.RX and code in C.RX_DRUG:
                return C.RX_DRUG[code]
        texts = [concept.get("text")] + [c.get("display") for c in concept.get("coding") or ()]
        for t in texts:
            if isinstance(t, str):
                low = t.lower()
                for name in C.DRUG_NAMES:
                    if name in low:
                        return name
        text = concept.get("text")
        if not isinstance(text, str) or not text.strip():
            raise self.error(ordinal, "medicationCodeableConcept", "no drug this reader knows "
                             "(an RxNorm ingredient or a drug name in text)", "unknown_value",
                             field="drug")
        return text.strip().lower()

    def _dose(self, dosage: dict[str, Any], ordinal: int, element: str) -> float | None:
        rates = dosage.get("doseAndRate") or ()
        if not rates:
            return None
        rate = rates[0]
        if "doseRange" in rate:
            raise self.error(ordinal, element + ".doseAndRate[0].doseRange", "a dose range is "
                             "not a dose: give doseQuantity", "bad_type", field="dose_mg_per_day")
        q = rate.get("doseQuantity")
        if q is None:
            return None
        qe = element + ".doseAndRate[0].doseQuantity"
        v = q.get("value")
        if v is None:
            return None
        if type(v) not in _NUMBER:
            raise self.error(ordinal, qe + ".value", f"{v!r} is not a number", "bad_type",
                             field="dose_mg_per_day")
        unit = q.get("code") if q.get("system") == C.UCUM else q.get("unit", q.get("code"))
        folded = unit.strip().lower().replace("µ", "u").replace("mcg", "ug") if isinstance(
            unit, str) else "mg"
        if folded in ("mg/d", "mg/day"):
            return v  # type: ignore[no-any-return]
        conv = C.UNITS["dose"][1].get(folded)
        if conv is None:
            raise self.error(ordinal, qe + ".code", f"unit {unit!r} cannot be converted to mg "
                             "(accepted: mg/d, mg, g, ug)", "bad_unit", field="dose_mg_per_day")
        repeat = (dosage.get("timing") or {}).get("repeat")
        if not repeat or repeat.get("period") is None:
            self.warnings.add(f"{' '.join(self.describe(ordinal))} {qe}: a dose in {unit} "
                              "without timing.repeat: dose_mg_per_day left empty")
            return None
        frequency = repeat.get("frequency", 1)
        period = repeat["period"]
        unit_p = repeat.get("periodUnit")
        if type(frequency) is not int or type(period) not in _NUMBER or period <= 0:
            raise self.error(ordinal, element + ".timing.repeat", "frequency and period must "
                             "be positive numbers", "bad_type", field="dose_mg_per_day")
        per_day = {"d": 1.0, "h": 1 / 24, "wk": 7.0}.get(unit_p)
        if per_day is None:
            raise self.error(ordinal, element + ".timing.repeat.periodUnit", f"{unit_p!r}: "
                             "a daily dose needs a period in h, d or wk", "bad_unit",
                             field="dose_mg_per_day")
        dose: float = conv(v) * frequency / period
        return dose if per_day == 1.0 else dose / per_day

    def _procedure(self, res: dict[str, Any], ordinal: int) -> None:
        if self._status_skipped(res, "Procedure"):
            return
        code = res.get("code")
        if not any(k == C.TRANSPLANT for k in _codings(code)):
            self.warnings.count("{n} Procedures with code " + _first_code(code) + " ignored")
            return
        if res.get("performedDateTime") is not None:
            date = self._date(res["performedDateTime"], ordinal, "performedDateTime")
        elif (res.get("performedPeriod") or {}).get("start") is not None:
            date = self._date(res["performedPeriod"]["start"], ordinal, "performedPeriod.start")
        else:
            raise self.error(ordinal, "performed[x]", "a transplant needs its date",
                             "missing_field", field="date")
        self._put(self._subject(res, ordinal),
                  _Item(ordinal, "event", date, {"kind": "transplant", "note": _note(res),
                                                 "detail": _category_text(res)},
                        {"kind": "code", "detail": "category"}, (res.get("id"), None)))

    # -- records --------------------------------------------------------------------------------

    def check_references(self) -> None:
        """Every mapped resource's subject names a Patient of the input (else refused)."""
        for key in [*self.spill.index, *self.items, *self.conditions]:
            if key not in self.patient_of:
                ordinal, element = self.first_ref[key]
                raise self.error(ordinal, element, f"reference {key!r} names no Patient in "
                                 "the input", "missing_field", field="id")

    def records(self, on_error: OnError | None = None) -> Iterator[PatientRecord]:
        """The records, in the order of the Patient resources."""
        self.check_references()
        keys_of: dict[int, list[str]] = {}
        for key, index in self.patient_of.items():
            keys_of.setdefault(index, []).append(key)
        seen: dict[str, int] = {}
        try:
            for index, pat in enumerate(self.patients):
                try:
                    if pat.id in seen:
                        raise self.error(pat.ordinal, "identifier", f"patient id {pat.id!r} "
                                         "appears more than once", "duplicate", field="id",
                                         patient=pat.id)
                    seen[pat.id] = index
                    yield self._record(pat, keys_of.get(index, []))
                except InputError as exc:
                    if on_error is None:
                        raise
                    on_error(exc)
        finally:
            self.spill.close()

    def _record(self, pat: _Patient, keys: list[str]) -> PatientRecord:
        items: list[Stored] = []
        conditions: list[_Condition] = []
        for key in keys:
            if key in self.spill.index:
                items.extend(self.spill.load(key))  # spilled first: they came first
            items.extend(self.items.get(key, ()))
            conditions.extend(self.conditions.get(key, ()))
        if len(keys) > 1:
            items.sort(key=lambda it: it[0])
            conditions.sort(key=lambda c: c.ordinal)
        build = _Build(self, pat)
        build.diagnosis(conditions)
        # The loop over ~400 items a patient, the common case inline: a lab value joining
        # its day's blood count, marrow or chemistry (build.add has the rest, and the checks).
        groups = build.groups
        linking = bool(build.evidence)
        ev_ids = build.evidence_ids
        add = build.add
        for item in items:
            # Index access: an item is an _Item or a plain tuple of its layout.
            kind, date = item[1], item[2]
            if kind not in _GROUPED or date is None or (linking and kind != "chemistry" and (
                    item[5][0] in ev_ids or item[5][1] is not None)):
                add(item)  # not a lab value, or perhaps a diagnosis value (Condition.evidence)
                continue
            group = groups.get((date, kind))
            item_values = item[3]
            if group is None:
                # The item's values dict becomes the group's (each item has its own).
                groups[(date, kind)] = (item[0], item_values, [item])
                continue
            values = group[1]
            if not values.keys().isdisjoint(item_values):
                for f in item_values:
                    if f in values:
                        build.twice(f, item, group[2])
            values.update(item_values)
            group[2].append(item)
        return build.validate()


class _Build:
    """One patient's record dict and where each of its values came from."""

    def __init__(self, reader: Reader, pat: _Patient) -> None:
        self.reader = reader
        self.pat = pat
        self.dx: dict[str, Any] | None = None
        self.dx_src: dict[str, Src] = {}
        self.evidence: frozenset[str] = frozenset()
        self.evidence_ids: frozenset[str] = frozenset()
        self.groups: dict[tuple[str | None, str], tuple[int, dict[str, Any], list[Stored]]] = {}
        self.singles: list[tuple[str | None, str, int, dict[str, Any], list[Stored]]] = []
        self.ms: list[_Item] = []
        self.mr: list[_Item] = []
        self.events: list[_Item] = []
        self.condition: _Condition | None = None
        self.src_ids: dict[int, Any] = {}  # a diagnosis value's resource ordinal -> its id
        self.chosen: list[_Item] = []  # the therapy lines, in order
        self.event_items: list[_Item] = []  # the events, in order

    def diagnosis(self, conditions: list[_Condition]) -> None:
        chosen = next((c for c in conditions if c.primary), None)
        if chosen is None:
            chosen = next((c for c in conditions if c.disease in ("CML", "AML")), None)
        if chosen is None:
            return
        self.condition = chosen
        if len(conditions) > 1:
            self.reader.warnings.add(f"patient {cut(self.pat.id)}: {len(conditions) - 1} more "
                                     "diagnosis Condition(s) ignored")
        dx: dict[str, Any] = {}
        if chosen.date is not None:
            dx["date"] = chosen.date
            self.dx_src["date"] = (chosen.ordinal, "onset[x]")
        if chosen.disease is not None:
            dx["disease"] = chosen.disease
            self.dx_src["disease"] = (chosen.ordinal, "code")
        if chosen.phase is not None:
            dx["phase"] = chosen.phase
            self.dx_src["phase"] = (chosen.ordinal, "stage[0].summary")
        self.dx_src[""] = (chosen.ordinal, "")
        self.dx = dx
        self.evidence = frozenset(chosen.evidence)
        self.evidence_ids = frozenset(k[12:] for k in chosen.evidence
                                      if k.startswith("Observation/"))

    def add(self, stored: Stored) -> None:
        item = stored if type(stored) is _Item else _Item._make(stored)
        kind = item.kind
        if self.evidence and kind in _DX_KINDS and self._linked(item):
            if self._dx_value(item):
                return
        elif kind in _DX_ONLY:
            self.reader.warnings.count("{n} " + kind + " Observations not linked to the "
                                       "diagnosis Condition (evidence) ignored")
            return
        if kind in ("ms", "mr"):
            (self.ms if kind == "ms" else self.mr).append(item)
            return
        if kind in ("event", "death"):
            if item.date is None:
                raise self.reader.error(item.ordinal, "effective[x]", "an event needs its date",
                                        "missing_field", field="date", patient=self.pat.id)
            self.events.append(item)
            return
        if item.date is None:
            raise self.reader.error(item.ordinal, "effective[x]", "an observation needs its "
                                    "date (only diagnosis values may go without)",
                                    "missing_field", field="date", patient=self.pat.id)
        if kind in _GROUPED:
            gkey = (item.date, kind)
            group = self.groups.get(gkey)
            if group is None:
                self.groups[gkey] = (item.ordinal, item.values, [item])
                return
            _, values, members = group
            for f in item.values:
                if f in values:
                    self.twice(f, item, members)
            values.update(item.values)
            members.append(item)
            return
        self.singles.append((item.date, kind, item.ordinal, item.values, [item]))

    def _linked(self, item: _Item) -> bool:
        """Whether the diagnosis Condition lists the Observation as its evidence."""
        fid, url = item.keys if len(item.keys) == 2 else (None, None)
        if fid is not None and fid in self.evidence_ids:
            return True
        return url is not None and ref_key(url) in self.evidence

    def twice(self, field: str, item: Stored, members: list[Stored]) -> None:
        """Warn that ``field`` is given twice on one day (the later ``item`` wins)."""
        # The elements, not the values: the first member's values are the group's.
        earlier = next(m for m in reversed(members) if field in m[4])
        file, where = self.reader.describe(earlier[0])
        nfile, nwhere = self.reader.describe(item[0])
        self.reader.warnings.add(
            f"patient {cut(self.pat.id)}: {field} on {item[2]} given twice ({file} {where}; "
            f"{nfile} {nwhere}): the later one is used")

    def _dx_value(self, item: _Item) -> bool:
        """Take a diagnosis-linked Observation's values into the diagnosis (False: it is a
        follow-up karyotype too, or not a diagnosis field)."""
        assert self.dx is not None
        kind, values = item.kind, item.values
        self.src_ids[item.ordinal] = item.keys[0] if item.keys else None
        if kind == "extramedullary":
            self.dx["extramedullary"] = values["present"]
            self.dx_src["extramedullary"] = (item.ordinal, "valueBoolean")
            return True
        if kind == "aml_genetics":
            genetics = self.dx.setdefault("genetics", {})
            genetics.update(values["genetics"])
            self.dx_src["genetics"] = (item.ordinal, "component")
            return True
        if kind == "aml_mutation":
            genetics = self.dx.setdefault("genetics", {})
            genetics.setdefault("mutations", []).append(values["mutation"])
            self.dx_src.setdefault("genetics", (item.ordinal, "component"))
            return True
        if kind == "cytogenetics":
            if "aca" in values:
                self.dx["aca"] = list(values["aca"])
                self.dx_src["aca"] = (item.ordinal, item.elements["aca"])
            return not any(f in values for f in ("ph_pos", "metaphases", "ph_pct"))
        taken = False
        for f, v in values.items():
            if f in _DX_FIELDS:
                self.dx[f] = v
                self.dx_src[f] = (item.ordinal, item.elements[f])
                taken = True
        return taken

    def _therapy(self) -> tuple[list[dict[str, Any]], list[tuple[int, dict[str, str]]]]:
        chosen = self.ms
        if self.ms and self.mr:
            self.reader.warnings.count("{n} MedicationRequest resources ignored (their patient "
                                       "has MedicationStatements)")
        elif self.mr:
            chosen = self.mr
        self.chosen = chosen
        out = []
        for it in chosen:
            out.append({k: v for k, v in it.values.items() if v is not None})
        return out, [(it.ordinal, it.elements) for it in chosen]

    def _events(self) -> tuple[list[dict[str, Any]], list[int]]:
        pat = self.pat
        deaths = [e for e in self.events if e.kind == "death"]
        events = [e for e in self.events if e.kind != "death"]
        if pat.deceased is not None and not any(d.date == pat.deceased for d in deaths):
            deaths.append(_Item(pat.ordinal, "death", pat.deceased, {"kind": "death"},
                                {"date": "deceasedDateTime"}))
        events.extend(deaths)
        events.sort(key=lambda e: (e.date or "", C.EVENT_RANK.get(e.values["kind"], 9),
                                   e.ordinal))
        self.event_items = events
        out = []
        for e in events:
            d = {"date": e.date}
            d.update((k, v) for k, v in e.values.items() if v is not None)
            out.append(d)
        return out, [e.ordinal for e in events]

    def _input_ids(self, rows: list[tuple[Any, ...]]) -> InputIds:
        """The input resource id behind each part of the record (see :data:`InputIds`)."""
        ids: InputIds = {}

        def put(key: tuple[Any, ...], rid: Any) -> None:
            rid = _fhir_id(rid)
            if rid is not None:
                ids[key] = rid

        put(("patient",), next((k[8:] for k in self.pat.keys if k.startswith("Patient/")),
                               None))
        if self.condition is not None:
            put(("condition",), self.condition.id)
        for f, (ordinal, _) in self.dx_src.items():
            if f not in ("", "date", "disease", "phase"):
                put(("dx", f), self.src_ids.get(ordinal))
        for n, row in enumerate(rows):
            kind, members = row[5], row[4]
            if kind in _GROUPED:
                for m in members:
                    for f in m[4]:
                        put(("obs", n, f.removesuffix("_lln").removesuffix("_uln")), m[5][0])
            elif members and members[0][5]:
                put(("obs", n), members[0][5][0])
        for n, it in enumerate(self.chosen):
            put(("therapy", n), it.keys[0] if it.keys else None)
        for n, it in enumerate(self.event_items):
            put(("event", n), it.keys[0] if it.keys else None)
        return ids

    def validate(self) -> PatientRecord:
        pat = self.pat
        rows: list[tuple[str | None, int, int, dict[str, Any], list[Stored], str]] = []
        for (date, kind), (ordinal, values, src) in self.groups.items():
            rows.append((date, C.KIND_RANK[kind], ordinal, values, src, kind))
        for date, kind, ordinal, values, src in self.singles:
            rows.append((date, C.KIND_RANK[kind], ordinal, values, src, kind))
        rows.sort(key=lambda r: (r[0] or "", r[1], r[2]))
        observations = []
        for date, _, _, values, _, kind in rows:
            obs = {"date": date, "kind": kind}
            obs.update(values)
            observations.append(obs)
        therapy, therapy_src = self._therapy()
        events, event_src = self._events()
        data: dict[str, Any] = {"id": pat.id}
        if pat.sex is not None:
            data["sex"] = pat.sex
        if pat.birth is not None:
            data["birth_date"] = pat.birth
        if self.dx is not None:
            data["diagnosis"] = self.dx
        data["therapy"] = therapy
        data["observations"] = observations
        data["events"] = events
        try:
            record = PatientRecord.model_validate(
                data, context={"today": self.reader.today, "max_text": self.reader.max_text})
            if self.reader.ids is not None:
                self.reader.ids[record.id] = self._input_ids(rows)
            return record
        except ValidationError as exc:
            places: list[Src] = [(pat.ordinal, "")]
            prov: dict[tuple[str | int, ...], tuple[str, int]] = {(): ("", 0)}

            def put(loc: tuple[str | int, ...], src: Src) -> None:
                prov[loc] = ("", len(places))
                places.append(src)

            put(("sex",), (pat.ordinal, "gender"))
            put(("birth_date",), (pat.ordinal, "birthDate"))
            if self.dx is not None:
                put(("diagnosis",), self.dx_src[""])
                for f, s in self.dx_src.items():
                    if f:
                        put(("diagnosis", f), s)
            for i, row in enumerate(rows):
                put(("observations", i), (row[2], ""))
                put(("observations", i, "date"), (row[2], "effective[x]"))
                for member in row[4]:
                    for f, e in member[4].items():
                        put(("observations", i, f), (member[0], e))
            for i, (ordinal, elements) in enumerate(therapy_src):
                put(("therapy", i), (ordinal, ""))
                for f, e in elements.items():
                    put(("therapy", i, f), (ordinal, e))
            for i, ordinal in enumerate(event_src):
                put(("events", i), (ordinal, ""))
            err = to_input_error(exc, data, file="", provenance=prov)
            ordinal, element = places[err.row or 0]
            raise self.reader.error(ordinal, element, err.message, err.code, field=err.field,
                                    patient=pat.id) from None


_OBS_SKIP = C.SKIPPED_STATUS["Observation"]
#: Value codes with what the fast path needs: kind, field, accepted UCUM units, elements.
_FAST: dict[tuple[Any, Any], tuple[str, str, dict[str, C.Conv], dict[str, str]]] = {
    key: (kind, field, C.UNITS[field][1] if field in C.UNITS else {},
          {field: "valueQuantity.value"})
    for key, (kind, field) in C.VALUE_CODES.items()}
_GROUPED = frozenset({"blood", "marrow", "chemistry"})
_DX_ONLY = frozenset({"age", "transcript", "aml_type", "aml_status", "ecog", "aml_genetics",
                      "aml_mutation"})
_DX_KINDS = frozenset({"blood", "marrow", "cytogenetics", "extramedullary", *_DX_ONLY})
_DX_FIELDS = frozenset((*C.DIAGNOSIS_VALUES, "age", "transcript", "aml_type", "status",
                        "ecog"))
#: Fields whose unit may be given as free text, folded as the CSV form folds units.
_TEXT_UNITS = frozenset(C.UNITS) - {"dose"}


def _refuse(unit: str) -> float:
    raise UnitError(f"unit {unit!r} is not known")


_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")


def _category_text(res: dict[str, Any]) -> Any:
    """A Procedure's detail: ``category.text`` (category CML#event-detail)."""
    category = res.get("category")
    if isinstance(category, dict) and any(k == C.EVENT_DETAIL for k in _codings(category)):
        return category.get("text")
    return None


def _fhir_id(value: Any) -> str | None:
    """``value`` if it is a valid FHIR resource id, else None."""
    return value if isinstance(value, str) and _ID.fullmatch(value) else None


def _disease(concept: Any) -> str | None:
    for system, code in _codings(concept):
        if not isinstance(code, str):
            continue
        if system == C.SCT:
            if code == C.CML_SCT[1]:
                return "CML"
            if code == C.AML_SCT[1]:
                return "AML"
        elif system in (C.ICD, "http://hl7.org/fhir/sid/icd-10"):
            if code in ("C92.1", "C92.10", "C92.11", "C92.12"):
                return "CML"
            if code.startswith("C92.0"):
                return "AML"
    return None
