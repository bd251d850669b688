"""Hostile input found by fuzzing (issue 17): each is refused at the reader, one line, exit 2.

Deep nesting, a header of 100,000 repeated names, a 50 MB line or patient id, NaN/Infinity in a
``.json`` file: each case below is the shape that failed before (RecursionError, a pandas run
of more than 40 s, an id echoed back, a message without a position).
"""

from __future__ import annotations

import datetime as dt
import gzip
import time
from pathlib import Path

import pytest

from cmltrack.cli.app import run
from cmltrack.domain.records import MAX_PATIENT_ID
from cmltrack.errors import InputError
from cmltrack.io import Limits, load_records, read_records
from cmltrack.io.limits import MAX_JSON_DEPTH

TODAY = dt.date(2026, 1, 1)
GOOD = '{"id": "P1", "birth_date": "1960-01-01"}'


def _refusal(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    assert run(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("cmltrack: error: "), err
    return err


def _deep(levels: int) -> str:
    return "[" * levels + "]" * levels


@pytest.mark.parametrize("levels", [MAX_JSON_DEPTH + 1, 1_000, 100_000])
@pytest.mark.parametrize("suffix", [".json", ".jsonl", ".json.gz"])
def test_deep_nesting_in_an_unknown_field_is_refused_with_its_position(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], levels: int, suffix: str
) -> None:
    text = '{"id": "P1",\n "zz": ' + _deep(levels) + "}"
    if suffix == ".jsonl":
        text = GOOD + "\n" + text.replace("\n", "") + "\n"
    f = tmp_path / f"deep{suffix}"
    data = text.encode()
    f.write_bytes(gzip.compress(data) if suffix.endswith(".gz") else data)
    err = _refusal(capsys, ["assess", str(f)])
    assert f"nested deeper than {MAX_JSON_DEPTH} levels" in err
    # The field's first '[' is at column 8 (line 2 of the file) or 20 (a JSON Lines line);
    # the record is level 1, so the 200th '[' is level 201, the first past the limit.
    if suffix == ".jsonl":
        assert f"deep.jsonl, line 2: not valid JSON: nested deeper than {MAX_JSON_DEPTH} " \
               f"levels (column {20 + MAX_JSON_DEPTH})" in err, err
    else:
        assert f"(line 2, column {8 + MAX_JSON_DEPTH})" in err, err


def test_nesting_within_the_limit_reaches_validation(tmp_path: Path) -> None:
    f = tmp_path / "p.json"
    f.write_text('{"id": "P1", "zz": ' + _deep(MAX_JSON_DEPTH - 1) + "}")
    with pytest.raises(InputError) as exc:
        load_records(f, today=TODAY)
    assert exc.value.code == "unknown_field" and exc.value.field == "zz"


def test_infinity_in_json_names_line_and_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tmp_path / "p.json"
    f.write_text('[{"id": "P1",\n  "diagnosis": {"wbc": NaN}}]')
    err = _refusal(capsys, ["assess", str(f)])
    # Line 2 is '  "diagnosis": {"wbc": NaN}}]': N is its 24th character.
    assert "NaN is not a number JSON allows (line 2, column 24)" in err


def test_the_same_file_read_whole_is_within_the_limit_and_not_over_it(tmp_path: Path) -> None:
    f = tmp_path / "p.json"
    f.write_text(GOOD)
    size_mb = f.stat().st_size / 1024 / 1024
    assert [r.id for r in load_records(f, today=TODAY)] == ["P1"]
    assert [r.id for r in read_records(f, today=TODAY, limits=Limits(max_file_mb=size_mb))]
    with pytest.raises(InputError, match="larger than the limit") as exc:
        list(read_records(f, today=TODAY, limits=Limits(max_file_mb=size_mb * 0.99)))
    assert exc.value.file == str(f)


def test_a_gzip_bomb_is_refused_by_its_decompressed_size(tmp_path: Path) -> None:
    f = tmp_path / "p.json.gz"
    f.write_bytes(gzip.compress(b" " * 3_000_000 + GOOD.encode()))
    with pytest.raises(InputError, match="larger than the limit of 2 MB"):
        list(read_records(f, today=TODAY, limits=Limits(max_file_mb=2)))


def test_a_long_jsonl_line_is_refused_by_number_before_it_is_read_whole(tmp_path: Path) -> None:
    f = tmp_path / "p.jsonl"
    f.write_text(GOOD + "\n" + '{"id": "' + "x" * 3_000_000 + '"}\n' + GOOD + "\n")
    got = read_records(f, today=TODAY, limits=Limits(max_line_mb=1))
    assert next(got).id == "P1"
    with pytest.raises(InputError) as exc:
        next(got)
    assert exc.value.path == "line 2" and "CMLTRACK_MAX_LINE_MB" in exc.value.message


def test_limits_come_from_the_environment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    f = tmp_path / "p.json"
    f.write_text(GOOD)
    monkeypatch.setenv("CMLTRACK_MAX_FILE_MB", "0.00001")
    err = _refusal(capsys, ["assess", str(f)])
    assert "larger than the limit of 1e-05 MB" in err
    monkeypatch.setenv("CMLTRACK_MAX_FILE_MB", "-3")
    assert "CMLTRACK_MAX_FILE_MB" in _refusal(capsys, ["assess", str(f)])


@pytest.mark.parametrize("suffix", [".json", ".jsonl", "csv"])
def test_a_patient_id_is_bounded_and_never_echoed(tmp_path: Path, suffix: str) -> None:
    long_id = "A" * 1_000_000
    if suffix == "csv":
        f = tmp_path / "t"
        f.mkdir()
        (f / "patients.csv").write_text(f"patient_id\nP1\n{long_id[:100_000]}\n")
    else:
        f = tmp_path / f"p{suffix}"
        f.write_text(f'{{"id": "{long_id}"}}\n')
    with pytest.raises(InputError) as exc:
        load_records(f, today=TODAY)
    assert f"over the limit of {MAX_PATIENT_ID}" in str(exc.value)
    assert len(str(exc.value)) < 300


def test_an_id_at_the_limit_is_taken(tmp_path: Path) -> None:
    f = tmp_path / "p.json"
    f.write_text(f'{{"id": "{"A" * MAX_PATIENT_ID}"}}')
    assert load_records(f, today=TODAY)[0].id == "A" * MAX_PATIENT_ID


def test_a_free_text_field_is_bounded_and_configurable(tmp_path: Path) -> None:
    f = tmp_path / "p.json"
    note = "n" * 20_001
    f.write_text('{"id": "P1", "events": [{"date": "2020-01-01", "kind": "off_study", '
                 f'"note": "{note}"}}]}}')
    with pytest.raises(InputError) as exc:
        load_records(f, today=TODAY)
    assert exc.value.path == "$.events[0].note" and "20001 characters" in exc.value.message
    assert len(str(exc.value)) < 300
    got = list(read_records(f, today=TODAY, limits=Limits(max_text_chars=20_001)))
    assert got[0].events[0].note == note


def test_a_long_csv_line_is_refused(tmp_path: Path) -> None:
    (tmp_path / "patients.csv").write_text("patient_id,sex\nP1,F\n" + "P2," + "x" * 2_000_000
                                           + "\n")
    with pytest.raises(InputError) as exc:
        load_records(tmp_path, today=TODAY)
    # A cell is bounded by the csv module (131,072 characters), the line by the limits.
    assert exc.value.row == 3 and "field larger than field limit (131072)" in str(exc.value)
    with pytest.raises(InputError) as exc:
        list(read_records(tmp_path, today=TODAY, limits=Limits(max_line_mb=1)))
    assert exc.value.path == "line 3" and "CMLTRACK_MAX_LINE_MB" in exc.value.message


# ------------------------------------------------------------------------- statistics CSV


def _stats(path: Path) -> list[str]:
    return ["stats", "km", str(path), "--time", "months", "--event", "dead", "--json"]


def test_a_header_of_100000_repeated_names_is_refused_fast(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    f = tmp_path / "d.csv"
    f.write_text(",".join(["months"] * 100_000) + "\n" + ",".join(["1"] * 100_000) + "\n")
    start = time.perf_counter()
    assert "100000 columns, over the limit of 1000" in _refusal(capsys, _stats(f))
    # With the column limit raised the duplicate itself is named, still before pandas.
    monkeypatch.setenv("CMLTRACK_MAX_COLUMNS", "200000")
    err = _refusal(capsys, _stats(f))
    assert "row 1, field 'months': column 'months' appears twice (columns 1 and 2)" in err
    # The harness's hang bound (it ran for more than 40 s before; well under 1 s now, quiet).
    assert time.perf_counter() - start < 20


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("months,dead,months", "field 'months': column 'months' appears twice (columns 1 and 3)"),
        ("months, dead,dead ", "field 'dead': column 'dead' appears twice (columns 2 and 3)"),
        ("months,,dead", "row 1: column 2 has no name"),
        ("months,dead, ", "row 1: column 3 has no name"),
    ],
)
def test_duplicate_and_empty_column_names_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], header: str, message: str
) -> None:
    f = tmp_path / "d.csv"
    f.write_text(header + "\n1,0,2\n")
    for cmd in (_stats(f), ["stats", "cox", str(f), "--time", "months", "--event", "dead",
                            "--covariates", "dead"],
                ["stats", "cif", str(f), "--time", "months", "--status", "dead"]):
        assert message in _refusal(capsys, cmd)


def test_a_long_header_line_is_refused_without_reading_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    f = tmp_path / "d.csv"
    f.write_text("m" * 2_000_000 + "\n1\n")
    monkeypatch.setenv("CMLTRACK_MAX_LINE_MB", "1")
    assert "line 1: the line is larger than the limit of 1 MB" in _refusal(capsys, _stats(f))


def test_a_statistics_table_over_the_file_limit_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    f = tmp_path / "d.csv"
    f.write_text("months,dead\n" + "1,0\n" * 1000)
    monkeypatch.setenv("CMLTRACK_MAX_FILE_MB", "0.001")
    assert "larger than the limit of 0.001 MB" in _refusal(capsys, _stats(f))


def test_a_cox_fit_the_data_cannot_give_names_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Found by the fuzz harness: age2 = 2 x age makes the information matrix singular.
    f = tmp_path / "d.csv"
    f.write_text("months,dead,age,age2\n3,1,50,100\n5,0,60,120\n7,1,70,140\n9,1,40,80\n")
    err = _refusal(capsys, ["stats", "cox", str(f), "--time", "months", "--event", "dead",
                            "--covariates", "age,age2", "--json"])
    assert f"{f}: the information matrix is singular" in err
