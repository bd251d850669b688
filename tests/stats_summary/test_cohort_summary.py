"""Cohort summaries on small hand-made endpoint tables (expected values worked by hand)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from cmltrack.cli.app import run
from cmltrack.cli.demo import example_path
from cmltrack.stats.summary import best_response_rates, landmark_survival


def _table(rows: list[tuple[str, str, float, int, int]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["USUBJID", "PARAMCD", "AVAL", "CNSR", "CMPEVNT"])


def _cohort() -> pd.DataFrame:
    rows = []
    # Four patients: A reaches every response at 3 months; B MMR at 12.5 (after the 12-month
    # landmark); C never (censored at 20); D dies at 8 months without response.
    for code in ("TTCHR", "TTCCYR", "TTMMR", "TTMR4", "TTMR45"):
        rows.append(("A", code, 3.0, 0, 0))
        rows.append(("B", code, 12.5, 0, 0) if code == "TTMMR" else ("B", code, 6.0, 0, 0))
        rows.append(("C", code, 20.0, 1, 0))
        rows.append(("D", code, 8.0, 1, 1))
    rows += [("A", "PFS", 40.0, 1, 0), ("B", "PFS", 30.0, 0, 0), ("C", "PFS", 20.0, 1, 0),
             ("D", "PFS", 8.0, 0, 0)]
    return _table(rows)


def test_best_response_rates_by_landmark() -> None:
    r = best_response_rates(_cohort()).rates
    assert (r["MMR"]["12 months"].k, r["MMR"]["12 months"].n) == (1, 4)  # only A by 12
    assert (r["MMR"]["18 months"].k, r["MMR"]["any time"].k) == (2, 2)  # A and B
    assert (r["CCyR"]["6 months"].k, r["CCyR"]["3 months"].k) == (2, 1)  # 6.0 <= 6
    # Exact 95% interval of 1/4 (Clopper-Pearson): 0.0063 to 0.8059.
    assert r["MMR"]["12 months"].lower == pytest.approx(0.00631, abs=1e-4)
    assert r["MMR"]["12 months"].upper == pytest.approx(0.80588, abs=1e-4)


def test_landmark_excludes_patients_not_at_risk() -> None:
    res = landmark_survival(_cohort(), landmark=12.0, response="CCyR", endpoint="PFS")
    # D's PFS event at 8 months is before the landmark: excluded. A and B had CCyR by 12.
    assert res.n_excluded == 1
    groups = {c.group: c.n for c in res.km.groups}
    assert groups == {"CCyR by 12 mo": 2, "no CCyR by 12 mo": 1}


def test_summarize_cli_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["summarize", str(example_path("json")), "--json", "--by", "sokal_group"]) == 0
    import json

    out = json.loads(capsys.readouterr().out)
    assert out["n"] == 12
    assert out["best_response"]["MMR"]["any time"]["n"] == 12
    assert "groups" in out and "not a medical device" in out["disclaimer"]


def test_summarize_unknown_group_column(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["summarize", str(example_path("json")), "--by", "nosuch"]) == 2
    assert "nosuch" in capsys.readouterr().err


def test_endpoints_cli_writes_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "adtte.csv"
    assert run(["endpoints", str(example_path("json")), "--out", str(out)]) == 0
    table = pd.read_csv(out)
    assert list(table.columns[:8]) == [
        "USUBJID", "PARAMCD", "PARAM", "AVAL", "CNSR", "STARTDT", "ADT", "EVNTDESC"
    ]
    assert table["USUBJID"].nunique() == 12
    assert out.stat().st_mode & 0o777 == 0o644  # an ordinary file, not mkstemp's private 0600
    assert run(["endpoints", str(example_path("json")), "--out", str(tmp_path / "x.txt")]) == 2
    pq = tmp_path / "adtte.parquet"
    assert run(["endpoints", str(example_path("json")), "--out", str(pq)]) == 0
    back = pd.read_parquet(pq)
    assert len(back) == len(table) and list(back["PARAMCD"]) == list(table["PARAMCD"])


def test_summarize_refuses_a_text_covariate(capsys: pytest.CaptureFixture[str]) -> None:
    path = str(example_path("json"))
    assert run(["summarize", path, "--covariates", "sex"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "field 'sex'" in err and "is not numeric" in err


@pytest.mark.parametrize("landmark", ["-5", "nan", "601"])
def test_summarize_refuses_an_impossible_landmark(
    landmark: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["summarize", str(example_path("json")), "--landmark", landmark]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--landmark" in err
