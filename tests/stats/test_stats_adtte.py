"""stats km|cox|cif read the ADTTE table that ``endpoints`` writes, understand CNSR, refuse an
ambiguous event coding, dummy-code text covariates; stats table1. Expected numbers are worked
by hand from the definitions (product-limit, hypergeometric), not copied from the code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cmltrack.cli.app import run
from cmltrack.cli.demo import example_path

ADTTE = """USUBJID,PARAMCD,PARAM,AVAL,CNSR,CMPEVNT
P1,PFS,Progression-free survival (months),1,0,0
P2,PFS,Progression-free survival (months),2,1,0
P3,PFS,Progression-free survival (months),3,0,0
P4,PFS,Progression-free survival (months),4,1,0
P1,TTMMR,Time to MMR (months),5,0,0
P2,TTMMR,Time to MMR (months),2,1,1
P3,TTMMR,Time to MMR (months),6,1,0
P4,TTMMR,Time to MMR (months),3,0,0
"""
BASELINE = "USUBJID,arm,age\nP1,B,50\nP2,A,60\nP3,B,70\nP4,A,40\n"


def _json(capsys: pytest.CaptureFixture[str], argv: list[str]) -> dict:  # type: ignore[type-arg]
    assert run([*argv, "--json"]) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out)  # type: ignore[no-any-return]


def _err(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    assert run(argv) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1
    return lines[0]


@pytest.fixture
def adtte(tmp_path: Path) -> Path:
    (tmp_path / "adsl.csv").write_text(BASELINE)
    f = tmp_path / "adtte.csv"
    f.write_text(ADTTE)
    return f


def test_km_reads_cnsr_as_censoring(adtte: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Events at 1 and 3 (CNSR 0); censored at 2 and 4. S(1) = 3/4; S(3) = 3/4 * (1 - 1/2).
    out = _json(capsys, ["stats", "km", str(adtte), "--param", "PFS", "--at", "1,3"])
    g = out["groups"][0]
    assert (g["n"], g["events"]) == (4, 2)
    assert [a["survival"] for a in g["at"]] == pytest.approx([0.75, 0.375])
    assert [a["at_risk"] for a in g["at"]] == [4, 2]
    assert g["median"] == 3  # the first time S <= 0.5


def test_explicit_censor_column_equals_the_adtte_default(
    adtte: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["stats", "km", str(adtte), "--param", "PFS", "--at", "3"]
    assert _json(capsys, base) == _json(capsys, [*base, "--time", "AVAL", "--censor", "CNSR"])


def test_ambiguous_event_codings_are_refused(
    adtte: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # CNSR given as an event column: the old trap (median = the median censoring time).
    msg = _err(capsys, ["stats", "km", str(adtte), "--param", "PFS", "--event", "CNSR"])
    assert "censoring flag" in msg and "--censor CNSR" in msg
    msg = _err(capsys, ["stats", "km", str(adtte)])
    assert "choose one with --param" in msg and "PFS, TTMMR" in msg
    msg = _err(capsys, ["stats", "km", str(adtte), "--param", "OS"])
    assert "no rows with PARAMCD 'OS'" in msg
    r_coded = tmp_path / "r.csv"
    r_coded.write_text("months,status\n1,2\n2,1\n3,2\n")
    msg = _err(capsys, ["stats", "km", str(r_coded), "--time", "months", "--event", "status"])
    assert "coded 1/2" in msg
    plain = tmp_path / "plain.csv"
    plain.write_text("months,dead\n1,1\n")
    msg = _err(capsys, ["stats", "km", str(plain), "--time", "months"])
    assert "--event COL" in msg
    assert "no PARAMCD column" in _err(capsys, ["stats", "km", str(plain), "--time", "months",
                                                "--event", "dead", "--param", "PFS"])
    dup = tmp_path / "dup.csv"
    dup.write_text(ADTTE + "P1,PFS,Progression-free survival (months),7,0,0\n")
    msg = _err(capsys, ["stats", "km", str(dup), "--param", "PFS"])
    assert "row 10" in msg and "second PFS row (first at row 2)" in msg


def test_group_from_baseline_and_row_numbers_of_the_file(
    adtte: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = _json(capsys, ["stats", "km", str(adtte), "--param", "TTMMR", "--group", "arm",
                         "--baseline", str(tmp_path / "adsl.csv")])
    assert [(g["group"], g["n"], g["events"]) for g in out["groups"]] == [("A", 2, 1),
                                                                           ("B", 2, 1)]
    (tmp_path / "short.csv").write_text("USUBJID,arm\nP1,A\n")
    msg = _err(capsys, ["stats", "km", str(adtte), "--param", "TTMMR", "--group", "arm",
                        "--baseline", str(tmp_path / "short.csv")])
    assert "row 7" in msg and "'P2' is not in the baseline table" in msg


def test_cif_status_from_cnsr_and_cmpevnt(adtte: Path, capsys: pytest.CaptureFixture[str]
                                          ) -> None:
    # TTMMR: MMR at 3 and 5, a competing event (death first) at 2, censored at 6.
    # Aalen-Johansen: S(2-) = 1, competing at 2 -> S = 3/4; MMR at 3: F += 3/4 * 1/3 = 1/4;
    # MMR at 5: F += (3/4 * 2/3) * 1/2 = 1/4 -> F(5) = 1/2.
    out = _json(capsys, ["stats", "cif", str(adtte), "--param", "TTMMR", "--at", "2,3,5"])
    g = out["groups"][0]
    assert g["n"] == 4
    assert [a["cif"] for a in g["at"]] == pytest.approx([0.0, 0.25, 0.5])


def test_cox_dummy_codes_text_covariates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = ["t,e,arm,arm01"]
    for i, (t, e, arm) in enumerate([(1, 1, "B"), (2, 1, "A"), (3, 0, "B"), (4, 1, "A"),
                                     (5, 1, "B"), (6, 0, "A"), (7, 1, "B"), (8, 1, "A")]):
        rows.append(f"{t},{e},{arm},{1 if arm == 'B' else 0}")
        del i
    f = tmp_path / "d.csv"
    f.write_text("\n".join(rows) + "\n")
    base = ["stats", "cox", str(f), "--time", "t", "--event", "e"]
    num = _json(capsys, [*base, "--covariates", "arm01"])["coefficients"][0]
    cat = _json(capsys, [*base, "--covariates", "arm"])["coefficients"][0]
    assert cat["name"] == "arm: B vs A"
    assert cat["hr"] == pytest.approx(num["hr"]) and cat["p"] == pytest.approx(num["p"])
    flipped = _json(capsys, [*base, "--covariates", "arm", "--reference", "arm=B"])
    assert flipped["coefficients"][0]["name"] == "arm: A vs B"
    assert flipped["coefficients"][0]["hr"] == pytest.approx(1 / num["hr"])
    assert "reference level 'C'" in _err(capsys, [*base, "--covariates", "arm",
                                                  "--reference", "arm=C"])


def test_readable_tables_print_journal_style(
    adtte: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["stats", "km", str(adtte), "--param", "TTMMR", "--group", "arm",
                "--baseline", str(tmp_path / "adsl.csv"), "--at", "3"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "TTMMR: Time to MMR (months)"
    assert "log-rank p = 0." in out and "e-" not in out


def test_table1_by_group_worked_by_hand(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                        ) -> None:
    f = tmp_path / "adsl.csv"
    f.write_text("USUBJID,arm,sex,age\n" + "\n".join(
        f"P{i},{arm},{sex},{age}" for i, (arm, sex, age) in enumerate(
            [("A", "F", 40), ("A", "F", 50), ("A", "F", 60), ("A", "M", 70),
             ("B", "M", 41), ("B", "M", 52), ("B", "M", 63), ("B", "M", 74)])) + "\n")
    out = _json(capsys, ["stats", "table1", str(f), "--by", "arm"])
    assert out["groups"] == [{"group": "A", "n": 4}, {"group": "B", "n": 4}]
    rows = {(r["variable"], r["level"]): r for r in out["rows"]}
    sex = rows[("sex", None)]
    # Fisher exact on [[3, 0], [1, 4]]: P(k) = C(3,k)C(5,4-k)/C(8,4) = 5, 30, 30, 5 (/70);
    # two-sided: the tables no more likely than the observed one, 5/70 + 5/70.
    assert sex["test"] == "Fisher exact" and sex["p"] == pytest.approx(10 / 70)
    assert rows[("sex", "F")]["groups"]["A"] == {"n": 4, "count": 3, "percent": 75.0}
    age = rows[("age", None)]["groups"]["A"]
    # 40, 50, 60, 70: median 55, quartiles by linear interpolation (R type 7) 47.5 and 62.5.
    assert (age["median"], age["q1"], age["q3"], age["min"], age["max"]) == (55, 47.5, 62.5,
                                                                             40, 70)
    assert run(["stats", "table1", str(f), "--by", "arm"]) == 0
    text = capsys.readouterr().out
    assert "Age at diagnosis (years), median (IQR); range" in text and "0.14" in text


def test_table1_from_records(capsys: pytest.CaptureFixture[str]) -> None:
    out = _json(capsys, ["stats", "table1", str(example_path("json")), "--by", "sokal_group",
                         "--vars", "sex"])
    assert [g["group"] for g in out["groups"]] == ["low", "intermediate", "high"]
    assert sum(g["n"] for g in out["groups"]) == 12
