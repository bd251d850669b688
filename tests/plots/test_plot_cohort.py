"""Swimmer and waterfall plots."""

from __future__ import annotations

from pathlib import Path

import pytest

from cmltrack.domain.assess import assess
from cmltrack.domain.records import PatientRecord
from cmltrack.io import load_records
from cmltrack.plots import ph_change, plot_swimmer, plot_waterfall, swimmer_rows

EXAMPLES = Path(__file__).resolve().parents[2] / "src" / "cmltrack" / "examples"


@pytest.fixture(scope="module")
def cases() -> list[tuple[PatientRecord, object]]:
    return [(r, assess(r)) for r in load_records(EXAMPLES / "patients.jsonl")]


def _cyto_record(pid: str, ph: list[tuple[str, int]]) -> PatientRecord:
    return PatientRecord.model_validate(
        {
            "id": pid,
            "therapy": [{"drug": "imatinib", "dose_mg_per_day": 400, "start": "2020-01-10"}],
            "observations": [
                {"kind": "cytogenetics", "date": d, "ph_pos": n, "metaphases": 20} for d, n in ph
            ],
        }
    )


def test_one_bar_per_patient(cases: list) -> None:  # type: ignore[type-arg]
    rows = swimmer_rows(cases)
    assert len(rows) == 12  # every example patient has a TKI start
    ax = plot_swimmer(rows)
    assert len(ax.patches) == 12
    assert sorted(t.get_text() for t in ax.get_yticklabels()) == sorted(r.id for r, _ in cases)


def test_swimmer_marks_death_and_responses(cases: list) -> None:  # type: ignore[type-arg]
    rows = {r.patient_id: r for r in swimmer_rows(cases)}
    p11 = rows["P11"]  # blast phase 2018-06-18, died 2018-10-03, imatinib from 2016-09
    assert "death" in p11.marks and "progression" in p11.marks
    assert p11.marks["death"] == pytest.approx(p11.follow_up)
    assert p11.marks["progression"] < p11.marks["death"]
    assert not p11.ongoing
    p01 = rows["P01"]  # optimal responder: MMR before MR4.5, both during follow-up
    assert p01.marks["MMR"] < p01.marks["MR4.5"] <= p01.follow_up
    assert p01.ongoing


def test_swimmer_caps_bars_and_says_so(cases: list) -> None:  # type: ignore[type-arg]
    ax = plot_swimmer(swimmer_rows(cases), max_patients=5)
    assert len(ax.patches) == 5
    assert "first 5 of 12" in ax.get_title()


def test_waterfall_change_by_hand() -> None:
    # By hand: 20/20 -> best 0/20 is -100%; 20/20 -> best 14/20 (70%) is -30%;
    # 10/20 (50%) -> best 15/20 (75%) is +50% relative to baseline.
    recs = [
        _cyto_record("A", [("2020-01-05", 20), ("2020-04-10", 10), ("2021-01-10", 0)]),
        _cyto_record("B", [("2020-01-05", 20), ("2020-07-10", 14)]),
        _cyto_record("C", [("2020-01-05", 10), ("2020-07-10", 15)]),
        _cyto_record("D", [("2020-04-10", 10)]),  # no baseline: left out
    ]
    bars = [ph_change(assess(r)) for r in recs]
    assert [None if b is None else round(b.change_pct, 6) for b in bars] == [-100, -30, 50, None]
    ax = plot_waterfall([b for b in bars if b is not None])
    heights = [p.get_height() for p in ax.patches]
    assert heights == pytest.approx([50, -30, -100])  # sorted, least reduction first
    assert [t.get_text() for t in ax.get_xticklabels()] == ["C", "B", "A"]
