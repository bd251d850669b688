"""Everything cmltrack writes as FHIR validates with fhir.resources (R4B models, R4 JSON), and
the assessment's resources link to the input Observations they rest on."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle
from hypothesis import HealthCheck, given, settings
from test_fhir_roundtrip import full_records

from cmltrack.cli.app import run
from cmltrack.cli.demo import example_path
from cmltrack.domain.assess import assess
from cmltrack.domain.records import PatientRecord
from cmltrack.io import load_records
from cmltrack.io.fhir.assessment import assessment_bundle
from cmltrack.io.fhir.writer import records_bundle

CML = "https://cmltrack.org/fhir/CodeSystem/cmltrack"


def _validate_bundle(bundle: dict[str, Any]) -> None:
    # Through JSON text, as a server would receive it; each entry's resource is validated by
    # its own model (fhir.resources picks it by resourceType).
    Bundle.model_validate_json(json.dumps(bundle))


def test_shipped_bundle_and_bulk_files_validate() -> None:
    _validate_bundle(json.loads(example_path("fhir").read_text()))
    for path in sorted(example_path("fhir-ndjson").iterdir()):
        for line in path.read_text().splitlines():
            data = json.loads(line)
            get_fhir_model_class(data["resourceType"]).model_validate_json(line)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(record=full_records())
def test_written_records_validate(record: PatientRecord) -> None:
    _validate_bundle(records_bundle([record]))


def test_assessment_bundles_validate_and_link_their_inputs() -> None:
    records = load_records(example_path("json"))
    standings = 0
    # As of today each example ends optimal after its changes of therapy: six months into
    # the first TKI, several stand in warning or failure.
    cases = [(r, assess(r)) for r in records] + [
        (r, assess(r, as_of=r.therapy[0].start + dt.timedelta(days=190)))
        for r in records if r.therapy]
    for record, result in cases:
        bundle = assessment_bundle(record, result)
        _validate_bundle(bundle)
        resources = [e["resource"] for e in bundle["entry"]]
        ids = {f"{r['resourceType']}/{r['id']}" for r in resources}
        by_code: dict[str, list[dict[str, Any]]] = {}
        for r in resources:
            for c in (r.get("code") or r.get("method") or {}).get("coding", []):
                if c["system"] == CML:
                    by_code.setdefault(c["code"], []).append(r)
        # Every link points into the Bundle.
        for r in resources:
            links = [*r.get("derivedFrom", []), *r.get("basis", []),
                     *(d for ev in r.get("evidence", []) for d in ev.get("detail", []))]
            assert all(link["reference"] in ids for link in links), r["id"]
        # One response Observation per non-null timepoint value, on that date, derived from
        # that day's input Observations (molecular: the PCR).
        contract = result.to_dict()
        expected = sum(tp[k] is not None for tp in contract["timepoints"]
                       for k in ("hematologic", "cytogenetic", "molecular", "phase"))
        responses = [r for k in ("hematologic-response", "cytogenetic-response",
                                 "molecular-response", "disease-phase")
                     for r in by_code.get(k, [])]
        assert len(responses) == expected
        for r in by_code.get("molecular-response", []):
            (src,) = r["derivedFrom"]
            assert src["reference"].endswith("-pcr")
        assert len(by_code.get("milestone", [])) == len(contract["milestones"])
        assert {r["method"]["coding"][0]["code"] for r in resources
                if r["resourceType"] == "RiskAssessment"} == {"sokal", "hasford", "eutos",
                                                              "elts"}
        issues = [r for r in resources if r["resourceType"] == "DetectedIssue"]
        status = contract["current"]["status"]
        assert len(issues) == (status in ("warning", "suboptimal", "failure"))
        for issue in issues:
            standings += 1
            assert issue["code"]["coding"][0]["code"] == (
                "eln-failure" if status == "failure" else "eln-warning")
            assert issue["identifiedDateTime"] == contract["as_of"]
    assert standings >= 3  # the example clinic has warnings and failures


def test_risk_not_evaluable_names_what_is_missing() -> None:
    record = PatientRecord.model_validate(
        {"id": "X", "diagnosis": {"date": "2020-01-01", "wbc": 50.0}},
        context={"today": dt.date(2026, 1, 1)})
    bundle = assessment_bundle(record, assess(record))
    _validate_bundle(bundle)
    risks = [e["resource"] for e in bundle["entry"]
             if e["resource"]["resourceType"] == "RiskAssessment"]
    assert len(risks) == 4
    for r in risks:
        assert "prediction" not in r and r["note"][0]["text"].startswith("missing: ")
        assert r["basis"] == [{"reference": "Observation/X-dx-wbc"}]


def test_written_bulk_lines_validate(tmp_path: Path) -> None:
    from cmltrack.io.fhir.writer import write_fhir_ndjson
    from cmltrack.synth import generate_cohort

    write_fhir_ndjson(generate_cohort(20, seed=5), tmp_path)
    for path in sorted(tmp_path.iterdir()):
        for line in path.read_text().splitlines():
            get_fhir_model_class(json.loads(line)["resourceType"]).model_validate_json(line)


def test_assess_format_fhir_prints_one_bundle_per_patient(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["assess", str(example_path("fhir")), "--format", "fhir"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 12
    first = json.loads(lines[0])
    assert first["type"] == "collection"
    assert first["entry"][0]["resource"]["identifier"][0]["value"] == "P01"
    _validate_bundle(first)
    # The same from the JSON form, and to a file.
    out = tmp_path / "a.ndjson"
    assert run(["assess", str(example_path("json")), "--format", "fhir", "--out",
                str(out)]) == 0
    assert out.read_text().splitlines() == lines
