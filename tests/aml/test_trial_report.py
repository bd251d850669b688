"""`cmltrack trial report` on the shipped synthetic cohort reproduces seed 003's figures as the
aml spec (section 5) lists them; the report's parts are checked against their definitions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cmltrack.cli.app import run
from cmltrack.io import load_records
from cmltrack.stats import kaplan_meier, rate_ci
from cmltrack.stats.trial import GUARANTEE_TIME_CAVEAT, trial_report

ROOT = Path(__file__).resolve().parents[2]
COHORT = ROOT / "examples" / "clag-im-cohort.jsonl"


@pytest.fixture(scope="module")
def report() -> dict[str, object]:
    return trial_report(load_records(COHORT)).to_dict()


def test_seed003_figures(report: dict[str, object]) -> None:
    r = report
    assert r["n"] == 38 and r["responders"] == 14
    orr = r["orr"]
    assert isinstance(orr, dict)
    assert (orr["k"], orr["n"], round(orr["percent"], 1), round(orr["percent"])) == (
        14, 38, 36.8, 37)
    os, pfs = r["os"], r["pfs"]
    assert isinstance(os, dict) and isinstance(pfs, dict)
    assert [round(os["median"], 1), round(os["ci"][0], 1), round(os["ci"][1], 1)] == [
        11.1, 4.8, 13.4]
    assert [round(pfs["median"], 1), round(pfs["ci"][0], 1), round(pfs["ci"][1], 1)] == [
        4.9, 1.6, 11.7]
    assert round(r["logrank_p_os_responders"], 4) == 0.0002  # type: ignore[call-overload]
    assert r["allo_hct_among_responders"] == {"k": 8, "n": 14}
    assert r["status"] == {"refractory": 7, "early_relapse": 19, "late_relapse": 12}
    assert r["age"] == {"median": 62, "min": 26, "max": 79, "n": 38}
    assert r["eligible"] == 38
    assert r["caveat"] == GUARANTEE_TIME_CAVEAT and "guarantee-time" in GUARANTEE_TIME_CAVEAT


def test_the_report_is_made_of_the_patients_endpoints(report: dict[str, object]) -> None:
    rows = report["patients"]
    assert isinstance(rows, list)
    # ORR is the exact interval of the responders among all patients ...
    k = sum(p["responder"] for p in rows)
    exact = rate_ci(k, len(rows))
    assert report["orr"]["ci"] == [exact.lower, exact.upper]  # type: ignore[index]
    # ... responders are those whose best response is in the protocol's set ...
    assert {p["best_response"] for p in rows if p["responder"]} <= {
        "CR_MRD_neg", "CR", "CRh", "CRi", "PR"}
    # ... and the OS median is R's survfit default (log interval) on months from inclusion.
    km = kaplan_meier([p["os_months"] for p in rows], [int(p["os_event"]) for p in rows],
                      ci="log").groups[0]
    assert report["os"]["median"] == km.median  # type: ignore[index]
    assert all(p["pfs_months"] <= p["os_months"] for p in rows)


def test_cli_text_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["trial", "report", str(COHORT)]) == 0
    out = capsys.readouterr().out
    assert "Responders: 14/38; ORR 36.8% (rounded 37%)" in out
    assert "median 11.1 months (95% CI 4.8-13.4)" in out
    assert "median 4.9 months (95% CI 1.6-11.7)" in out
    assert "log-rank P = 0.0002" in out and "guarantee-time" in out
    assert "8 of 14" in out and "not a medical device" in out
    assert run(["trial", "report", str(COHORT), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["schema"] == "cmltrack.trial_report/1"
    assert run(["trial", "report", str(COHORT), "--protocol", "actim"]) == 2
    assert "--protocol" in capsys.readouterr().err
