"""FHIR R4 input (spec/fhir.md): Bundles and Bulk NDJSON read into the record the JSON form gives;
bad input refused naming the entry or line and the element; ignored input warned about."""

from __future__ import annotations

import copy
import datetime as dt
import gzip
import json
import warnings
from pathlib import Path
from typing import Any

import pytest

from cmltrack.cli.app import run
from cmltrack.domain.records import PatientRecord
from cmltrack.errors import InputError, InputWarning
from cmltrack.io import load_records, read_records
from cmltrack.io.fhir import records_from_bundle

TODAY = dt.date(2026, 1, 1)
LN, UCUM, CML = "http://loinc.org", "http://unitsofmeasure.org", \
    "https://cmltrack.org/fhir/CodeSystem/cmltrack"


def _q(value: Any, code: str, system: str | None = UCUM) -> dict[str, Any]:
    q: dict[str, Any] = {"value": value, "code": code}
    if system:
        q["system"] = system
    return q


def _obs(rid: str, code: str, *, system: str = LN, subject: str = "Patient/A",
         date: str | None = "2020-03-01", **fields: Any) -> dict[str, Any]:
    res: dict[str, Any] = {"resourceType": "Observation", "id": rid, "status": "final",
                           "code": {"coding": [{"system": system, "code": code}]},
                           "subject": {"reference": subject}}
    if date is not None:
        res["effectiveDateTime"] = date
    res.update(fields)
    return res


def _patient(pid: str = "A", **fields: Any) -> dict[str, Any]:
    return {"resourceType": "Patient", "id": pid, "gender": "female",
            "birthDate": "1960-01-02", **fields}


def _bundle(*resources: dict[str, Any], btype: str = "collection") -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": btype,
            "entry": [{"resource": r} for r in resources]}


def _read(bundle: dict[str, Any]) -> tuple[list[PatientRecord], list[str]]:
    return records_from_bundle(bundle, source="b.json", today=TODAY)


def _as_ndjson(tmp_path: Path, bundle: dict[str, Any]) -> Path:
    """The Bundle's resources as a Bulk folder: one file per type, in entry order."""
    folder = tmp_path / "bulk"
    folder.mkdir()
    for entry in bundle["entry"]:
        res = entry["resource"]
        with (folder / f"{res['resourceType']}.ndjson").open("a") as fh:
            fh.write(json.dumps(res) + "\n")
    return folder


def test_values_units_and_grouping() -> None:
    records, warns = _read(_bundle(
        _patient(),
        _obs("w", "6690-2", valueQuantity=_q(5.5, "10*3/uL"),
             referenceRange=[{"low": _q(4.0, "10*9/L"), "high": _q(10.0, "10*9/L")}]),
        _obs("p", "777-3", valueQuantity=_q(250000, "/uL")),
        _obs("h", "718-7", valueQuantity={"value": 124, "unit": "g/L"}),  # unit text, folded
        _obs("s", "32489-7", valueQuantity=_q(30, "mm")),
        _obs("alt", "1742-6", valueQuantity=_q(1.0, "ukat/L"),
             referenceRange=[{"low": _q(5, "U/L"), "high": _q(40, "U/L")}]),
        _obs("enc", "2345-7", valueQuantity=_q(5, "mmol/L")),
        {"resourceType": "Encounter", "id": "e1", "status": "finished"},
        {"resourceType": "Encounter", "id": "e2", "status": "finished"},
    ))
    (rec,) = records
    blood, chem = rec.observations
    assert blood.kind == "blood" and chem.kind == "chemistry"
    assert (blood.wbc, blood.wbc_lln, blood.wbc_uln) == (5.5, 4.0, 10.0)  # type: ignore[union-attr]
    assert blood.platelets == 250.0  # type: ignore[union-attr]
    assert blood.hemoglobin == 12.4  # type: ignore[union-attr]
    assert blood.spleen_cm == 3.0  # type: ignore[union-attr]
    # 1 ukat/L = 60 U/L; a lower limit of ALT is not a record field (ignored, not an error)
    assert (chem.alt, chem.alt_uln) == (60.0, 40)  # type: ignore[union-attr]
    assert rec.sex == "F" and rec.birth_date == dt.date(1960, 1, 2)
    assert "2 Encounter resources ignored" in warns
    assert "1 Observations with code http://loinc.org|2345-7 ignored" in warns


def test_undetected_forms_and_comparators() -> None:
    base = {"component": [
        {"code": {"coding": [{"system": CML, "code": "control-gene"}]},
         "valueCodeableConcept": {"text": "ABL1"}},
        {"code": {"coding": [{"system": CML, "code": "control-gene-copies"}]},
         "valueQuantity": {"value": 61000, "unit": "copies"}}]}
    forms = [
        {"valueQuantity": {**_q(0.0032, "%"), "comparator": "<"}},
        {"interpretation": [{"coding": [{"code": "ND"}]}]},
        {"valueCodeableConcept": {"coding": [{"system": LN, "code": "LA11883-8"}]}},
        {"valueString": "Not Detected"},
    ]
    bundle = _bundle(_patient(), *[
        _obs(f"p{i}", "69380-4", date=f"2020-0{i + 1}-01", **base, **f)
        for i, f in enumerate(forms)],
        _obs("zero", "69380-4", date="2020-06-01", valueQuantity={"value": 0, "unit": "% IS"}))
    (rec,) = _read(bundle)[0]
    pcrs = rec.observations
    for p in pcrs[:4]:
        assert (p.detected, p.bcr_abl1_is) == (False, None)  # type: ignore[union-attr]
        assert (p.control_gene, p.control_copies) == ("ABL1", 61000)  # type: ignore[union-attr]
    assert (pcrs[4].detected, pcrs[4].bcr_abl1_is) == (None, 0)  # type: ignore[union-attr]
    bad = _bundle(_patient(), _obs("g", "69380-4", valueQuantity={**_q(10, "%"),
                                                                   "comparator": ">"}))
    with pytest.raises(InputError, match=r"entry\[1\] \(Observation/g\) valueQuantity.comp"):
        _read(bad)


def test_diagnosis_through_condition_evidence_and_therapy() -> None:
    cond = {"resourceType": "Condition", "id": "dx", "subject": {"reference": "Patient/A"},
            "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm",
                                 "code": "C92.10"}]},
            "onsetPeriod": {"start": "2020-01-15"},
            "stage": [{"summary": {"coding": [{"system": CML, "code": "chronic"}]}}],
            "evidence": [{"detail": [{"reference": "Observation/dw"},
                                     {"reference": "https://ehr/fhir/Observation/age"}]}]}
    ms = {"resourceType": "MedicationStatement", "id": "m", "status": "active",
          "subject": {"reference": "Patient/A"},
          "medicationCodeableConcept": {"coding": [{"system":
                                                    "http://www.nlm.nih.gov/research/umls/rxnorm",
                                                    "code": "403879"}]},
          "effectivePeriod": {"start": "2020-01-20"},
          "dosage": [{"timing": {"repeat": {"frequency": 2, "period": 1, "periodUnit": "d"}},
                      "doseAndRate": [{"doseQuantity": _q(400, "mg")}]}]}
    mr = {"resourceType": "MedicationRequest", "id": "r", "status": "active",
          "intent": "order", "subject": {"reference": "Patient/A"},
          "medicationCodeableConcept": {"text": "Sprycel (dasatinib) 100 mg"},
          "authoredOn": "2021-01-01"}
    records, warns = _read(_bundle(
        _patient(), cond, ms, mr,
        _obs("dw", "6690-2", date=None, valueQuantity=_q(88.0, "10*9/L")),
        _obs("age", "21612-7", date=None, valueQuantity=_q(720, "mo")),
        _obs("fw", "6690-2", date="2020-01-15", valueQuantity=_q(88.0, "10*9/L"))))
    (rec,) = records
    assert rec.diagnosis is not None
    assert (rec.diagnosis.disease, rec.diagnosis.date, rec.diagnosis.phase) == (
        "CML", dt.date(2020, 1, 15), "chronic")
    assert (rec.diagnosis.wbc, rec.diagnosis.age) == (88.0, 60.0)
    # Only the linked Observation is a diagnosis value; the other is a follow-up count.
    assert [o.kind for o in rec.observations] == ["blood"]
    (line,) = rec.therapy  # the MedicationRequest is not read beside a MedicationStatement
    assert (line.drug, line.dose_mg_per_day) == ("imatinib", 800)
    assert any("MedicationRequest resources ignored" in w for w in warns)
    # Without a MedicationStatement the request is the therapy (drug from its text).
    (rec2,), _ = _read(_bundle(_patient(), mr))
    assert [(t.drug, t.start) for t in rec2.therapy] == [("dasatinib", dt.date(2021, 1, 1))]


def test_references_relative_absolute_and_urn() -> None:
    bundle = _bundle(_patient(), _obs("a", "6690-2", subject="https://h/fhir/Patient/A",
                                      valueQuantity=_q(5, "10*9/L")))
    bundle["entry"].append({"fullUrl": "urn:uuid:1234", "resource": _patient(
        "B", identifier=[{"system": "https://cmltrack.org/fhir/sid/patient-id",
                          "value": "P 002"}])})
    bundle["entry"].append({"resource": _obs("b", "6690-2", subject="urn:uuid:1234",
                                             valueQuantity=_q(6, "10*9/L"))})
    records, _ = _read(bundle)
    assert [(r.id, r.observations[0].wbc) for r in records] == [  # type: ignore[union-attr]
        ("A", 5), ("P 002", 6)]


def test_skipped_entries_and_statuses() -> None:
    bundle = _bundle(_patient(), _obs("x", "6690-2", status="entered-in-error",
                                      valueQuantity=_q(-5, "10*9/L")), btype="searchset")
    bundle["entry"].append({"request": {"method": "DELETE", "url": "Observation/z"}})
    bundle["entry"].append({"search": {"mode": "outcome"},
                            "resource": {"resourceType": "OperationOutcome"}})
    (rec,), warns = _read(bundle)
    assert rec.observations == ()
    assert set(warns) == {
        "1 Observation resources with status 'entered-in-error' skipped",
        "1 Bundle entries without a resource skipped",
        "1 searchset entries with search.mode 'outcome' skipped"}


#: Bad inputs: (resources after the Patient, the element named, the error code, the field).
BAD: list[tuple[str, list[dict[str, Any]], str, str, str | None]] = [
    ("wrong unit", [_obs("o", "777-3", valueQuantity=_q(200, "mg/L"))],
     "(Observation/o) valueQuantity.code", "bad_unit", "platelets"),
    ("negative count", [_obs("o", "6690-2", valueQuantity=_q(-3, "10*9/L"))],
     "(Observation/o) valueQuantity.value", "impossible_value", "wbc"),
    ("text value", [_obs("o", "6690-2", valueQuantity={"value": "5", "unit": "10*9/L"})],
     "(Observation/o) valueQuantity.value", "bad_type", "wbc"),
    ("not a date", [_obs("o", "6690-2", date="2020-02-31", valueQuantity=_q(3, "10*9/L"))],
     "(Observation/o) effective[x]", "bad_date", "date"),
    ("no date", [_obs("o", "6690-2", date=None, valueQuantity=_q(3, "10*9/L"))],
     "(Observation/o) effective[x]", "missing_field", "date"),
    ("missing patient", [_obs("o", "6690-2", subject="Patient/Z",
                              valueQuantity=_q(3, "10*9/L"))],
     "(Observation/o) subject", "missing_field", "id"),
    ("anc above wbc", [_obs("w", "6690-2", valueQuantity=_q(3, "10*9/L")),
                       _obs("n", "751-8", valueQuantity=_q(4, "10*9/L"))],
     "(Observation/n) valueQuantity.value", "inconsistent", "anc"),
    ("dose range", [{"resourceType": "MedicationStatement", "id": "m", "status": "active",
                     "subject": {"reference": "Patient/A"},
                     "medicationCodeableConcept": {"text": "imatinib"},
                     "effectiveDateTime": "2020-01-01",
                     "dosage": [{"doseAndRate": [{"doseRange": {}}]}]}],
     "(MedicationStatement/m) dosage[0].doseAndRate[0].doseRange", "bad_type",
     "dose_mg_per_day"),
    ("unknown reason", [{"resourceType": "MedicationRequest", "id": "m", "status": "stopped",
                         "intent": "order", "subject": {"reference": "Patient/A"},
                         "medicationCodeableConcept": {"text": "imatinib"},
                         "authoredOn": "2020-01-01", "statusReason": [{"text": "boredom"}]}],
     "(MedicationRequest/m) statusReason[0]", "unknown_value", "reason_end"),
    ("before birth", [_obs("o", "6690-2", date="1950-01-01", valueQuantity=_q(3, "10*9/L"))],
     "(Observation/o) effective[x]", "impossible_value", "date"),
]


@pytest.mark.parametrize(("resources", "element", "code", "field"),
                         [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bundle_and_ndjson_refuse_the_same(
    tmp_path: Path, resources: list[dict[str, Any]], element: str, code: str,
    field: str | None,
) -> None:
    bundle = _bundle(_patient(), *copy.deepcopy(resources))
    with pytest.raises(InputError) as bexc:
        _read(bundle)
    assert element in str(bexc.value) and bexc.value.file == "b.json"
    assert str(bexc.value.path).startswith("entry[")
    assert (bexc.value.code, bexc.value.field) == (code, field)
    folder = _as_ndjson(tmp_path, bundle)
    with pytest.raises(InputError) as nexc:
        load_records(folder, today=TODAY)
    assert element in str(nexc.value) and ".ndjson:" in str(nexc.value.file)
    assert (nexc.value.code, nexc.value.field) == (code, field)


def test_bulk_gz_blank_lines_and_bad_json(tmp_path: Path) -> None:
    folder = tmp_path / "x"
    folder.mkdir()
    (folder / "b.ndjson").write_text(json.dumps(_patient()) + "\n\n")
    with gzip.open(folder / "a.ndjson.gz", "wt") as fh:
        fh.write(json.dumps(_obs("o", "6690-2", valueQuantity=_q(3, "10*9/L"))) + "\n")
    (rec,) = load_records(folder, today=TODAY)
    assert rec.observations[0].wbc == 3  # type: ignore[union-attr]
    (folder / "c.ndjson").write_text('{"resourceType": "Observation",\n')
    with pytest.raises(InputError, match=r"c\.ndjson:1.*not valid JSON"):
        load_records(folder, today=TODAY)


def test_warnings_are_issued_and_printed(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "b.json"
    path.write_text(json.dumps(_bundle(_patient(), {"resourceType": "Encounter"})))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert [r.id for r in read_records(path, today=TODAY)] == ["A"]
    assert [(w.category, str(w.message)) for w in caught] == [
        (InputWarning, "1 Encounter resources ignored")]
    assert run(["assess", str(path), "--json"]) == 0
    captured = capsys.readouterr()
    assert captured.err == "warning: 1 Encounter resources ignored\n"
    assert json.loads(captured.out)["patient_id"] == "A"


def test_cli_refuses_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "b.json"
    path.write_text(json.dumps(_bundle(_patient(), *BAD[0][1])))
    assert run(["assess", str(path), "--json"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [f"cmltrack: error: {path}, entry[1] (Observation/o) valueQuantity.code, "
                   "patient 'A', field 'platelets': unit 'mg/L' cannot be converted to "
                   "10*9/L (accepted: 10*9/L, 10*3/uL, /nL, 10*3/mm3, /uL, /mm3, 10*6/L)"]
