"""``cmltrack synth``: files by extension, errors as one line and exit 2, --validate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cmltrack.cli.app import _register, run

_register()


def test_writes_jsonl_and_csv(tmp_path: Path) -> None:
    out = tmp_path / "c.jsonl"
    assert run(["synth", "--patients", "40", "--seed", "3", "--out", str(out), "--quiet"]) == 0
    lines = out.read_text().splitlines()
    assert len(lines) == 40 and json.loads(lines[0])["id"] == "SYN0000001"
    folder = tmp_path / "tables"
    assert run(["synth", "--patients", "40", "--seed", "3", "--out", str(folder),
                "--profile", "tfr-clinic", "--quiet"]) == 0
    assert sorted(p.name for p in folder.iterdir()) == [
        "events.csv", "labs.csv", "patients.csv", "therapy.csv"]
    assert len((folder / "patients.csv").read_text().splitlines()) == 41


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--patients", "0"], "at least 1"),
        (["--profile", "second-line"], "unknown profile"),
        (["--as-of", "2025-13-01"], "not a date"),
        (["--out", "cohort.csv"], "cannot tell the output format"),
        ([], "--out is required"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(
    args: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    if "--out" not in args and args:
        args = [*args, "--out", str(tmp_path / "x.jsonl")]
    assert run(["synth", *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_validate_prints_every_target(capsys: pytest.CaptureFixture[str],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import cmltrack.synth.calibration as cal

    monkeypatch.setattr(cal, "CALIBRATION_N", 1500)
    rc = run(["synth", "--validate", "--json", "--seed", "4"])
    doc = json.loads(capsys.readouterr().out)
    assert doc["n"] == 1500 and len(doc["targets"]) == len(cal.TARGETS)
    assert rc == (0 if all(t["pass"] for t in doc["targets"]) else 1)
    row = next(t for t in doc["targets"] if t["key"] == "os_5y")
    assert row["target"] == "89%" and 0 <= row["measured"] <= 100


def test_long_runs_report_progress_on_stderr(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "big.jsonl"
    assert run(["synth", "--patients", "5000", "--out", str(out), "--workers", "1"]) == 0
    cap = capsys.readouterr()
    assert cap.out == ""
    assert "5,000 patients (first-line)" in cap.err
    assert len(out.read_text().splitlines()) == 5000


@pytest.mark.parametrize("as_of", ["1900-01-01", "2001-05-09", "2099-01-01"])
def test_synth_refuses_a_generation_date_outside_the_imatinib_era(
    as_of: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the cohorts are imatinib-era courses (first approval 2001-05-10), and nothing the
    # readers would refuse as future may be written
    out = tmp_path / "c.jsonl"
    assert run(["synth", "--patients", "3", "--as-of", as_of, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "field '--as-of'" in err and not out.exists()
