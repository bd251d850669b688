"""AML through the cohort tools: ADTTE endpoints (so `stats` works), the report pages, the
trial page and the synthetic aml-trial profile."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cmltrack.cli.app import run
from cmltrack.domain.assess import assess
from cmltrack.domain.endpoints import derive_endpoints
from cmltrack.domain.options import AssessOptions
from cmltrack.domain.records import PatientRecord
from cmltrack.io import load_records
from cmltrack.reports.build import write_reports
from cmltrack.synth.aml import calibrated_clag_im_cohort

ROOT = Path(__file__).resolve().parents[2]
COHORT = ROOT / "examples" / "clag-im-cohort.jsonl"


@pytest.fixture(scope="module")
def cohort() -> list[PatientRecord]:
    return load_records(COHORT)


def test_adtte_rows_agree_with_the_protocol_endpoints(cohort: list[PatientRecord]) -> None:
    opts = AssessOptions(protocol="clag-im")
    for rec in cohort:
        a = assess(rec, options=opts)
        rows = {r.PARAMCD: r for r in derive_endpoints(rec, a)}
        assert a.protocol is not None
        e = a.protocol.endpoints
        assert e["os_months"] == rows["OS"].AVAL and (0 if e["os_event"]
                                                                          else 1) == rows["OS"].CNSR
        assert e["pfs_months"] == rows["PFS"].AVAL
        assert (0 if e["pfs_event"] else 1) == rows["PFS"].CNSR
        assert ("DOR" in rows) == bool(e["responder"])
        assert ("RFS" in rows) == (e["best_response"] in ("CR_MRD_neg", "CR", "CRh", "CRi"))
        if e["best_response"] in ("SD", "PD"):  # primary refractory: an EFS event on day 1
            assert (rows["EFS"].AVAL, rows["EFS"].CNSR) == (0.0, 0)


def test_endpoints_then_stats_km(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "adtte.csv"
    assert run(["endpoints", str(COHORT), "--protocol", "clag-im", "--out", str(out)]) == 0
    capsys.readouterr()
    assert run(["stats", "km", str(out), "--param", "OS", "--ci", "log", "--json"]) == 0
    km = json.loads(capsys.readouterr().out)["groups"][0]
    assert (km["n"], round(km["median"], 1), [round(x, 1) for x in km["median_ci"]]) == (
        38, 11.1, [4.8, 13.4])


def test_report_pages(tmp_path: Path, cohort: list[PatientRecord]) -> None:
    cml = load_records(ROOT / "examples" / "patients" / "patients.jsonl")[:1]
    result = write_reports([*cohort[:2], *cml], tmp_path / "rep",
                           options=AssessOptions(protocol="clag-im"),
                           generated=__import__("datetime").date(2026, 1, 1), pdf=False)
    assert result.patients == 3
    page = (tmp_path / "rep" / "patients" / f"{cohort[1].id}.html").read_text()
    for text in ("AML patient report", "Genetic risk", "Responses (ELN2022)",
                 "Therapy (regimen days)", "Protocol clag-im", "not a medical device",
                 "data:image/png;base64"):
        assert text in page, text
    assert "CML patient report" in (tmp_path / "rep" / "patients" / f"{cml[0].id}.html"
                                    ).read_text()


def test_trial_page(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["trial", "report", str(COHORT), "--out", str(tmp_path / "t")]) == 0
    html = (tmp_path / "t" / "trial.html").read_text()
    for text in ("Overall survival by response", "Progression-free survival by response",
                 "Course per patient", "guarantee-time", "not a medical device",
                 "11.1 (4.8-13.4)", "4.9 (1.6-11.7)", "8 of 14"):
        assert text in html, text
    assert (tmp_path / "t" / "trial.pdf").read_bytes().startswith(b"%PDF")


def test_synth_aml_trial_profile(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    for out in (a, b):
        assert run(["synth", "--profile", "aml-trial", "--patients", "30", "--seed", "9",
                    "--out", str(out), "--quiet"]) == 0
    assert a.read_bytes() == b.read_bytes()
    records = load_records(a)
    assert len(records) == 30 and all(r.diagnosis and r.diagnosis.is_aml for r in records)
    assert run(["trial", "report", str(a), "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["n"] == 30 and rep["eligible"] == 30


def test_the_calibration_is_reproducible() -> None:
    # The shipped cohort is the seeded search's output, byte for byte (about 10 s of search).
    from cmltrack.synth.aml import trial_record

    lines = COHORT.read_text().splitlines()
    made = [json.dumps(trial_record(p), separators=(",", ":"))
            for p in calibrated_clag_im_cohort(3)]
    assert made == lines
