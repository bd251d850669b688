"""The record fields the second-line label rules read (clinical-rules-2 section 10): ECG QTcF,
lipase, amylase and alkaline phosphatase with their ULN, graded adverse events and
``related_to_therapy``, in JSON, JSON Lines and a CSV folder, with their refusals."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from cmltrack.errors import InputError
from cmltrack.io import load_records, write_csv_tables

TODAY = dt.date(2026, 1, 1)

RECORD: dict[str, Any] = {
    "id": "N1",
    "therapy": [{"drug": "nilotinib", "dose_mg_per_day": 800, "start": "2022-01-01"}],
    "observations": [
        {"date": "2022-01-01", "kind": "ecg", "qtcf_ms": 421},
        {"date": "2022-02-01", "kind": "chemistry", "lipase": 130, "lipase_uln": 60,
         "amylase": 90, "amylase_uln": 100, "alp": 100, "alp_uln": 120},
        {"date": "2022-02-01", "kind": "blood", "anc": 0.8, "platelets": 90,
         "related_to_therapy": True},
    ],
    "events": [{"date": "2022-02-03", "kind": "adverse_event", "term": "pleural_effusion",
                "grade": 2}],
}


def _json(tmp_path: Path, record: dict[str, Any], name: str = "r.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(record) if name.endswith(".json") else json.dumps(record) + "\n")
    return path


@pytest.mark.parametrize("name", ["r.json", "r.jsonl"])
def test_json_reads_the_new_fields(tmp_path: Path, name: str) -> None:
    (rec,) = load_records(_json(tmp_path, RECORD, name), today=TODAY)
    ecg, chem, blood = rec.observations
    assert ecg.kind == "ecg" and ecg.qtcf_ms == 421
    assert (chem.lipase, chem.lipase_uln, chem.alp_uln) == (130, 60, 120)
    assert blood.related_to_therapy is True
    (event,) = rec.events
    assert (event.kind, event.term, event.grade) == ("adverse_event", "pleural_effusion", 2)


def test_csv_folder_round_trip(tmp_path: Path) -> None:
    (rec,) = load_records(_json(tmp_path, RECORD), today=TODAY)
    folder = tmp_path / "tables"
    folder.mkdir()
    write_csv_tables([rec], folder)
    events = (folder / "events.csv").read_text()
    assert "N1,2022-02-03,adverse_event,pleural_effusion grade 2" in events
    labs = (folder / "labs.csv").read_text()
    assert "N1,2022-01-01,qtcf_ms,421," in labs and "related_to_therapy,true" in labs
    (back,) = load_records(folder, today=TODAY)
    assert back == rec


@pytest.mark.parametrize(("change", "code", "where"), [
    ({"observations": [{"date": "2022-01-01", "kind": "ecg", "qtcf_ms": 99}]},
     "impossible_value", "observations[0].qtcf_ms"),
    ({"observations": [{"date": "2022-01-01", "kind": "ecg", "qtcf_ms": 1001}]},
     "impossible_value", "observations[0].qtcf_ms"),
    ({"observations": [{"date": "2022-01-01", "kind": "ecg"}]}, "missing_field", "qtcf_ms"),
    ({"observations": [{"date": "2022-01-01", "kind": "chemistry", "lipase_uln": 0}]},
     "impossible_value", "lipase_uln"),
    ({"observations": [{"date": "2022-01-01", "kind": "chemistry", "amylase": -1}]},
     "impossible_value", "amylase"),
    ({"events": [{"date": "2022-01-01", "kind": "adverse_event", "term": "diarrhea"}]},
     "missing_field", "events[0]"),
    ({"events": [{"date": "2022-01-01", "kind": "adverse_event", "term": "rash", "grade": 2}]},
     "unknown_value", "events[0].term"),
    ({"events": [{"date": "2022-01-01", "kind": "adverse_event", "term": "diarrhea",
                  "grade": 6}]}, "impossible_value", "events[0].grade"),
    ({"events": [{"date": "2022-01-01", "kind": "death", "grade": 5}]},
     "inconsistent", "events[0]"),
])
def test_json_refusals(tmp_path: Path, change: dict[str, Any], code: str, where: str) -> None:
    with pytest.raises(InputError) as exc:
        load_records(_json(tmp_path, {"id": "N2", **change}), today=TODAY)
    assert exc.value.code == code, str(exc.value)
    assert where in str(exc.value)


def _folder(tmp_path: Path, events: str) -> Path:
    folder = tmp_path / "clinic"
    folder.mkdir()
    (folder / "patients.csv").write_text("patient_id\nP1\n")
    (folder / "events.csv").write_text("patient_id,date,event,detail\n" + events)
    return folder


@pytest.mark.parametrize(("detail", "code"), [
    ("pleural_effusion", "bad_format"), ("", "missing_field"),
    ("pleural_effusion grade two", "bad_type"), ("rash grade 2", "unknown_value"),
])
def test_csv_adverse_event_refusals_name_the_row(tmp_path: Path, detail: str, code: str) -> None:
    folder = _folder(tmp_path, f"P1,2022-01-01,adverse_event,{detail}\n")
    with pytest.raises(InputError) as exc:
        load_records(folder, today=TODAY)
    assert (exc.value.code, exc.value.row, exc.value.field) == (code, 2, "detail"), str(exc.value)


def test_csv_adverse_event_reads_term_and_grade(tmp_path: Path) -> None:
    folder = _folder(tmp_path, "P1,2022-01-01,adverse_event,Diarrhea GRADE 3\n"
                               "P1,2022-01-09,adverse_event,diarrhea grade 0\n")
    with pytest.raises(InputError):  # terms are spelled exactly (lower case)
        load_records(folder, today=TODAY)
    folder2 = tmp_path / "b"
    folder2.mkdir()
    (folder2 / "patients.csv").write_text("patient_id\nP1\n")
    (folder2 / "events.csv").write_text("patient_id,date,event,detail\n"
                                        "P1,2022-01-01,adverse_event,diarrhea GRADE 3\n"
                                        "P1,2022-01-09,adverse_event,diarrhea grade 0\n")
    (rec,) = load_records(folder2, today=TODAY)
    assert [(e.term, e.grade) for e in rec.events] == [("diarrhea", 3), ("diarrhea", 0)]
