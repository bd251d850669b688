"""Writers: every form round-trips exactly, streams, and never leaves a half-written file."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from io_strategies import patient_records

from cmltrack.domain.records import PatientRecord
from cmltrack.errors import InputError
from cmltrack.io import (
    load_records,
    read_records,
    record_to_dict,
    record_to_json,
    write_csv_tables,
    write_json,
    write_jsonl,
)

TODAY = dt.date(2026, 1, 1)
_SETTINGS = settings(max_examples=40, deadline=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture])


def _cohort() -> st.SearchStrategy[list[PatientRecord]]:
    return st.lists(st.integers(0, 10**6), max_size=4, unique=True).flatmap(
        lambda ids: st.tuples(*(patient_records(pid=f"P{i}") for i in ids)).map(list)
    )


@_SETTINGS
@given(records=_cohort())
def test_every_form_round_trips_exactly(tmp_path: Path, records: list[PatientRecord]) -> None:
    write_json(records, tmp_path / "a.json")
    write_json(records, tmp_path / "b.json", indent=2)
    write_jsonl(records, tmp_path / "c.jsonl")
    write_csv_tables(records, tmp_path / "csv")
    for name in ("a.json", "b.json", "c.jsonl", "csv"):
        assert load_records(tmp_path / name, today=TODAY) == records, name


@_SETTINGS
@given(record=patient_records())
def test_compact_json_text_and_dict_agree(record: PatientRecord) -> None:
    as_dict = record_to_dict(record)
    assert json.loads(record_to_json(record)) == as_dict
    assert PatientRecord.model_validate(as_dict) == record
    # Compact: nothing None, no empty list left anywhere (walk the values: an id may be the
    # text "null").
    def walk(v: object) -> None:
        assert v is not None and v != []
        if isinstance(v, dict):
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)

    walk(as_dict)


def test_compact_shape_omits_empty_and_none() -> None:
    record = PatientRecord.model_validate(
        {"id": "X", "observations": [{"date": "2020-01-01", "kind": "mutation", "mutations": []},
                                     {"date": "2020-01-01", "kind": "pcr", "detected": False}]}
    )
    assert record_to_dict(record) == {
        "id": "X",
        "observations": [{"date": "2020-01-01", "kind": "mutation"},
                         {"date": "2020-01-01", "kind": "pcr", "detected": False}],
    }


def _records_then_failure(records: list[PatientRecord]) -> Iterator[PatientRecord]:
    yield from records
    raise RuntimeError("the source broke mid-way")


@pytest.mark.parametrize("form", ["json", "jsonl", "csv"])
def test_writers_are_atomic(tmp_path: Path, form: str) -> None:
    old = [PatientRecord(id="OLD")]
    new = [PatientRecord(id="N1"), PatientRecord(id="N2")]
    target = tmp_path / {"json": "x.json", "jsonl": "x.jsonl", "csv": "tables"}[form]
    write = {"json": write_json, "jsonl": write_jsonl, "csv": write_csv_tables}[form]
    assert write(old, target) == 1
    with pytest.raises(RuntimeError):
        write(_records_then_failure(new), target)
    # The old content is intact and no temp file is left behind.
    assert load_records(target, today=TODAY) == old
    folder = target if form == "csv" else tmp_path
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]


def test_writers_stream_a_generator(tmp_path: Path) -> None:
    gen = (PatientRecord(id=f"P{i}") for i in range(1000))
    assert write_jsonl(gen, tmp_path / "x.jsonl") == 1000
    assert [r.id for r in read_records(tmp_path / "x.jsonl", today=TODAY)][-1] == "P999"


def test_empty_cohort(tmp_path: Path) -> None:
    for name, write in (("e.json", write_json), ("e.jsonl", write_jsonl),
                        ("e", write_csv_tables)):
        assert write([], tmp_path / name) == 0
        assert load_records(tmp_path / name, today=TODAY) == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"observations": [{"date": "2020-01-01", "kind": "blood", "wbc": 5},
                           {"date": "2020-01-01", "kind": "blood", "wbc": 6}]},
         "two blood observations on 2020-01-01"),
        ({"observations": [{"date": "2020-01-01", "kind": "marrow"}]}, "has no values"),
        ({"events": [{"date": "2020-01-01", "kind": "death", "cause": "CML", "note": "x"}]},
         "death event with note"),
    ],
)
def test_records_the_tables_cannot_hold_are_refused(
    tmp_path: Path, data: dict[str, object], message: str
) -> None:
    record = PatientRecord.model_validate({"id": "X", **data})
    with pytest.raises(InputError, match=message):
        write_csv_tables([record], tmp_path / "t")
    assert not (tmp_path / "t" / "patients.csv").exists()


def test_csv_tables_in_any_patient_order_read_the_same(tmp_path: Path) -> None:
    # Child tables whose patients come in another order than patients.csv are grouped in
    # memory (the streamed merge needs patients.csv order); the records are the same.
    records = [
        PatientRecord.model_validate(
            {"id": f"P{i}", "therapy": [{"drug": "imatinib", "start": "2020-01-01"}],
             "observations": [{"date": "2020-02-01", "kind": "blood", "wbc": 5 + i},
                              {"date": "2020-02-01", "kind": "pcr", "bcr_abl1_is": 10.0 / i}],
             "events": [{"date": "2021-01-01", "kind": "off_study"}]}
        )
        for i in range(1, 5)
    ]
    folder = tmp_path / "t"
    write_csv_tables(records, folder)
    for name in ("therapy.csv", "labs.csv", "events.csv"):
        header, *rows = (folder / name).read_text().splitlines()
        by_patient: dict[str, list[str]] = {}
        for row in rows:
            by_patient.setdefault(row.split(",")[0], []).append(row)
        reordered = [row for pid in reversed(by_patient) for row in by_patient[pid]]
        (folder / name).write_text("\n".join([header, *reordered]) + "\n")
    assert load_records(folder, today=TODAY) == records
    assert load_records(folder / "patients.csv", today=TODAY) == records


@pytest.mark.parametrize("name", ["c.jsonl.gz", "c.json.gz"])
def test_gzip_forms_round_trip(tmp_path: Path, name: str) -> None:
    records = [PatientRecord(id="P1", sex="F"), PatientRecord(id="P2")]
    write = write_jsonl if ".jsonl" in name else write_json
    write(records, tmp_path / name)
    assert (tmp_path / name).read_bytes()[:2] == b"\x1f\x8b"  # gzip magic number
    assert load_records(tmp_path / name, today=TODAY) == records


def test_damaged_gzip_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl.gz"
    write_jsonl([PatientRecord(id=f"P{i}") for i in range(100)], path)
    path.write_bytes(path.read_bytes()[:-12])  # cut the stream short
    with pytest.raises(InputError, match=r"c\.jsonl\.gz: cannot be read"):
        load_records(path, today=TODAY)


def test_csv_lab_values_of_every_type(tmp_path: Path) -> None:
    folder = tmp_path / "t"
    folder.mkdir()
    (folder / "patients.csv").write_text(
        "patient_id,diagnosis_date,aca\nP1,2020-01-01,+der(22)t(9;22); +8\n"
    )
    (folder / "labs.csv").write_text(
        "patient_id,date,test,value,unit\n"
        "P1,2020-04-01,platelets,245000,/uL\n"
        "P1,2020-04-01,hemoglobin,7.0,mmol/L\n"
        "P1,2020-04-01,wbc,6.1,10^3/uL\n"
        "P1,2020-04-01,extramedullary_blasts,false,\n"
        "P1,2020-04-01,bcr_abl1_is,Undetected,\n"
        "P1,2020-04-01,control_gene,GUSB,\n"
        "P1,2020-04-01,control_copies,250000,\n"
        "P1,2020-04-01,mutation,T315I;E255K,\n"
        "P1,2020-04-01,mutation,F317L,\n"
        "P1,2020-04-01,ph_pos,0,\n"
        "P1,2020-04-01,metaphases,20,\n"
        "P1,2020-04-01,aca_ph_neg,-7;+8,\n"
    )
    (record,) = load_records(folder, today=TODAY)
    assert record.diagnosis is not None and record.diagnosis.aca == ("+der(22)t(9;22)", "+8")
    blood, pcr, mutation, cyto = record.observations
    # By hand from cmltrack.units: 245000/uL / 1000 = 245 x10^9/L; 7.0 mmol/L x 1.6113 =
    # 11.2791 g/dL; 10^3/uL is 10^9/L.
    assert (blood.kind, blood.platelets, blood.wbc) == ("blood", 245.0, 6.1)
    assert blood.hemoglobin == pytest.approx(11.2791)
    assert blood.extramedullary_blasts is False
    assert (pcr.kind, pcr.bcr_abl1_is, pcr.detected) == ("pcr", None, False)
    assert (pcr.control_gene, pcr.control_copies) == ("GUSB", 250000)
    assert mutation.mutations == ("T315I", "E255K", "F317L")
    assert (cyto.ph_pos, cyto.metaphases, cyto.aca_ph_neg) == (0, 20, ("-7", "+8"))
