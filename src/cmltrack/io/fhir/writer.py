"""Patient records -> FHIR R4 resources, a Bundle or a Bulk Data (NDJSON) folder (spec/fhir.md).

Resource ids are deterministic (``<p>-dx``, ``<p>-dx-<field>``, ``<p>-ms-<n>``,
``<p>-obs-<n>-<field>``, ``<p>-ev-<n>``), so the same records give the same bytes; reading what
is written gives back every field of the record (see :func:`canonical` for the equivalences).
Writers are atomic, like the other forms' writers.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import orjson

from cmltrack.domain.records import (
    BloodCount,
    Chemistry,
    Cytogenetics,
    Event,
    Extramedullary,
    Fish,
    Marrow,
    Mrd,
    Mutation,
    PatientRecord,
    Pcr,
)
from cmltrack.errors import InputError
from cmltrack.io._atomic import atomic_files
from cmltrack.io.fhir import codes as C

_FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
_SIMPLE_MUTATION = re.compile(r"^([A-Z])(\d+)([A-Z])$")
#: The resource types the writer produces, in the order a Bulk folder lists them.
RESOURCE_TYPES = ("Patient", "Condition", "Observation", "MedicationStatement", "Procedure")

_DISEASE_DISPLAY = {"CML": "Chronic myeloid leukemia", "AML": "Acute myeloid leukemia"}


def patient_fhir_id(record_id: str) -> str:
    """``Patient.id`` for a record id: the id itself where FHIR allows it, else ``p-`` and the
    first 16 hex digits of its SHA-256."""
    if _FHIR_ID.match(record_id):
        return record_id
    return "p-" + hashlib.sha256(record_id.encode()).hexdigest()[:16]


def _prefix(pid: str) -> str:
    # Resource ids are the Patient's id plus a suffix, and an id may have 64 characters: a
    # long Patient id is shortened to its hash for the other resources.
    return pid if len(pid) <= 40 else "p-" + hashlib.sha256(pid.encode()).hexdigest()[:16]


def full_url(rtype: str, rid: str) -> str:
    """The Bundle entry's ``fullUrl``: ``urn:uuid:`` + the UUID5 of ``Type/id``."""
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'{rtype}/{rid}')}"


def _coding(key: tuple[str, str], display: str | None = None) -> dict[str, Any]:
    d: dict[str, Any] = {"system": key[0], "code": key[1]}
    shown = display or C.DISPLAY.get(key)
    if shown:
        d["display"] = shown
    return d


def _concept(key: tuple[str, str], text: str | None = None) -> dict[str, Any]:
    d: dict[str, Any] = {"coding": [_coding(key)]}
    if text:
        d["text"] = text
    return d


def quantity(value: float, ucum: str) -> dict[str, Any]:
    """A UCUM Quantity."""
    return {"value": value, "unit": C.UNIT_TEXT.get(ucum, ucum), "system": C.UCUM, "code": ucum}


_LAB = [{"coding": [{"system": C.OBS_CATEGORY, "code": "laboratory"}]}]
_EXAM = [{"coding": [{"system": C.OBS_CATEGORY, "code": "exam"}]}]
_ABSENT = {"coding": [{"system": C.DATA_ABSENT, "code": "not-performed"}]}


class _Writer:
    """One record's resources."""

    def __init__(self, record: PatientRecord) -> None:
        self.record = record
        self.pid = patient_fhir_id(record.id)
        self.p = _prefix(self.pid)
        self.subject = {"reference": f"Patient/{self.pid}"}
        self.out: list[dict[str, Any]] = []
        #: Observation ids written for record observation n (the assessment links to them).
        self.obs_ids: dict[int, list[str]] = {}
        self.dx_ids: list[str] = []
        #: Each resource's id by what it holds, keyed as the reader keys the input ids
        #: (cmltrack.io.fhir.reader.InputIds), so FHIR input keeps its own ids (use_ids).
        self.keyed: dict[tuple[Any, ...], str] = {("patient",): self.pid}

    def use_ids(self, ids: dict[tuple[Any, ...], str]) -> None:
        """Give each resource the id of the input resource it came from (``ids``: the FHIR
        reader's InputIds), and every reference the same; a resource keeps the id it was
        given when its input had none, or when the input's would be taken twice."""
        generated = {res["id"]: res["resourceType"] for res in self.out}
        new: dict[str, str] = {}
        taken = {(t, i) for i, t in generated.items()}
        for key, rid in self.keyed.items():
            target = ids.get(key)
            rtype = generated.get(rid)
            if target is None or rtype is None or target == rid or (rtype, target) in taken:
                continue
            taken.add((rtype, target))
            new[rid] = target
        if not new:
            return
        seen: set[int] = set()

        def walk(value: Any) -> None:
            if isinstance(value, dict):
                if id(value) in seen:
                    return
                seen.add(id(value))
                ref = value.get("reference")
                if isinstance(ref, str) and "/" in ref:
                    rtype, rid = ref.split("/", 1)
                    if rid in new and generated.get(rid) == rtype:
                        value["reference"] = f"{rtype}/{new[rid]}"
                for v in value.values():
                    walk(v)
            elif isinstance(value, list):
                for v in value:
                    walk(v)

        for res in self.out:
            walk(res)
            res["id"] = new.get(res["id"], res["id"])
        self.pid = new.get(self.pid, self.pid)
        self.obs_ids = {n: [new.get(i, i) for i in lst] for n, lst in self.obs_ids.items()}
        self.dx_ids = [new.get(i, i) for i in self.dx_ids]

    def observation(self, rid: str, code: tuple[str, str], date: str | None,
                    category: list[dict[str, Any]] | None = _LAB,
                    **fields: Any) -> dict[str, Any]:
        res: dict[str, Any] = {"resourceType": "Observation", "id": rid, "status": "final"}
        if category:
            res["category"] = category
        res["code"] = _concept(code)
        res["subject"] = self.subject
        if date is not None:
            res["effectiveDateTime"] = date
        res.update(fields)
        self.out.append(res)
        return res

    def value(self, rid: str, field: str, date: str | None, values: dict[str, Any],
              with_limits: bool) -> dict[str, Any] | None:
        """One lab value's Observation, with its reference limits (None: nothing to write)."""
        v = values.get(field)
        fields: dict[str, Any] = {}
        if field in C.BOOLEAN_FIELDS or field in C.INTEGER_FIELDS:
            if v is None:
                return None
            fields["valueBoolean" if field in C.BOOLEAN_FIELDS else "valueInteger"] = v
        else:
            ucum = C.UNITS[field][0]
            if v is not None:
                fields["valueQuantity"] = quantity(v, ucum)
            limits = C.LIMITS.get(field) if with_limits else None
            if limits is not None:
                rr: dict[str, Any] = {}
                lo, hi = values.get(field + "_lln"), values.get(field + "_uln")
                if limits[0] and lo is not None:
                    rr["low"] = quantity(lo, ucum)
                if limits[1] and hi is not None:
                    rr["high"] = quantity(hi, ucum)
                if rr:
                    if v is None:
                        fields["dataAbsentReason"] = _ABSENT
                    fields["referenceRange"] = [rr]
            if not fields:
                return None
        category = _EXAM if field == "spleen_cm" else _LAB
        return self.observation(rid, C.FIELD_CODE[field], date, category, **fields)

    def patient(self) -> None:
        r = self.record
        res: dict[str, Any] = {
            "resourceType": "Patient", "id": self.pid,
            "identifier": [{"system": C.PATIENT_ID_SYSTEM, "value": r.id}],
        }
        if r.sex is not None:
            res["gender"] = "female" if r.sex == "F" else "male"
        if r.birth_date is not None:
            res["birthDate"] = r.birth_date.isoformat()
        deaths = [e for e in r.events if e.kind == "death"]
        if deaths:
            res["deceasedDateTime"] = deaths[0].date.isoformat()
        self.out.append(res)

    def diagnosis(self) -> None:
        dx = self.record.diagnosis
        if dx is None:
            return
        date = dx.date.isoformat() if dx.date is not None else None
        start = len(self.out)
        values = dx.model_dump(exclude_none=True)
        for field in C.DIAGNOSIS_VALUES:
            if field in values:
                rid = f"{self.p}-dx-{field.replace('_', '-')}"
                if self.value(rid, field, date, values, False) is not None:
                    self.keyed[("dx", field)] = rid
        if dx.age is not None:
            self.keyed[("dx", "age")] = f"{self.p}-dx-age"
            self.observation(f"{self.p}-dx-age", C.AGE, date, None,
                             valueQuantity=quantity(dx.age, "a"))
        if dx.transcript is not None:
            self.keyed[("dx", "transcript")] = f"{self.p}-dx-transcript"
            self.observation(f"{self.p}-dx-transcript", C.TRANSCRIPT, date, _LAB,
                             valueCodeableConcept=_concept((C.CML, dx.transcript),
                                                           dx.transcript))
        if dx.aca:
            self.keyed[("dx", "aca")] = f"{self.p}-dx-aca"
            self.observation(f"{self.p}-dx-aca", C.CYTOGENETICS, date, _LAB, component=[
                {"code": _concept((C.CML, "aca")), "valueString": a} for a in dx.aca])
        self._aml_diagnosis(date)
        evidence = self.out[start:]
        self.dx_ids = [o["id"] for o in evidence]
        code: dict[str, Any]
        if dx.disease == "CML":
            code = {"coding": [_coding(C.CML_SCT, _DISEASE_DISPLAY["CML"]),
                               _coding(C.CML_ICD, "Chronic myeloid leukemia, BCR/ABL-positive, "
                                       "not having achieved remission")], "text": "CML"}
        elif dx.disease == "AML":
            code = {"coding": [_coding(C.AML_SCT, _DISEASE_DISPLAY["AML"])], "text": "AML"}
        else:
            code = {"text": dx.disease}
        self.keyed[("condition",)] = f"{self.p}-dx"
        cond: dict[str, Any] = {
            "resourceType": "Condition", "id": f"{self.p}-dx",
            "clinicalStatus": {"coding": [{"system": C.CONDITION_CLINICAL, "code": "active"}]},
            "category": [_concept(C.PRIMARY_DIAGNOSIS)],
            "code": code, "subject": self.subject,
        }
        if date is not None:
            cond["onsetDateTime"] = date
        if dx.phase is not None:
            cond["stage"] = [{"summary": _concept((C.CML, dx.phase)),
                              "type": _concept(C.PHASE_TYPE)}]
        if evidence:
            cond["evidence"] = [{"detail": [{"reference": f"Observation/{o['id']}"}
                                            for o in evidence]}]
        self.out.insert(start, cond)

    def _aml_diagnosis(self, date: str | None) -> None:
        """The AML diagnosis's type, status, ECOG, extramedullary disease and genetics, each an
        Observation listed in the Condition's evidence (spec/aml.md section 1)."""
        dx = self.record.diagnosis
        assert dx is not None
        p = self.p

        def one(key: str, code: tuple[str, str], **fields: Any) -> None:
            self.keyed[("dx", key)] = f"{p}-dx-{key.replace('_', '-')}"
            self.observation(f"{p}-dx-{key.replace('_', '-')}", code, date, None, **fields)

        if dx.aml_type is not None:
            one("aml_type", C.AML_TYPE, valueCodeableConcept=_concept((C.CML, dx.aml_type)))
        if dx.status is not None:
            one("status", C.AML_STATUS, valueCodeableConcept=_concept((C.CML, dx.status)))
        if dx.ecog is not None:
            one("ecog", C.ECOG, valueInteger=dx.ecog)
        if dx.extramedullary is not None:
            one("extramedullary", C.EXTRAMEDULLARY, valueBoolean=dx.extramedullary)
        g = dx.genetics
        if g is None:
            return
        comps: list[dict[str, Any]] = []
        if g.karyotype is not None:
            comps.append({"code": _concept(C.KARYOTYPE), "valueString": g.karyotype})
        if g.karyotype_done is not None:
            comps.append({"code": _concept(C.KARYOTYPE_DONE), "valueBoolean": g.karyotype_done})
        comps += [{"code": _concept(C.FINDING), "valueCodeableConcept": _concept((C.CML, f), f)}
                  for f in g.findings]
        comps += [{"code": _concept(C.MUTATIONS_TESTED), "valueString": t}
                  for t in g.mutations_tested]
        # The genetics Observation is written even when empty: it says genetics were given.
        one("genetics", C.AML_GENETICS, **({"component": comps} if comps else {}))
        for i, m in enumerate(g.mutations):
            mcomps: list[dict[str, Any]] = []
            if m.vaf is not None:
                mcomps.append({"code": _concept(C.VAF), "valueQuantity": quantity(m.vaf, "%")})
            if m.allelic_ratio is not None:
                mcomps.append({"code": _concept(C.ALLELIC_RATIO),
                               "valueQuantity": quantity(m.allelic_ratio, "1")})
            if m.bzip_inframe is not None:
                mcomps.append({"code": _concept(C.BZIP_INFRAME), "valueBoolean": m.bzip_inframe})
            if m.biallelic is not None:
                mcomps.append({"code": _concept(C.BIALLELIC), "valueBoolean": m.biallelic})
            fields: dict[str, Any] = {"valueCodeableConcept": {"text": m.gene}}
            if mcomps:
                fields["component"] = mcomps
            self.observation(f"{p}-dx-aml-mutation-{i}", C.AML_MUTATION, date, None, **fields)

    def therapy(self) -> None:
        dx = self.record.diagnosis
        for n, line in enumerate(self.record.therapy):
            concept: dict[str, Any] = {"text": line.drug}
            rx = C.RXNORM.get(line.drug)
            if rx is not None:
                concept = {"coding": [{"system": C.RX, "code": rx, "display": line.drug}],
                           "text": line.drug}
            period = {"start": line.start.isoformat()}
            if line.end is not None:
                period["end"] = line.end.isoformat()
            self.keyed[("therapy", n)] = f"{self.p}-ms-{n}"
            res: dict[str, Any] = {
                "resourceType": "MedicationStatement", "id": f"{self.p}-ms-{n}",
                "status": "active" if line.end is None else "completed",
            }
            if line.reason_end is not None:
                res["statusReason"] = [{"coding": [{"system": C.CML, "code": line.reason_end}],
                                        "text": line.reason_end}]
            res["medicationCodeableConcept"] = concept
            res["subject"] = self.subject
            res["effectivePeriod"] = period
            if dx is not None and dx.disease in ("CML", "AML"):
                res["reasonCode"] = [_concept(C.CML_SCT if dx.disease == "CML" else C.AML_SCT)]
            if line.dose_mg_per_day is not None:
                res["dosage"] = [{
                    "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}},
                    "doseAndRate": [{"doseQuantity": quantity(line.dose_mg_per_day, "mg")}],
                }]
            self.out.append(res)

    def observations(self) -> None:
        for n, obs in enumerate(self.record.observations):
            date = obs.date.isoformat()
            start = len(self.out)
            if isinstance(obs, BloodCount | Marrow | Chemistry):
                values = obs.model_dump(exclude_none=True)
                for field in type(obs).model_fields:
                    if field in C.FIELD_CODE:
                        rid = f"{self.p}-obs-{n}-{field.replace('_', '-')}"
                        if self.value(rid, field, date, values, True) is not None:
                            self.keyed[("obs", n, field)] = rid
            elif isinstance(obs, Pcr):
                self.pcr(n, obs, date)
            elif isinstance(obs, Cytogenetics):
                comps: list[dict[str, Any]] = []
                if obs.ph_pos is not None:
                    comps.append({"code": _concept((C.CML, "ph-pos-metaphases")),
                                  "valueInteger": obs.ph_pos})
                if obs.metaphases is not None:
                    comps.append({"code": _concept((C.CML, "metaphases-analysed")),
                                  "valueInteger": obs.metaphases})
                if obs.ph_pct is not None:
                    comps.append({"code": _concept((C.CML, "ph-pct")),
                                  "valueQuantity": quantity(obs.ph_pct, "%")})
                comps += [{"code": _concept((C.CML, "aca")), "valueString": a} for a in obs.aca]
                comps += [{"code": _concept((C.CML, "aca-ph-neg")), "valueString": a}
                          for a in obs.aca_ph_neg]
                self.observation(f"{self.p}-obs-{n}-cytogenetics", C.CYTOGENETICS, date,
                                 component=comps)
            elif isinstance(obs, Fish):
                fields: dict[str, Any] = {}
                if obs.fish_pct is not None:
                    fields["valueQuantity"] = quantity(obs.fish_pct, "%")
                comps = []
                if obs.pos_nuclei is not None:
                    comps.append({"code": _concept((C.CML, "fish-pos-nuclei")),
                                  "valueInteger": obs.pos_nuclei})
                if obs.nuclei is not None:
                    comps.append({"code": _concept((C.CML, "fish-nuclei-scored")),
                                  "valueInteger": obs.nuclei})
                if comps:
                    fields["component"] = comps
                self.observation(f"{self.p}-obs-{n}-fish", C.FISH, date, **fields)
            elif isinstance(obs, Mutation):
                self.mutation(n, obs, date)
            elif isinstance(obs, Mrd):
                self.mrd(n, obs, date)
            elif isinstance(obs, Extramedullary):
                comps = ([{"code": _concept(C.EXTRAMEDULLARY_SITE), "valueString": obs.site}]
                         if obs.site is not None else [])
                self.observation(f"{self.p}-obs-{n}-extramedullary", C.EXTRAMEDULLARY, date,
                                 None, valueBoolean=obs.present,
                                 **({"component": comps} if comps else {}))
            self.obs_ids[n] = [o["id"] for o in self.out[start:]]
            if not isinstance(obs, BloodCount | Marrow | Chemistry) and self.obs_ids[n]:
                self.keyed[("obs", n)] = self.obs_ids[n][0]

    def pcr(self, n: int, obs: Pcr, date: str) -> None:
        fields: dict[str, Any] = {}
        if obs.detected is False:
            fields["valueCodeableConcept"] = _concept(C.NOT_DETECTED, "not detected")
            fields["interpretation"] = [{"coding": [{"system": C.OI, "code": "ND"}]}]
        elif obs.bcr_abl1_is is not None:
            fields["valueQuantity"] = quantity(obs.bcr_abl1_is, "%")
        comps: list[dict[str, Any]] = []
        if obs.control_gene is not None:
            comps.append({"code": _concept(C.CONTROL_GENE), "valueCodeableConcept": {
                "coding": [{"system": C.HGNC, "code": C.CONTROL_GENES[obs.control_gene],
                            "display": obs.control_gene}], "text": obs.control_gene}})
        if obs.control_copies is not None:
            comps.append({"code": _concept(C.CONTROL_COPIES),
                          "valueQuantity": quantity(obs.control_copies, "{copies}")})
        if comps:
            fields["component"] = comps
        self.observation(f"{self.p}-obs-{n}-pcr", C.PCR, date, **fields)

    def mrd(self, n: int, obs: Mrd, date: str) -> None:
        comps: list[dict[str, Any]] = [{"code": _concept(C.MRD_METHOD),
                                        "valueCodeableConcept": _concept((C.CML, obs.method))}]
        if obs.target is not None:
            comps.append({"code": _concept(C.MRD_TARGET), "valueString": obs.target})
        if obs.tissue is not None:
            comps.append({"code": _concept(C.MRD_TISSUE),
                          "valueCodeableConcept": _concept((C.CML, obs.tissue))})
        if obs.value_pct is not None:
            comps.append({"code": _concept(C.MRD_VALUE),
                          "valueQuantity": quantity(obs.value_pct, "%")})
        result = C.POSITIVE if obs.result == "positive" else C.NEGATIVE
        self.observation(f"{self.p}-obs-{n}-mrd", C.MRD, date,
                         valueCodeableConcept=_concept(result, obs.result), component=comps)

    def mutation(self, n: int, obs: Mutation, date: str) -> None:
        comps: list[dict[str, Any]] = [{"code": _concept(C.GENE_STUDIED),
                                        "valueCodeableConcept": {"coding": [
                                            {"system": C.HGNC, "code": "HGNC:76",
                                             "display": "ABL1"}]}}]
        for m in obs.mutations:
            vc: dict[str, Any] = {"text": m}
            simple = _SIMPLE_MUTATION.match(m)
            if simple and simple.group(1) in C.AMINO_ACIDS and simple.group(3) in C.AMINO_ACIDS:
                hgvs = (f"p.{C.AMINO_ACIDS[simple.group(1)]}{simple.group(2)}"
                        f"{C.AMINO_ACIDS[simple.group(3)]}")
                vc = {"coding": [{"system": C.HGVS, "code": hgvs}], "text": m}
            comps.append({"code": _concept(C.VARIANT), "valueCodeableConcept": vc})
        found = C.PRESENT if obs.mutations else C.ABSENT
        self.observation(f"{self.p}-obs-{n}-mutation", C.MUTATION, date,
                         valueCodeableConcept=_concept(
                             found, "Present" if obs.mutations else "Absent"),
                         component=comps)

    def events(self) -> None:
        deaths = [e for e in self.record.events if e.kind == "death"]
        first_death = deaths[0] if deaths else None
        for n, ev in enumerate(self.record.events):
            rid = f"{self.p}-ev-{n}"
            before = len(self.out)
            self._event(ev, rid, first_death, deaths)
            if len(self.out) > before:
                self.keyed[("event", n)] = rid

    def _event(self, ev: Any, rid: str, first_death: Any, deaths: list[Any]) -> None:
        date = ev.date.isoformat()
        note = [{"text": ev.note}] if ev.note is not None else None
        extra: dict[str, Any] = {"note": note} if note else {}
        detail = ([{"code": _concept(C.EVENT_DETAIL), "valueString": ev.detail}]
                  if ev.detail is not None else [])
        if detail and ev.kind != "progression" and ev.kind != "transplant":
            extra["component"] = detail
        if ev.kind == "progression":
            if self.record.diagnosis is not None:
                extra["focus"] = [{"reference": f"Condition/{self.p}-dx"}]
            self.observation(rid, C.PROGRESSION, date, None,
                             valueCodeableConcept=_concept(C.WORSENED, "worsened"),
                             component=[{"code": _concept(C.PHASE_TYPE),
                                         "valueCodeableConcept": _concept(
                                             (C.CML, ev.phase or ""))}, *detail], **extra)
        elif ev.kind == "death":
            # Patient.deceasedDateTime holds the first death; a cause, a note, a second
            # death or one sharing the first's date is a death-cause Observation.
            if (ev is not first_death or ev.cause is not None or ev.note is not None
                    or ev.detail is not None or sum(d.date == ev.date for d in deaths) > 1):
                if ev.cause is not None:
                    extra["valueString"] = ev.cause
                self.observation(rid, C.DEATH_CAUSE, date, None, **extra)
        elif ev.kind == "transplant":
            res: dict[str, Any] = {"resourceType": "Procedure", "id": rid,
                                   "status": "completed", "code": _concept(C.TRANSPLANT),
                                   "subject": self.subject, "performedDateTime": date}
            if ev.detail is not None:
                res["category"] = {"coding": [{"system": C.CML, "code": C.EVENT_DETAIL[1]}],
                                   "text": ev.detail}
            res.update(extra)
            self.out.append(res)
        else:
            self.observation(rid, C.EVENT, date, None,
                             valueCodeableConcept=_concept((C.CML, ev.kind)), **extra)


def record_resources(record: PatientRecord) -> list[dict[str, Any]]:
    """The record as FHIR R4 resources (Patient first), as JSON-ready dicts."""
    return record_writer(record).out


def unmapped(record: PatientRecord) -> list[str]:
    """The record's values that have no FHIR form in contract v1 (paths, in record order)."""
    out: list[str] = []

    def check(part: str, where: str, model: Any) -> None:
        values = model.model_dump(exclude_none=True)
        mapped = C.MAPPED.get(part, frozenset())
        out.extend(f"{where}.{k}" for k, v in values.items() if k not in mapped and v != ())

    if record.diagnosis is not None:
        check("diagnosis", "diagnosis", record.diagnosis)
    for n, line in enumerate(record.therapy):
        check("therapy", f"therapy[{n}]", line)
    for n, obs in enumerate(record.observations):
        if obs.kind in C.MAPPED:
            check(obs.kind, f"observations[{n}]", obs)
        else:
            out.append(f"observations[{n}] (kind {obs.kind})")
    for n, ev in enumerate(record.events):
        check("death" if ev.kind == "death" else "event", f"events[{n}]", ev)
    return out


def record_writer(record: PatientRecord) -> _Writer:
    """The record's resources and the ids written for its diagnosis and observations.

    Raises InputError for a record holding values FHIR contract v1 has no place for (the AML
    extension's genetics, MRD, ...): written without them, it would not read back as itself.
    """
    missing = unmapped(record)
    if missing:
        shown = ", ".join(missing[:4]) + (f" and {len(missing) - 4} more" if len(missing) > 4
                                          else "")
        raise InputError(f"has values with no FHIR form in contract v1: {shown}",
                         code="unknown_field", patient=record.id,
                         field=missing[0].split(".")[-1].split(" ")[0])
    w = _Writer(record)
    w.patient()
    w.diagnosis()
    w.therapy()
    w.observations()
    w.events()
    return w


def bundle_entry(res: dict[str, Any]) -> dict[str, Any]:
    return {"fullUrl": full_url(res["resourceType"], res["id"]), "resource": res}


def records_bundle(records: Iterable[PatientRecord]) -> dict[str, Any]:
    """One Bundle ``collection`` holding every record's resources."""
    return {"resourceType": "Bundle", "type": "collection",
            "entry": [bundle_entry(r) for rec in records for r in record_resources(rec)]}


def write_fhir_bundle(records: Iterable[PatientRecord], path: str | Path) -> int:
    """Write one Bundle ``collection`` of every record, atomically; returns the count."""
    n = 0
    with atomic_files([Path(path)], newline="\n") as (fh,):
        fh.write('{"resourceType":"Bundle","type":"collection","entry":[')
        first = True
        for rec in records:
            for res in record_resources(rec):
                fh.write("\n" if first else ",\n")
                fh.write(orjson.dumps(bundle_entry(res)).decode())
                first = False
            n += 1
        fh.write("\n]}\n")
    return n


def write_fhir_ndjson(records: Iterable[PatientRecord], folder: str | Path) -> int:
    """Write a Bulk Data export folder (one ``<Type>.ndjson`` per resource type written),
    atomically: every file is complete or none is replaced. Returns the count of records."""
    root = Path(folder)
    root.mkdir(parents=True, exist_ok=True)
    targets = [root / f"{t}.ndjson" for t in RESOURCE_TYPES]
    used: set[str] = set()
    n = 0
    with atomic_files(targets, newline="\n") as files:
        by_type = dict(zip(RESOURCE_TYPES, files, strict=True))
        for rec in records:
            for res in record_resources(rec):
                by_type[res["resourceType"]].write(orjson.dumps(res).decode() + "\n")
                used.add(res["resourceType"])
            n += 1
    for t, target in zip(RESOURCE_TYPES, targets, strict=True):
        if t not in used:
            target.unlink()  # no resource of that type: no file, as a Bulk export does
    return n


def resources_lines(record: PatientRecord) -> Iterator[tuple[str, bytes]]:
    """(resource type, one NDJSON line) for each of the record's resources."""
    for res in record_resources(record):
        yield res["resourceType"], orjson.dumps(res) + b"\n"


def canonical(record: PatientRecord) -> PatientRecord:
    """The record as FHIR gives it back: the spec's equivalences applied (``detected: true``
    absent; undetected with 0 read as null; observations in date order, then blood, marrow,
    cytogenetics, fish, pcr, mutation, chemistry; events in date order, then the event table's
    order). A blood count, marrow or chemistry observation without a single value has no FHIR
    form (each value is one Observation): it is dropped, as null = absent."""
    obs = []
    for o in record.observations:
        if isinstance(o, BloodCount | Marrow | Chemistry) and not o.model_dump(
                exclude_none=True, exclude={"date", "kind"}):
            continue
        if isinstance(o, Pcr):
            if o.detected is True:
                o = o.model_copy(update={"detected": None})
            elif o.detected is False and o.bcr_abl1_is is not None:
                o = o.model_copy(update={"bcr_abl1_is": None})
        obs.append(o)
    order = sorted(range(len(obs)), key=lambda i: (obs[i].date, C.KIND_RANK[obs[i].kind], i))
    events = sorted(range(len(record.events)), key=lambda i: (
        record.events[i].date, C.EVENT_RANK[record.events[i].kind], i))
    evs: list[Event] = [record.events[i] for i in events]
    return record.model_copy(update={"observations": tuple(obs[i] for i in order),
                                     "events": tuple(evs)})
