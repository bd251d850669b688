"""``cmltrack stats``: the JSON contract v1 and one-line errors with exit status 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cmltrack.cli.app import _register, run

_register()


def _json(capsys: pytest.CaptureFixture[str], argv: list[str]) -> dict:  # type: ignore[type-arg]
    assert run(argv) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1  # exactly one JSON object on one line
    return json.loads(out)  # type: ignore[no-any-return]


def _csv(tmp_path: Path, text: str, name: str = "d.csv") -> str:
    p = tmp_path / name
    p.write_text(text)
    return str(p)


KM = "time,event,arm\n1,1,B\n2,1,A\n2,0,A\n3,1,B\n4,0,A\n5,1,A\n5,1,B\n6,1,A\n"


def test_rate(capsys: pytest.CaptureFixture[str]) -> None:
    d = _json(capsys, ["stats", "rate", "14", "38", "--json"])
    assert d["k"] == 14 and d["n"] == 38 and d["method"] == "exact" and d["level"] == 0.95
    assert [round(x, 4) for x in d["ci"]] == [0.2181, 0.5401]
    d = _json(capsys, ["stats", "rate", "1", "10", "--method", "wald", "--json"])
    assert d["ci"][0] == 0.0


def test_km_grouped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = _csv(tmp_path, KM)
    d = _json(
        capsys,
        [
            "stats",
            "km",
            f,
            "--time",
            "time",
            "--event",
            "event",
            "--group",
            "arm",
            "--at",
            "2,10",
            "--json",
        ],
    )
    assert d["ci"] == "log" and d["level"] == 0.95  # R survfit's default conf.type
    assert [g["group"] for g in d["groups"]] == ["A", "B"]
    a = d["groups"][0]
    assert (a["n"], a["events"]) == (5, 3)
    assert set(a["at"][0]) == {"time", "survival", "ci", "at_risk"}
    # Past the last follow-up: carried forward, nobody at risk.
    assert a["at"][1]["at_risk"] == 0
    assert set(d["logrank"]) == {"chi2", "df", "p"} and d["logrank"]["df"] == 1


def test_km_numeric_groups_sort_as_numbers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = _csv(tmp_path, "t,e,g\n1,1,10\n2,1,2\n3,0,10\n4,1,2\n")
    d = _json(capsys, ["stats", "km", f, "--time", "t", "--event", "e", "--group", "g", "--json"])
    assert [g["group"] for g in d["groups"]] == [2, 10]


def test_km_single_group_and_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = _csv(tmp_path, KM)
    d = _json(
        capsys, ["stats", "km", f, "--time", "time", "--event", "event", "--ci", "plain", "--json"]
    )
    assert d["logrank"] is None and d["groups"][0]["group"] == "all"
    assert run(["stats", "km", f, "--time", "time", "--event", "event", "--at", "3"]) == 0
    out = capsys.readouterr().out
    assert "median" in out and "at risk" in out


def test_cox(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = _csv(tmp_path, "t,e,a,b\n1,1,3,1\n2,1,2,0\n3,1,1,1\n4,0,2.5,0\n5,1,0,1\n6,0,1,0\n")
    d = _json(
        capsys,
        [
            "stats",
            "cox",
            f,
            "--time",
            "t",
            "--event",
            "e",
            "--covariates",
            "a,b",
            "--ties",
            "breslow",
            "--json",
        ],
    )
    assert (d["n"], d["events"], d["ties"]) == (6, 4, "breslow")
    assert [c["name"] for c in d["coefficients"]] == ["a", "b"]
    assert set(d["coefficients"][0]) == {"name", "coef", "se", "hr", "ci", "p"}


def test_cif(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = _csv(tmp_path, "t,s,g\n1,1,x\n2,2,x\n3,1,x\n4,0,x\n1,2,y\n2,1,y\n5,0,y\n")
    d = _json(
        capsys,
        [
            "stats",
            "cif",
            f,
            "--time",
            "t",
            "--status",
            "s",
            "--group",
            "g",
            "--at",
            "1,4.5",
            "--json",
        ],
    )
    x = d["groups"][0]
    assert x["group"] == "x" and x["n"] == 4
    assert x["at"][0]["cif"] == 0.25
    assert x["at"][1] == {"time": 4.5, "cif": None, "var": None, "ci": [None, None]}
    assert d["gray"]["df"] == 1
    d = _json(capsys, ["stats", "cif", f, "--time", "t", "--status", "s", "--json"])
    assert d["gray"] is None


def test_simon(capsys: pytest.CaptureFixture[str]) -> None:
    d = _json(capsys, ["stats", "simon", "--p0", "0.1", "--p1", "0.3", "--json"])
    assert {k: d["optimal"][k] for k in ("r1", "n1", "r", "n")} == {
        "r1": 1,
        "n1": 10,
        "r": 5,
        "n": 29,
    }
    assert {k: d["minimax"][k] for k in ("r1", "n1", "r", "n")} == {
        "r1": 1,
        "n1": 15,
        "r": 5,
        "n": 25,
    }
    assert (d["p0"], d["p1"], d["alpha"], d["power"]) == (0.1, 0.3, 0.05, 0.8)
    assert set(d["optimal"]) == {"r1", "n1", "r", "n", "en0", "pet0"}


def test_current(shared_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = str(shared_dir / "data" / "infinity-cml" / "cml.csv")
    d = _json(capsys, ["stats", "current", f, "--at", "365", "--json"])
    assert (d["n"], d["remissions"]) == (104, 88)
    c, s = d["cci"][0], d["clfs"][0]
    assert (round(c["cci"], 3), round(c["comci"], 3)) == (0.758, 0.803)
    assert (round(s["clfs"], 3), round(s["lfs"], 3)) == (0.860, 0.781)


BAD = [
    # (file text or None for a missing file, argv after the file, words the message must hold)
    (None, ["--time", "time", "--event", "event"], ["not found"]),
    ("time,event\n1,1\n", ["--time", "tme", "--event", "event"], ["'tme'", "column"]),
    (
        "time,event\n1,1\nabc,0\n",
        ["--time", "time", "--event", "event"],
        ["row 3", "'time'", "abc"],
    ),
    (
        "time,event\n1,1\n-2,0\n",
        ["--time", "time", "--event", "event"],
        ["row 3", "'time'", "negative"],
    ),
    ("time,event\n1,1\n2,3\n", ["--time", "time", "--event", "event"], ["row 3", "'event'"]),
    ("time,event\n", ["--time", "time", "--event", "event"], ["no data"]),
    ("", ["--time", "time", "--event", "event"], ["empty"]),
    ("time,event\n1,1\n", ["--time", "time", "--event", "event", "--at", "x"], ["--at"]),
    ("time,event\n1,1\n", ["--time", "time", "--event", "event", "--ci", "logit"], ["--ci"]),
]


@pytest.mark.parametrize(("text", "args", "words"), BAD)
def test_km_bad_input_is_one_line_exit_2(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    text: str | None,
    args: list[str],
    words: list[str],
) -> None:
    f = str(tmp_path / "missing.csv") if text is None else _csv(tmp_path, text)
    assert run(["stats", "km", f, *args, "--json"]) == 2
    cap = capsys.readouterr()
    assert cap.out == ""
    assert cap.err.count("\n") == 1 and "Traceback" not in cap.err
    for w in words:
        assert w in cap.err
    if text is not None and "row" in " ".join(words):
        assert Path(f).name in cap.err


def test_other_commands_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = _csv(tmp_path, "t,s,a\n1,1,2\n2,3,x\n")
    cases = [
        ["stats", "cif", f, "--time", "t", "--status", "s"],
        ["stats", "cox", f, "--time", "t", "--event", "s", "--covariates", "a"],
        ["stats", "rate", "5", "4"],
        ["stats", "simon", "--p0", "0.4", "--p1", "0.2"],
        ["stats", "current", f, "--at", "10"],
    ]
    for argv in cases:
        assert run([*argv, "--json"]) == 2, argv
        cap = capsys.readouterr()
        assert cap.out == "" and cap.err.count("\n") == 1
    g = _csv(tmp_path, "remission_1,loss_1,follow_up,death\n10,5,50,0\n", "h.csv")
    assert run(["stats", "current", g, "--at", "10"]) == 2
    err = capsys.readouterr().err
    assert "h.csv" in err and "row 2" in err and "'loss_1'" in err


def test_level_and_singular_model_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = _csv(tmp_path, "t,e,a,b\n1,1,1,2\n2,1,2,4\n3,0,3,6\n4,1,4,8\n")
    for argv in (
        ["stats", "km", f, "--time", "t", "--event", "e", "--level", "1.5"],
        ["stats", "cox", f, "--time", "t", "--event", "e", "--covariates", "a,b"],  # collinear
        ["stats", "cox", f, "--time", "t", "--event", "e", "--covariates", "a,zz"],
        ["stats", "cif", f, "--time", "t", "--status", "e", "--at", "-1"],
    ):
        assert run([*argv, "--json"]) == 2, argv
        cap = capsys.readouterr()
        assert cap.out == "" and cap.err.count("\n") == 1 and "Traceback" not in cap.err


def test_current_refuses_a_gap_in_the_numbered_columns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # remission_3 with no remission_2 was silently dropped (CCI 0 instead of 1)
    g = _csv(tmp_path, "remission_1,loss_1,remission_3,follow_up,death\n5,20,30,60,0\n",
             "gap.csv")
    assert run(["stats", "current", g, "--at", "40"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "gap.csv" in err and "'remission_3'" in err


GOLDEN = Path(__file__).resolve().parents[1] / "golden"


@pytest.mark.parametrize(("argv", "r_conf"), [([], "log"), (["--ci", "log-log"], "loglog"),
                                               (["--ci", "loglog"], "loglog"),
                                               (["--ci", "plain"], "plain")])
def test_km_default_interval_is_r_survfits(
    argv: list[str], r_conf: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """With no --ci the intervals are R survfit's default (conf.type "log"); --ci log-log
    gives survfit(conf.type = "log-log"). R's numbers: tests/golden/km_at.csv."""
    import pandas as pd

    gold = pd.read_csv(GOLDEN / "km_at.csv")
    gold = gold[(gold.data == "km_ties") & (gold.ci == r_conf) & (gold.group == "a")]
    times = [t for t in sorted(gold.time.unique()) if t > 0]
    d = _json(capsys, ["stats", "km", str(GOLDEN / "data" / "km_ties.csv"), "--time", "time",
                       "--event", "event", "--group", "group",
                       "--at", ",".join(f"{t:g}" for t in times), *argv, "--json"])
    assert d["ci"] == r_conf
    (a,) = [g for g in d["groups"] if g["group"] == "a"]
    for row in a["at"]:
        r = gold[gold.time == row["time"]].iloc[0]
        if pd.isna(r.lower):
            assert row["ci"][0] is None
        else:
            assert row["ci"] == pytest.approx([float(r.lower), float(r.upper)], abs=1e-4)
