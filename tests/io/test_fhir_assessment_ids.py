"""``assess --format fhir`` on FHIR input keeps the input resources' own ids (spec/fhir.md,
"Assessment as FHIR": "for FHIR input, the input resources with their ids"), so derivedFrom,
basis and evidence name the Observations the EHR sent. The ids below are written by hand and
the links worked out from the spec, not taken from the program's output."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cmltrack.cli.app import run

LN, UCUM, SCT = "http://loinc.org", "http://unitsofmeasure.org", "http://snomed.info/sct"
CML = "https://cmltrack.org/fhir/CodeSystem/cmltrack"


def _obs(rid: str, code: str, date: str, value: float, unit: str) -> dict[str, Any]:
    return {"resourceType": "Observation", "id": rid, "status": "final",
            "code": {"coding": [{"system": LN, "code": code}]},
            "subject": {"reference": "Patient/pat-1"}, "effectiveDateTime": date,
            "valueQuantity": {"value": value, "system": UCUM, "code": unit}}


RESOURCES: list[dict[str, Any]] = [
    {"resourceType": "Patient", "id": "pat-1", "gender": "male", "birthDate": "1960-01-02"},
    {"resourceType": "Condition", "id": "cond-9",
     "category": [{"coding": [{"system": CML, "code": "primary-diagnosis"}]}],
     "code": {"coding": [{"system": SCT, "code": "92818009"}]},
     "subject": {"reference": "Patient/pat-1"}, "onsetDateTime": "2020-01-10",
     "stage": [{"summary": {"coding": [{"system": CML, "code": "chronic"}]}}],
     "evidence": [{"detail": [{"reference": "Observation/plt-dx"},
                              {"reference": "Observation/spleen-dx"}]}]},
    _obs("plt-dx", "777-3", "2020-01-10", 300, "10*9/L"),
    _obs("spleen-dx", "32489-7", "2020-01-10", 0, "cm"),
    {"resourceType": "MedicationStatement", "id": "ms-7", "status": "active",
     "medicationCodeableConcept": {"text": "imatinib"},
     "subject": {"reference": "Patient/pat-1"}, "effectivePeriod": {"start": "2020-01-15"},
     "dosage": [{"doseAndRate": [{"doseQuantity": {"value": 400, "system": UCUM,
                                                    "code": "mg/d"}}]}]},
    # 15 %IS at three months: ELN 2020 calls more than 10 % at 3 months a warning.
    _obs("pcr-a", "69380-4", "2020-04-15", 15, "%"),
    _obs("wbc-a", "6690-2", "2020-04-15", 6.1, "10*9/L"),
]


def _assess(capsys: pytest.CaptureFixture[str], path: Path) -> dict[str, dict[str, Any]]:
    assert run(["assess", str(path), "--format", "fhir", "--as-of", "2020-05-01"]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    bundle = json.loads(line)
    return {f"{e['resource']['resourceType']}/{e['resource']['id']}": e["resource"]
            for e in bundle["entry"]}


def _inputs(tmp_path: Path) -> list[Path]:
    bundle = tmp_path / "b.json"
    bundle.write_text(json.dumps({"resourceType": "Bundle", "type": "collection",
                                  "entry": [{"resource": r} for r in RESOURCES]}))
    folder = tmp_path / "bulk"
    folder.mkdir()
    for r in RESOURCES:
        with (folder / f"{r['resourceType']}.ndjson").open("a") as fh:
            fh.write(json.dumps(r) + "\n")
    return [bundle, folder]


def _refs(res: dict[str, Any], element: str) -> list[str]:
    return [r["reference"] for r in res.get(element, [])]


@pytest.mark.parametrize("form", [0, 1], ids=["bundle", "bulk"])
def test_the_assessment_links_to_the_input_resources_by_their_own_ids(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], form: int) -> None:
    resources = _assess(capsys, _inputs(tmp_path)[form])
    for rid in ("Patient/pat-1", "Condition/cond-9", "MedicationStatement/ms-7",
                "Observation/plt-dx", "Observation/spleen-dx", "Observation/pcr-a",
                "Observation/wbc-a"):
        assert rid in resources, rid
    assert not any("-obs-" in k or "-dx-" in k or "-ms-" in k for k in resources)
    assert _refs(resources["Condition/cond-9"]["evidence"][0], "detail") == [
        "Observation/spleen-dx", "Observation/plt-dx"]  # the writer's order
    subjects = {r.get("subject", r.get("patient", {})).get("reference")
                for r in resources.values() if r["resourceType"] != "Patient"}
    assert subjects == {"Patient/pat-1"}
    # The 3-month molecular response rests on the PCR of that day (a WBC alone gives no
    # hematologic response).
    by_code = {}
    for r in resources.values():
        if r["resourceType"] == "Observation" and r["code"]["coding"][0]["system"] == CML:
            by_code.setdefault((r["code"]["coding"][0]["code"], r.get("effectiveDateTime")),
                               []).append(r)
    (mol,) = by_code[("molecular-response", "2020-04-15")]
    assert _refs(mol, "derivedFrom") == ["Observation/pcr-a"]
    assert ("hematologic-response", "2020-04-15") not in by_code
    # Every risk score's basis is the diagnosis values the Condition lists as its evidence.
    risks = [r for r in resources.values() if r["resourceType"] == "RiskAssessment"]
    assert len(risks) == 4
    for risk in risks:
        assert _refs(risk, "basis") == ["Observation/spleen-dx", "Observation/plt-dx"]
    # The warning's evidence: the 3-month milestone Observation and the PCR behind it.
    (issue,) = [r for r in resources.values() if r["resourceType"] == "DetectedIssue"]
    assert issue["code"]["coding"][0]["code"] == "eln-warning"
    evidence = _refs(issue["evidence"][0], "detail")
    assert evidence[1:] == ["Observation/pcr-a", "Observation/wbc-a"]
    milestone = resources[evidence[0]]
    assert milestone["code"]["coding"][0]["code"] == "milestone"
    assert _refs(milestone, "derivedFrom") == ["Observation/pcr-a", "Observation/wbc-a"]


def test_json_input_keeps_the_written_ids(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    # The same patient read from FHIR, written as JSON, assessed: the writer's own ids.
    path = tmp_path / "p.json"
    assert run(["convert", str(_inputs(tmp_path)[0]), "--to", "json", str(path)]) == 0
    capsys.readouterr()
    resources = _assess(capsys, path)
    assert "Patient/pat-1" in resources  # the record id is a valid FHIR id: kept as is
    assert "Observation/pcr-a" not in resources
    assert any(k.startswith("Observation/pat-1-obs-") for k in resources)


def test_an_input_id_taken_twice_keeps_the_written_id(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The diagnosis karyotype that also counts metaphases is a diagnosis value (its ACA) and
    # a follow-up karyotype: two written Observations from one input id, which only one keeps.
    karyotype = {"resourceType": "Observation", "id": "kt-1", "status": "final",
                 "code": {"coding": [{"system": LN, "code": "29770-5"}]},
                 "subject": {"reference": "Patient/pat-1"}, "effectiveDateTime": "2020-01-10",
                 "component": [
                     {"code": {"coding": [{"system": CML, "code": "ph-pos-metaphases"}]},
                      "valueInteger": 20},
                     {"code": {"coding": [{"system": CML, "code": "metaphases-analysed"}]},
                      "valueInteger": 20},
                     {"code": {"coding": [{"system": CML, "code": "aca"}]},
                      "valueString": "+8"}]}
    resources = [dict(r) for r in RESOURCES]
    resources[1] = {**resources[1], "evidence": [{"detail": [{"reference": "Observation/kt-1"}]}]}
    path = tmp_path / "b.json"
    path.write_text(json.dumps({"resourceType": "Bundle", "type": "collection",
                                "entry": [{"resource": r} for r in [*resources, karyotype]]}))
    out = _assess(capsys, path)
    karyotypes = [k for k, r in out.items() if r["resourceType"] == "Observation"
                  and r["code"]["coding"][0].get("code") == "29770-5"]
    assert len(karyotypes) == 2 and "Observation/kt-1" in karyotypes
    assert len(set(karyotypes)) == 2
