"""The command line has no traps: version and -h, completion, no empty error line, an empty
input is an error unless --allow-empty, .gz output where .gz is read, ids that would act on a
terminal are refused and whatever reaches the terminal is escaped."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cmltrack import __version__
from cmltrack.cli.app import run
from cmltrack.cli.demo import example_path


def test_version_and_short_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"cmltrack {__version__}"
    assert run(["-h"]) == 0
    assert "Usage: cmltrack" in capsys.readouterr().out
    assert run(["stats", "km", "-h"]) == 0
    assert "--time" in capsys.readouterr().out


def test_bare_command_shows_help_without_an_empty_error_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    run([])
    cap = capsys.readouterr()
    assert "Usage: cmltrack" in cap.out + cap.err
    assert "error:" not in cap.err


def test_shell_completion_completes_commands(tmp_path: Path) -> None:
    env = {**os.environ, "_CMLTRACK_COMPLETE": "complete_bash", "COMP_WORDS": "cmltrack sta",
           "COMP_CWORD": "1"}
    out = subprocess.run([sys.executable, "-m", "cmltrack"], env=env, capture_output=True,
                         text=True, check=False)
    assert out.stdout.split() == ["stats"]


@pytest.mark.parametrize("content", ["", "[]", "\n\n"])
def test_empty_input_is_an_error_unless_allowed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str
) -> None:
    f = tmp_path / ("empty.json" if content == "[]" else "empty.jsonl")
    f.write_text(content)
    for cmd in (["assess"], ["endpoints", "--out", str(tmp_path / "a.csv")], ["summarize"]):
        assert run([*cmd, str(f)]) == 2, cmd
        err = capsys.readouterr().err.strip().splitlines()
        assert err == [f"cmltrack: error: {f}: holds no patient records "
                       "(use --allow-empty if that is expected)"]
    assert run(["assess", str(f), "--allow-empty"]) == 0
    assert capsys.readouterr().out == ""


def test_synth_writes_gz_that_assess_reads(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                           ) -> None:
    out = tmp_path / "c.jsonl.gz"
    assert run(["synth", "--patients", "5", "--seed", "3", "--out", str(out)]) == 0
    with gzip.open(out, "rt") as fh:
        assert len(fh.read().splitlines()) == 5
    capsys.readouterr()
    assert run(["assess", str(out), "--json"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 5


def test_endpoints_writes_gz_and_baseline(tmp_path: Path) -> None:
    import pandas as pd

    out, base = tmp_path / "adtte.csv.gz", tmp_path / "adsl.csv"
    assert run(["endpoints", str(example_path("json")), "--out", str(out),
                "--baseline", str(base)]) == 0
    assert set(pd.read_csv(out).USUBJID) == set(pd.read_csv(base).USUBJID)
    assert len(pd.read_csv(base)) == 12


@pytest.mark.parametrize(
    ("pid", "shown"),
    [("P01\x1b[31m", "U+001B"), ("P01\u202eevil", "U+202E (RIGHT-TO-LEFT OVERRIDE"),
     ("P01\u200b", "U+200B (ZERO WIDTH SPACE"), ("P\n01", "U+000A")],
)
def test_ids_that_act_on_a_terminal_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], pid: str, shown: str
) -> None:
    rec = json.loads(example_path("json").read_text())[0]
    rec["id"] = pid
    f = tmp_path / "p.json"
    f.write_text(json.dumps(rec))
    assert run(["assess", str(f)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert "$.id" in err and shown in err
    assert "\x1b" not in err and "\u202e" not in err and "\u200b" not in err


def test_terminal_output_is_escaped() -> None:
    from cmltrack.textsafe import terminal_safe

    assert terminal_safe("a\x1b[31mb\u202ec\nd") == "a\\x1b[31mb\\u202ec\nd"
    assert terminal_safe("line\nbreak", keep_newlines=False) == "line\\x0abreak"
    assert terminal_safe("Ünïcode 0.0032%") == "Ünïcode 0.0032%"


def test_assess_formats_csv_parquet_jsonl(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                          ) -> None:
    import pandas as pd

    src = str(example_path("json"))
    assert run(["assess", src, "--format", "csv", "--out", str(tmp_path / "a.csv.gz")]) == 0
    table = pd.read_csv(tmp_path / "a.csv.gz")
    assert list(table.patient_id) == [f"P{i:02d}" for i in range(1, 13)]
    assert run(["assess", src, "--format", "parquet", "--out", str(tmp_path / "a.parquet")]) == 0
    parquet = pd.read_parquet(tmp_path / "a.parquet")
    assert list(parquet.columns) == list(table.columns)
    assert parquet.status.tolist() == table.status.tolist()
    assert run(["assess", src, "--format", "jsonl"]) == 0
    jsonl = capsys.readouterr().out
    assert run(["assess", src, "--json"]) == 0
    assert capsys.readouterr().out == jsonl
    first = json.loads(jsonl.splitlines()[0])
    assert table.status[0] == first["current"]["status"]
    assert table.milestones[0] == "; ".join(f"{m['month']}: {m['status']}"
                                            for m in first["milestones"])
    assert run(["assess", src, "--format", "parquet"]) == 2
    assert "--out FILE.parquet" in capsys.readouterr().err
