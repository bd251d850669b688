"""The bundled example clinic: three forms, one set of records, each course as its README says."""

from __future__ import annotations

import csv
import datetime as dt
from importlib import resources
from pathlib import Path

import pytest

from cmltrack.domain.records import (
    BloodCount,
    Chemistry,
    Cytogenetics,
    Fish,
    Mutation,
    PatientRecord,
    Pcr,
)
from cmltrack.io import load_records, read_records

EXAMPLES = Path(str(resources.files("cmltrack").joinpath("examples")))
TODAY = dt.date(2026, 1, 1)


@pytest.fixture(scope="module")
def clinic() -> dict[str, PatientRecord]:
    return {r.id: r for r in load_records(EXAMPLES / "patients.json", today=TODAY)}


def test_three_forms_hold_identical_records(clinic: dict[str, PatientRecord]) -> None:
    records = list(clinic.values())
    assert [r.id for r in records] == [f"P{i:02d}" for i in range(1, 13)]
    assert load_records(EXAMPLES / "patients.jsonl", today=TODAY) == records
    assert load_records(EXAMPLES / "csv", today=TODAY) == records


def test_repo_root_link_points_at_the_package_data() -> None:
    link = Path(__file__).resolve().parents[2] / "examples" / "patients"
    assert (link / "patients.jsonl").samefile(EXAMPLES / "patients.jsonl")


def test_non_standard_units_are_exercised_and_converted(clinic: dict[str, PatientRecord]) -> None:
    with (EXAMPLES / "csv" / "labs.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    units = {(r["test"], r["unit"]) for r in rows if r["unit"]}
    assert units == {("hemoglobin", "g/L"), ("platelets", "/uL")}
    # P02's first hemoglobin after diagnosis is written 114 g/L in the CSV: 11.4 g/dL.
    p02 = next(r for r in rows if r["patient_id"] == "P02" and r["test"] == "hemoglobin"
               and r["date"] == "2017-10-11")
    assert (p02["value"], p02["unit"]) == ("114", "g/L")
    blood = [o for o in clinic["P02"].observations
             if isinstance(o, BloodCount) and o.date == dt.date(2017, 10, 11)]
    assert blood[0].hemoglobin == 11.4
    # In patients.json P01's diagnosis hemoglobin is {"value": 124, "unit": "g/L"}.
    assert clinic["P01"].diagnosis is not None and clinic["P01"].diagnosis.hemoglobin == 12.4


def test_dates_lie_between_2015_and_2025(clinic: dict[str, PatientRecord]) -> None:
    for r in clinic.values():
        dates = [o.date for o in r.observations] + [t.start for t in r.therapy]
        assert min(dates) >= dt.date(2015, 1, 1) and max(dates) <= dt.date(2025, 12, 31), r.id


def _pcr(r: PatientRecord) -> list[Pcr]:
    return [o for o in r.observations if isinstance(o, Pcr)]


def test_courses_show_what_the_readme_says(clinic: dict[str, PatientRecord]) -> None:
    # Values read off the README table (written from the courses by hand).
    p03 = clinic["P03"]
    assert [t.drug for t in p03.therapy] == ["imatinib", "dasatinib"]
    assert [p.bcr_abl1_is for p in _pcr(p03)][1:4] == [38.0, 31.0, 22.0]
    p04_mut = [o for o in clinic["P04"].observations if isinstance(o, Mutation)]
    assert p04_mut[0].mutations == ("T315I",)
    assert [t.dose_mg_per_day for t in clinic["P05"].therapy] == [400, 800]
    assert [t.dose_mg_per_day for t in clinic["P06"].therapy] == [400, 300, 600]
    assert [t.dose_mg_per_day for t in clinic["P07"].therapy] == [400, 400, 300]
    alt = max(o.alt or 0 for o in clinic["P08"].observations if isinstance(o, Chemistry))
    assert alt > 5 * 40
    p09 = clinic["P09"]
    assert [e.kind for e in p09.events] == ["tki_stop"]
    stop = p09.therapy[0].end
    assert stop is not None and (stop - p09.therapy[0].start).days / 365.25 > 5
    assert p09.therapy[0].reason_end == "tfr"
    dx10 = clinic["P10"].diagnosis
    assert dx10 is not None and (dx10.phase, dx10.blasts_pb, dx10.basophils_pb) == (
        "accelerated", 18, 22)
    assert clinic["P10"].therapy[0].dose_mg_per_day == 600
    assert [(e.kind, e.phase) for e in clinic["P11"].events] == [
        ("progression", "blast"), ("death", None)]


def test_p12_has_the_gaps_it_is_meant_to_have(clinic: dict[str, PatientRecord]) -> None:
    p12 = clinic["P12"]
    dx = p12.diagnosis
    assert dx is not None and dx.transcript == "e1a2" and p12.birth_date is None
    assert dx.basophils_pb is None and dx.eosinophils_pb is None and dx.age == 78.4
    undetected = [p for p in _pcr(p12) if not p.is_detected]
    assert [(p.control_gene, p.control_copies) for p in undetected] == [("ABL1", 5000)]
    cyto = [o for o in p12.observations if isinstance(o, Cytogenetics)]
    assert any(c.metaphases == 12 for c in cyto)
    assert any(isinstance(o, Fish) and o.nuclei == 200 for o in p12.observations)


def test_examples_read_lazily_from_jsonl() -> None:
    first = next(read_records(EXAMPLES / "patients.jsonl", today=TODAY))
    assert first.id == "P01"
