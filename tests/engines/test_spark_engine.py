"""The Spark engine on a real local Spark gives the single engine's answers, byte for byte."""

from __future__ import annotations

import datetime as dt
import functools
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from cmltrack.cli.app import run
from cmltrack.cli.assess import contract_line

pytestmark = pytest.mark.usefixtures("spark")


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    rc = run(list(argv))
    got = capsys.readouterr()
    return rc, got.out, got.err


def _both(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[str, str]:
    rc1, single, err1 = _cli(capsys, *argv)
    rc2, spark, err2 = _cli(capsys, *argv, "--engine", "spark")
    assert (rc1, rc2) == (0, 0), (err1, err2)
    return single, spark


def test_assess_json_lines_identical_in_input_order(
    cohort: Path, capsys: pytest.CaptureFixture[str], spark: Any
) -> None:
    # The cohort spans several input splits (96 KB each): order must survive the split.
    assert spark.read.text(str(cohort)).rdd.getNumPartitions() > 1
    single, on_spark = _both(capsys, "assess", str(cohort), "--json", "--as-of", "2024-06-30")
    assert on_spark == single
    assert len(single.splitlines()) == 60


def test_assess_text_and_csv_identical(cohort: Path, capsys: pytest.CaptureFixture[str]) -> None:
    single, on_spark = _both(capsys, "assess", str(cohort), "--guideline", "ELN2013")
    assert on_spark == single and "not a medical device" in single
    single, on_spark = _both(capsys, "assess", str(cohort), "--format", "csv")
    assert on_spark == single and single.startswith("patient_id,")


def test_assess_dataset_holds_the_contracts(
    cohort: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, single, _ = _cli(capsys, "assess", str(cohort), "--format", "jsonl")
    ds = tmp_path / "assessed"
    assert run(["assess", str(cohort), "--format", "jsonl", "--out", str(ds),
                "--engine", "spark"]) == 0
    got = pd.read_parquet(ds)
    assert sorted(got["assessment"] + "\n") == sorted(single.splitlines(keepends=True))
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp left


def test_empty_input_refused_alike(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "none.jsonl"
    empty.write_text("\n")
    rc1, _, err1 = _cli(capsys, "assess", str(empty))
    rc2, _, err2 = _cli(capsys, "assess", str(empty), "--engine", "spark")
    assert (rc1, rc2) == (2, 2) and err2 == err1 and "holds no patient records" in err1


def test_endpoints_csv_identical_and_dataset_same_rows(
    cohort: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b, ds = tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "ends"
    assert run(["endpoints", str(cohort), "--out", str(a)]) == 0
    assert run(["endpoints", str(cohort), "--out", str(b), "--engine", "spark"]) == 0
    assert b.read_bytes() == a.read_bytes()
    assert run(["endpoints", str(cohort), "--out", str(ds), "--engine", "spark"]) == 0
    assert sorted(p.name for p in ds.iterdir() if p.is_dir())[:2] == [
        "PARAMCD=DURMMR", "PARAMCD=EFS"
    ]
    single = pd.read_csv(a)
    got = pd.read_parquet(ds)
    got["PARAMCD"] = got["PARAMCD"].astype(str)
    key = ["USUBJID", "PARAMCD"]
    pd.testing.assert_frame_equal(
        got[single.columns].sort_values(key).reset_index(drop=True),
        single.sort_values(key).reset_index(drop=True),
        check_dtype=False,
    )
    assert "Parquet dataset" in capsys.readouterr().out


def test_summarize_identical(cohort: Path, capsys: pytest.CaptureFixture[str]) -> None:
    single, on_spark = _both(capsys, "summarize", str(cohort), "--json", "--by", "sokal_group")
    assert on_spark == single
    assert json.loads(single)["n"] == 60


def test_parquet_input_gives_the_json_lines_answers(
    cohort: Path, tmp_path: Path, spark: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    pq = tmp_path / "cohort.parquet"
    spark.read.json(str(cohort)).write.parquet(str(pq))
    rc1, single, _ = _cli(capsys, "assess", str(cohort), "--json")
    rc2, on_spark, err = _cli(capsys, "assess", str(pq), "--json", "--engine", "spark")
    assert (rc1, rc2) == (0, 0), err
    # spark.read.json sorts patients' fields and the files' rows; compare patient by patient.
    by_id = {json.loads(x)["patient_id"]: x for x in single.splitlines()}
    got = on_spark.splitlines()
    assert len(got) == 60
    assert all(by_id[json.loads(x)["patient_id"]] == x for x in got)


def _bad_cohort(cohort: Path, tmp_path: Path) -> Path:
    lines = cohort.read_text().splitlines()
    bad = json.loads(lines[30])
    bad["observations"][0]["date"] = "2020-13-01"  # line 31: not a date
    lines[30] = json.dumps(bad)
    lines[50] = lines[10]  # line 51: the patient of line 11 again
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_bad_record_refused_with_the_same_message_and_nothing_written(
    cohort: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = _bad_cohort(cohort, tmp_path)
    rc1, _, err1 = _cli(capsys, "assess", str(bad), "--json")
    rc2, out2, err2 = _cli(capsys, "assess", str(bad), "--json", "--engine", "spark")
    assert (rc1, rc2) == (2, 2)
    assert err2 == err1 and "line 31" in err1 and len(err1.splitlines()) == 1
    assert out2 == ""
    ds = tmp_path / "out"
    rc, _, err = _cli(capsys, "assess", str(bad), "--format", "jsonl", "--out", str(ds),
                      "--engine", "spark")
    assert rc == 2 and err == err1 and not ds.exists()
    rc, _, err = _cli(capsys, "endpoints", str(bad), "--out", str(tmp_path / "e.csv"),
                      "--engine", "spark")
    assert rc == 2 and err == err1 and not (tmp_path / "e.csv").exists()


def test_skip_invalid_reports_the_same_refusals(
    cohort: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = _bad_cohort(cohort, tmp_path)
    rc1, out1, err1 = _cli(capsys, "assess", str(bad), "--json", "--skip-invalid")
    rc2, out2, err2 = _cli(capsys, "assess", str(bad), "--json", "--skip-invalid",
                           "--engine", "spark")
    assert (rc1, rc2) == (0, 0)
    assert err2 == err1 and len(err1.splitlines()) == 2  # the bad date and the duplicate
    assert "appears more than once" in err1
    assert out2 == out1 and len(out1.splitlines()) == 58


def test_lost_worker_is_retried_without_duplicate_output(
    cohort: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from cmltrack.domain.options import AssessOptions
    from cmltrack.engines import spark as sp

    rc, single, _ = _cli(capsys, "assess", str(cohort), "--json")
    assert rc == 0
    marker = tmp_path / "failed-once"
    source = sp.read_source(sp.start(), str(cohort))
    payload = functools.partial(
        sp.assessment_line, options=AssessOptions(), as_of=None, render=contract_line
    )
    results = sp.per_patient(
        source, payload, (sp.ASSESSMENT_OUT,), today=dt.date.today(), fail_once=str(marker)
    )
    try:
        got = "".join(r["out"] + "\n" for r in sp.in_order(sp.accepted(results), "out"))
    finally:
        results.unpersist()
    assert marker.exists()  # a Python worker died mid-job ...
    assert got == single  # ... and its task's retry wrote each patient once


def test_unknown_engine_and_out_without_spark_refused(
    cohort: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, _, err = _cli(capsys, "assess", str(cohort), "--engine", "dask")
    assert rc == 2 and "unknown engine 'dask'" in err
    rc, _, err = _cli(capsys, "assess", str(cohort), "--out", str(tmp_path / "x"),
                      "--engine", "spark")
    assert rc == 2 and "a folder --out is a Parquet dataset" in err
