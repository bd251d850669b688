"""Endpoint tables written chunk by chunk hold what one pandas frame of every row holds."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from cmltrack.cli.demo import example_path
from cmltrack.domain.endpoints import COLUMNS
from cmltrack.errors import InputError
from cmltrack.io import read_records
from cmltrack.io.tables import write_table
from cmltrack.stats.tables import derive_cohort_tables, patient_endpoint_rows


def _rows() -> list[dict[str, object]]:
    recs = list(read_records(example_path("jsonl")))
    return [r for rows in patient_endpoint_rows(recs) for r in rows]


@pytest.mark.parametrize("chunk", [1, 7, 10_000])
def test_chunked_csv_and_parquet_equal_the_whole_frame(tmp_path: Path, chunk: int) -> None:
    frame, _ = derive_cohort_tables(read_records(example_path("jsonl")))
    rows = _rows()
    assert len(rows) == len(frame) > 7
    whole = tmp_path / "whole.csv"
    frame.to_csv(whole, index=False)
    assert write_table(iter(rows), tmp_path / "a.csv", COLUMNS, chunk=chunk) == len(frame)
    assert (tmp_path / "a.csv").read_bytes() == whole.read_bytes()
    assert write_table(iter(rows), tmp_path / "a.parquet", COLUMNS, chunk=chunk) == len(frame)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "a.parquet"), frame)


def test_no_rows_write_the_header_and_a_bad_suffix_is_refused(tmp_path: Path) -> None:
    assert write_table([], tmp_path / "e.csv", COLUMNS) == 0
    assert (tmp_path / "e.csv").read_text().strip() == ",".join(COLUMNS)
    with pytest.raises(InputError, match=r"must end in \.csv, \.csv\.gz or \.parquet"):
        write_table([], tmp_path / "e.txt", COLUMNS)
    assert not (tmp_path / "e.txt").exists()


def test_a_failure_midway_leaves_the_old_table(tmp_path: Path) -> None:
    out = tmp_path / "e.csv"
    out.write_text("old\n")

    def rows() -> object:
        yield from _rows()[:3]
        raise InputError("line 9: broken", code="bad_format")

    with pytest.raises(InputError):
        write_table(rows(), out, COLUMNS, chunk=2)  # type: ignore[arg-type]
    assert out.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["e.csv"]
