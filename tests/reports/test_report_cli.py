"""``cmltrack report`` and ``cmltrack plot`` on the command line."""

from __future__ import annotations

from pathlib import Path

import pytest

from cmltrack.cli.app import _register, run

EXAMPLES = Path(__file__).resolve().parents[2] / "src" / "cmltrack" / "examples"
JSONL = str(EXAMPLES / "patients.jsonl")

_register()


def test_report_writes_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "r"
    rc = run(["report", JSONL, "--out", str(out), "--date", "2025-11-01", "--no-pdf"])
    assert rc == 0
    assert "for 12 patients" in capsys.readouterr().out
    assert (out / "index.html").exists() and not (out / "cohort.pdf").exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["report", "nope.jsonl", "--out", "{out}"], "does not exist"),
        (["report", JSONL, "--out", "{out}", "--date", "01/11/2025"], "'--date'"),
        (["report", JSONL, "--out", "{out}", "--as-of", "2025-13-01"], "'--as-of'"),
        (["plot", "bcr-abl1", JSONL, "--patient", "P99", "--out", "{out}/x.png"], "P99"),
        (["plot", "bcr-abl1", JSONL, "--patient", "P01", "--out", "{out}/x.gif"], ".png"),
        (["plot", "swimmer", JSONL, "--out", "{out}/x.jpeg"], ".svg"),
        (["plot", "km", JSONL, "--endpoint", "TTMMR", "--out", "{out}/x.png"], "PFS, EFS"),
        (["plot", "cif", JSONL, "--endpoint", "OS", "--out", "{out}/x.png"], "TTCHR"),
        (["plot", "km", JSONL, "--by", "age", "--out", "{out}/x.png"], "sokal"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc = run([a.replace("{out}", str(tmp_path / "o")) for a in argv])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.count("\n") == 1 and message in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_report_on_a_bad_file_writes_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    lines = (EXAMPLES / "patients.jsonl").read_text().splitlines()
    bad.write_text("\n".join([lines[0], lines[1].replace('"wbc":', '"wbc_typo":', 1)]) + "\n")
    assert run(["report", str(bad), "--out", str(tmp_path / "r")]) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.jsonl"]


@pytest.mark.parametrize("kind", ["bcr-abl1", "swimmer", "waterfall", "km", "cif"])
def test_plot_commands(kind: str, tmp_path: Path) -> None:
    out = tmp_path / f"{kind}.svg"
    extra = {"bcr-abl1": ["--patient", "P04"], "km": ["--by", "sokal"]}.get(kind, [])
    assert run(["plot", kind, JSONL, *extra, "--out", str(out)]) == 0
    assert out.read_text().lstrip().startswith("<?xml")
