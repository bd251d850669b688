from __future__ import annotations

import json
from pathlib import Path

import pytest

from cmltrack.cli.app import run
from cmltrack.cli.demo import example_path


def _lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    out = capsys.readouterr().out
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_three_forms_give_the_same_assessment(capsys: pytest.CaptureFixture[str]) -> None:
    results = []
    for form in ("json", "jsonl", "csv"):
        assert run(["assess", str(example_path(form)), "--json"]) == 0
        results.append(_lines(capsys))
    assert results[0] == results[1] == results[2]
    assert [r["patient_id"] for r in results[0]] == [f"P{i:02d}" for i in range(1, 13)]


def test_readable_table_has_disclaimer(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["assess", str(example_path("json"))]) == 0
    out = capsys.readouterr().out
    assert "Patient P01" in out and "not a medical device" in out


def test_bad_input_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"id": "X", "observations": [{"date": "2020-01-01", "kind": "blood", '
                   '"wbc": -1}]}')
    assert run(["assess", str(bad), "--json"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "bad.json" in err[0] and "observations[0]" in err[0] and "wbc" in err[0]


@pytest.mark.parametrize(
    "args",
    [["--as-of", "2020-13-01"], ["--protocol", "nosuch"], ["--guideline", "ELN2099"]],
)
def test_bad_options_exit_2(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["assess", str(example_path("json")), *args]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_missing_file_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["assess", "/nonexistent/cohort.jsonl"]) == 2
    assert "/nonexistent/cohort.jsonl" in capsys.readouterr().err


def test_skip_invalid_reports_and_goes_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = example_path("jsonl").read_text().splitlines()[0]
    path = tmp_path / "c.jsonl"
    path.write_text(good + "\n" + '{"id": "BAD", "sex": "X"}\n' + good.replace('"P01"', '"P99"')
                    + "\n")
    assert run(["assess", str(path), "--json", "--skip-invalid"]) == 0
    captured = capsys.readouterr()
    ids = [json.loads(x)["patient_id"] for x in captured.out.splitlines()]
    assert ids == ["P01", "P99"]
    assert "skipped" in captured.err and "line 2" in captured.err


def test_as_of_option(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["assess", str(example_path("json")), "--json", "--as-of", "2017-01-01"]) == 0
    for r in _lines(capsys):
        assert r["as_of"] == "2017-01-01"
        assert all(t["date"] <= "2017-01-01" for t in r["timepoints"])  # type: ignore[attr-defined]


def test_explain_names_rules_and_sources(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["explain", str(example_path("json")), "--patient", "P03"]) == 0
    out = capsys.readouterr().out
    assert "ELN2020" in out and "Hochhaus" in out and "not a medical device" in out
    assert run(["explain", str(example_path("json")), "--patient", "NOPE"]) == 2


def test_explain_speaks_a_clinicians_words(capsys: pytest.CaptureFixture[str]) -> None:
    import re

    assert run(["explain", str(example_path("json")), "--patient", "P04"]) == 0
    out = capsys.readouterr().out
    # Events, actions and tests by name, not by field (P04 lost MMR, then T315I appeared).
    assert "event: Loss of MMR" in out and "event: New BCR::ABL1 mutation" in out
    assert "Continue: because" in out and "BCR::ABL1 PCR 2020-11-12" in out
    assert not re.search(r"\b(loss_of_mmr|new_mutation|switch_tki)\b(?!\])", out.replace(
        "[ELN2020.loss_of_mmr]", ""))
    # A bound stated once, with the sign a clinician writes; no project file names.
    assert "(≤10%)" not in out and "<=" not in out and "≤0.1%" in out
    assert ".yaml" not in out and "clinical-rules" not in out


def test_demo_runs_offline(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = tmp_path / "report"
    assert run(["demo", "--clinic", "40", "--seed", "3", "--report", str(report)]) == 0
    out = capsys.readouterr().out
    assert "Clinic summary: 12 patients" in out and "not a medical device" in out
    assert "Clinic summary: 40 patients" in out
    index = report / "index.html"
    assert str(index.resolve()) in out
    assert "not a medical device" in index.read_text()
    assert len(list((report / "patients").glob("*.html"))) == 12
    # The same seed gives the same clinic.
    assert run(["demo", "--clinic", "40", "--seed", "3", "--no-report"]) == 0
    again = capsys.readouterr().out
    assert again.split("A seeded synthetic clinic")[1].split("Next:")[0] == (
        out.split("A seeded synthetic clinic")[1].split("Reports of")[0]
    )


def test_failure_stands_option(capsys: pytest.CaptureFixture[str]) -> None:
    path = str(example_path("json"))
    assert run(["assess", path, "--json", "--failure-stands", "until_optimal"]) == 0
    assert len(_lines(capsys)) == 12
    assert run(["assess", path, "--failure-stands", "forever"]) == 2
    assert "--failure-stands" in capsys.readouterr().err
