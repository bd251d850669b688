"""Bad input is refused with an InputError naming file, JSON path or CSV row, and field."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from io_strategies import patient_records

from cmltrack.domain.records import PatientRecord
from cmltrack.errors import InputError
from cmltrack.io import (
    load_records,
    read_records,
    record_to_dict,
    validate_record,
    write_csv_tables,
)

TODAY = dt.date(2026, 1, 1)
GOOD = {"id": "P0", "birth_date": "1960-01-01"}


def _obs(**fields: Any) -> dict[str, Any]:
    return {
        "id": "P7",
        "birth_date": "1960-01-01",
        "observations": [
            {"date": "2020-01-01", "kind": "blood", "wbc": 5},
            {"date": "2020-03-01", **fields},
        ],
    }


def _refused(path: Path) -> InputError:
    with pytest.raises(InputError) as exc:
        load_records(path, today=TODAY)
    return exc.value


# (record, code, where in the message) for the second record of a JSON array.
JSON_CASES = [
    (
        {**GOOD, "id": "P7", "weight": 70},
        "unknown_field",
        "$[1].weight, patient 'P7', field 'weight'",
    ),
    (_obs(kind="blood", wbcc=5), "unknown_field", "$[1].observations[1].wbcc"),
    (_obs(kind="serology", wbc=5), "unknown_value", "$[1].observations[1].kind"),
    (_obs(wbc=5), "missing_field", "$[1].observations[1].kind"),
    (
        _obs(kind="blood", wbc={"value": 5, "unit": "mg/dL"}),
        "bad_unit",
        "$[1].observations[1].wbc, patient 'P7', field 'wbc'",
    ),
    (
        _obs(kind="blood", platelets=-1),
        "impossible_value",
        "$[1].observations[1].platelets, patient 'P7', field 'platelets'",
    ),
    (_obs(kind="cytogenetics", ph_pct=100.5), "impossible_value", "$[1].observations[1].ph_pct"),
    (
        _obs(kind="cytogenetics", ph_pos=21, metaphases=20),
        "inconsistent",
        "$[1].observations[1].ph_pos, patient 'P7', field 'ph_pos'",
    ),
    (_obs(kind="blood", wbc="high"), "bad_type", "$[1].observations[1].wbc"),
    (
        _obs(kind="blood", wbc={"value": "high", "unit": "/uL"}),
        "bad_type",
        "$[1].observations[1].wbc",
    ),
    (_obs(kind="pcr", bcr_abl1_is="<0.01"), "bad_type", "$[1].observations[1].bcr_abl1_is"),
    (_obs(kind="mutation", mutations=["T315"]), "unknown_value", "$[1].observations[1].mutations"),
    (
        {**_obs(kind="blood", wbc=5), "birth_date": "2020-02-01"},
        "impossible_value",
        "$[1].observations[0].date, patient 'P7', field 'date'",
    ),
    (
        {**GOOD, "id": "P7", "events": [{"date": "2026-01-02", "kind": "death"}]},
        "impossible_value",
        "$[1].events[0].date",
    ),
    (
        {**GOOD, "id": "P7", "events": [{"date": "2020-01-02", "kind": "relapse"}]},
        "unknown_value",
        "$[1].events[0].kind",
    ),
    (
        {**GOOD, "id": "P7", "events": [{"date": "2020-02-30", "kind": "death"}]},
        "bad_date",
        "$[1].events[0].date",
    ),
    (
        {**GOOD, "id": "P7", "diagnosis": {"date": "2020-01-01", "age": 58.9}},
        "inconsistent",
        "$[1].diagnosis.age",
    ),
    ({"sex": "F"}, "missing_field", "$[1].id, field 'id'"),
]


@pytest.mark.parametrize(("record", "code", "where"), JSON_CASES)
def test_json_refusals_name_path_and_field(
    tmp_path: Path, record: dict[str, Any], code: str, where: str
) -> None:
    path = tmp_path / "patients.json"
    path.write_text(json.dumps([GOOD, record]))
    err = _refused(path)
    assert err.code == code
    assert str(err).startswith(f"{path}, {where}"), str(err)


def test_future_date_is_judged_against_today(tmp_path: Path) -> None:
    path = tmp_path / "one.json"
    path.write_text(json.dumps({**GOOD, "events": [{"date": "2026-01-01", "kind": "death"}]}))
    assert len(load_records(path, today=dt.date(2026, 1, 1))) == 1
    assert _refusal_at(path, dt.date(2025, 12, 31)).path == "$.events[0].date"


def test_a_therapy_end_in_the_future_is_refused(tmp_path: Path) -> None:
    # an end after today would be a plan, and would move the default as_of there
    path = tmp_path / "one.json"
    line = {"drug": "imatinib", "dose_mg_per_day": 400, "start": "2020-01-10",
            "end": "2026-01-02", "reason_end": "tfr"}
    path.write_text(json.dumps({**GOOD, "therapy": [line]}))
    assert len(load_records(path, today=dt.date(2026, 1, 2))) == 1
    err = _refusal_at(path, dt.date(2026, 1, 1))
    assert (err.path, err.field) == ("$.therapy[0].end", "end")


def test_an_upper_limit_of_normal_of_zero_is_refused(tmp_path: Path) -> None:
    # ALT 30 against a ULN of 0 would be "> 20 x ULN", grade 4: a ULN must be > 0
    path = tmp_path / "one.json"
    chem = {"kind": "chemistry", "date": "2020-03-01", "alt": 30, "alt_uln": 0}
    path.write_text(json.dumps({**GOOD, "observations": [chem]}))
    err = _refusal_at(path, TODAY)
    assert (err.path, err.field) == ("$.observations[0].alt_uln", "alt_uln")
    assert "must be > 0" in str(err)


@pytest.mark.parametrize(("value", "shown"), [(True, "True"), ("5.5", "'5.5'")])
def test_a_boolean_or_text_where_a_number_belongs_is_refused(
    tmp_path: Path, value: Any, shown: str
) -> None:
    # lax parsing read true as 1 x10^9/L and "5.5" as 5.5: JSON numbers must be numbers
    path = tmp_path / "one.json"
    blood = {"kind": "blood", "date": "2020-03-01", "wbc": value}
    path.write_text(json.dumps({**GOOD, "observations": [blood]}))
    err = _refusal_at(path, TODAY)
    assert (err.path, err.field) == ("$.observations[0].wbc", "wbc")
    assert f"{shown} is not a number" in str(err)


def _refusal_at(path: Path, today: dt.date) -> InputError:
    with pytest.raises(InputError) as exc:
        load_records(path, today=today)
    return exc.value


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("[{]", "not valid JSON"),
        ('{"id": "x", "birth_date": NaN}', "NaN"),
        ("[1, 2]", "$[0]: expected a patient object"),
        ('"P1"', "$: expected a patient object"),
    ],
)
def test_malformed_json(tmp_path: Path, text: str, where: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text)
    err = _refused(path)
    assert err.code == "bad_format" and where in str(err) and str(path) in str(err)


def _jsonl(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "cohort.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_jsonl_is_lazy_and_names_the_line(tmp_path: Path) -> None:
    lines = [json.dumps({"id": f"P{i}"}) for i in range(1, 3)] + ['{"id": "P3",', "{}"]
    records = read_records(_jsonl(tmp_path, lines), today=TODAY)
    assert [next(records).id, next(records).id] == ["P1", "P2"]
    with pytest.raises(InputError, match=r"cohort.jsonl, line 3: not valid JSON"):
        next(records)


def test_jsonl_record_error_names_line_and_path(tmp_path: Path) -> None:
    bad = _obs(kind="blood", platelets=-5)
    path = _jsonl(tmp_path, [json.dumps(GOOD), "", json.dumps(bad)])
    err = _refused(path)
    assert str(err) == (
        f"{path}, line 3, $.observations[1].platelets, patient 'P7', field 'platelets': "
        "-5 is impossible here (must be >= 0)"
    )


def test_jsonl_duplicate_id_and_bad_bytes(tmp_path: Path) -> None:
    path = _jsonl(tmp_path, [json.dumps(GOOD), json.dumps(GOOD)])
    assert _refused(path).code == "duplicate"
    path.write_bytes(json.dumps(GOOD).encode() + b'\n{"id": "\xff"}\n')
    assert "line 2: not valid JSON" in str(_refused(path))


def test_on_error_skips_refused_records(tmp_path: Path) -> None:
    path = _jsonl(
        tmp_path,
        [
            json.dumps(GOOD),
            "{bad",
            json.dumps(_obs(kind="blood", wbc=-1)),
            json.dumps({"id": "P9"}),
        ],
    )
    errors: list[InputError] = []
    ids = [r.id for r in read_records(path, today=TODAY, on_error=errors.append)]
    assert ids == ["P0", "P9"]
    assert [e.code for e in errors] == ["bad_format", "impossible_value"]


def test_missing_path_and_unknown_form(tmp_path: Path) -> None:
    assert _refused(tmp_path / "nope.json").code == "not_found"
    (tmp_path / "x.txt").write_text("")
    assert _refused(tmp_path / "x.txt").code == "bad_format"


# ----------------------------------------------------------------------------- CSV tables

PATIENTS = (
    "patient_id,sex,birth_date,diagnosis_date,hemoglobin\nP1,F,1960-01-01,2020-01-01,11\n"
    "P2,M,1970-01-01,2020-02-01,12\n"
)
LABS = "patient_id,date,test,value,unit\nP1,2020-03-01,wbc,5,\nP1,2020-03-01,platelets,210,\n"


def _tables(tmp_path: Path, **tables: str | None) -> Path:
    folder = tmp_path / "clinic"
    folder.mkdir()
    texts = {"patients": PATIENTS, "labs": LABS, **tables}
    for name, text in texts.items():
        if text is not None:
            (folder / f"{name}.csv").write_text(text)
    return folder


# Row numbers count the header as row 1 (as a spreadsheet does): the appended row is row 4.
CSV_LAB_CASES = [
    ("P2,2020-03-01,wbcc,5,", "unknown_value", "labs.csv, row 4, patient 'P2', field 'test'"),
    ("P2,2020-03-01,wbc,abc,", "bad_type", "labs.csv, row 4, patient 'P2', field 'wbc'"),
    ("P2,2020-03-01,wbc,nan,", "bad_type", "labs.csv, row 4, patient 'P2', field 'wbc'"),
    ("P2,2020-03-01,wbc,-0.1,", "impossible_value", "labs.csv, row 4, patient 'P2', field 'wbc'"),
    (
        "P2,2020-03-01,ph_pct,101,",
        "impossible_value",
        "labs.csv, row 4, patient 'P2', field 'ph_pct'",
    ),
    (
        "P2,2020-03-01,hemoglobin,120,mg",
        "bad_unit",
        "labs.csv, row 4, patient 'P2', field 'hemoglobin'",
    ),
    ("P2,2020-03-01,control_gene,ABL1,%", "bad_unit", "labs.csv, row 4"),
    ("P3,2020-03-01,wbc,5,", "inconsistent", "labs.csv, row 4, patient 'P3', field 'patient_id'"),
    ("P1,2020-03-01,wbc,6,", "duplicate", "labs.csv, row 4, patient 'P1', field 'wbc'"),
    ("P2,1969-12-31,wbc,6,", "impossible_value", "labs.csv, row 4, patient 'P2', field 'date'"),
    ("P2,2026-01-02,wbc,6,", "impossible_value", "labs.csv, row 4, patient 'P2', field 'date'"),
    ("P2,2026-13-02,wbc,6,", "bad_date", "labs.csv, row 4, patient 'P2', field 'date'"),
    ("P2,2020-03-01,wbc,6,,x", "bad_format", "labs.csv, row 4"),
    (
        "P2,2020-03-01,detected,maybe,",
        "bad_type",
        "labs.csv, row 4, patient 'P2', field 'detected'",
    ),
    ("P2,2020-03-01,wbc,,", "missing_field", "labs.csv, row 4, patient 'P2', field 'wbc'"),
]


def test_csv_ph_pos_above_metaphases_names_the_ph_pos_row(tmp_path: Path) -> None:
    labs = LABS + "P2,2020-06-01,metaphases,20,\nP2,2020-06-01,ph_pos,25,\n"
    err = _refused(_tables(tmp_path, labs=labs))
    assert (err.code, err.row, err.field) == ("inconsistent", 5, "ph_pos")
    assert "ph_pos 25 exceeds metaphases 20" in str(err)


@pytest.mark.parametrize(
    ("tables", "code", "where"),
    [
        ({"patients": None}, "not_found", "patients.csv: patients.csv is required"),
        (
            {"patients": "patient_id,sex,weight\n"},
            "unknown_field",
            "patients.csv, row 1, field 'weight'",
        ),
        ({"patients": "sex\nF\n"}, "missing_field", "patients.csv, row 1, field 'patient_id'"),
        ({"patients": PATIENTS + "P1,F,,,\n"}, "duplicate", "patients.csv, row 4, patient 'P1'"),
        (
            {"patients": PATIENTS + "P3,X,,,\n"},
            "unknown_value",
            "patients.csv, row 4, patient 'P3', field 'sex'",
        ),
        (
            {"patients": PATIENTS + "P3,F,,,eleven\n"},
            "bad_type",
            "patients.csv, row 4, patient 'P3', field 'hemoglobin'",
        ),
        (
            {"patients": PATIENTS + "P3,F,1990-01-01,1989-06-01,\n"},
            "impossible_value",
            "patients.csv, row 4, patient 'P3', field 'diagnosis_date'",
        ),
        (
            {"therapy": "patient_id,drug,dose_mg_per_day,start\nP2,imatinib,-400,2020-02-10\n"},
            "impossible_value",
            "therapy.csv, row 2, patient 'P2', field 'dose_mg_per_day'",
        ),
        (
            {"therapy": "patient_id,drug,start\nP9,imatinib,2020-02-10\n"},
            "inconsistent",
            "therapy.csv, row 2, patient 'P9', field 'patient_id'",
        ),
        (
            {"events": "patient_id,date,event,detail\nP2,2021-01-01,relapse,\n"},
            "unknown_value",
            "events.csv, row 2, patient 'P2', field 'event'",
        ),
        (
            {"events": "patient_id,date,event,detail\nP2,2021-01-01,progression,chronic\n"},
            "unknown_value",
            "events.csv, row 2, patient 'P2', field 'detail'",
        ),
        *(({"labs": LABS + row + "\n"}, code, where) for row, code, where in CSV_LAB_CASES),
    ],
)
def test_csv_refusals_name_row_and_field(
    tmp_path: Path, tables: dict[str, str | None], code: str, where: str
) -> None:
    folder = _tables(tmp_path, **tables)
    err = _refused(folder)
    assert err.code == code
    assert str(err).startswith(f"{folder}/{where}"), str(err)


def test_csv_refusal_loads_nothing_of_that_record(tmp_path: Path) -> None:
    # P1 is fine, P2 is refused: the generator yields P1 whole, then raises for P2.
    labs = LABS + "P2,2020-03-01,wbc,5,\nP2,2020-03-01,anc,6,\n"
    records = read_records(_tables(tmp_path, labs=labs), today=TODAY)
    first = next(records)
    assert first.id == "P1" and len(first.observations) == 1
    with pytest.raises(InputError, match="row 5, patient 'P2', field 'anc': anc 6 exceeds wbc 5"):
        next(records)


# ------------------------------------------------------------------ properties of the locations

_NOT_NUMERIC = {
    "detected",
    "extramedullary_blasts",
    "control_gene",
    "aca",
    "aca_ph_neg",
    "mutation",
}


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(record=patient_records(pid="P1"), data=st.data())
def test_csv_error_row_is_the_corrupted_row(
    tmp_path_factory: pytest.TempPathFactory, record: PatientRecord, data: st.DataObject
) -> None:
    folder = tmp_path_factory.mktemp("t")
    write_csv_tables([record], folder)
    lines = (folder / "labs.csv").read_text().splitlines()
    numeric = [
        i
        for i, line in enumerate(lines)
        if i > 0 and line.split(",")[2] not in _NOT_NUMERIC and line.split(",")[3] != "undetected"
    ]
    assume(numeric)
    i = data.draw(st.sampled_from(numeric))
    pid, date, test, _, unit = lines[i].split(",")
    lines[i] = ",".join([pid, date, test, "n/a", unit])
    (folder / "labs.csv").write_text("\n".join(lines) + "\n")
    err = _refused(folder)
    # Line i of the file (0 = header) is spreadsheet row i + 1.
    assert (err.code, err.row, err.field, err.patient) == ("bad_type", i + 1, test, "P1")


@settings(max_examples=30, deadline=None)
@given(record=patient_records(pid="P1"), data=st.data())
def test_json_error_path_is_the_corrupted_field(record: PatientRecord, data: st.DataObject) -> None:
    raw = record_to_dict(record)
    numeric = [
        (i, k)
        for i, obs in enumerate(raw.get("observations", []))
        for k, v in obs.items()
        if type(v) in (int, float)
    ]
    assume(numeric)
    i, key = data.draw(st.sampled_from(numeric))
    raw["observations"][i][key] = -1
    with pytest.raises(InputError) as exc:
        validate_record(raw, today=TODAY, file="x.json")
    assert exc.value.path == f"$.observations[{i}].{key}"
    assert (exc.value.code, exc.value.field) == ("impossible_value", key)


def test_checks_on_a_whole_model_name_their_field(tmp_path: Path) -> None:
    # Unit hook and record-level checks report at the model; the reader finds the field.
    cases = [
        ({"diagnosis": {"hemoglobin": {"value": 12, "unit": "mg"}}}, "$.diagnosis.hemoglobin"),
        ({"therapy": [{"drug": "imatinib", "start": "2020-02-01", "end": "2020-01-01"}]},
         "$.therapy[0].end"),
        ({"events": [{"date": "2020-01-01", "kind": "death", "phase": "blast"}]},
         "$.events[0].phase"),
        ({"observations": [{"date": "2020-01-01", "kind": "pcr", "detected": False,
                            "bcr_abl1_is": 0.5}]}, "$.observations[0].detected"),
    ]
    for extra, path in cases:
        with pytest.raises(InputError) as exc:
            validate_record({"id": "X", **extra}, today=TODAY, file="p.json")
        assert exc.value.path == path, (exc.value, path)


def test_csv_that_is_not_utf8_is_refused_naming_the_file(tmp_path: Path) -> None:
    folder = _tables(tmp_path)
    # "µmol/L" saved as Latin-1: the byte 0xb5 is not UTF-8
    (folder / "labs.csv").write_bytes(
        LABS.encode() + "P1,2020-03-02,creatinine,80,\u00b5mol/L\n".encode("latin-1"))
    err = _refused(folder)
    assert err.code == "bad_format" and err.file == str(folder / "labs.csv")
    assert "is not UTF-8 text (a byte 0xb5)" in str(err)
