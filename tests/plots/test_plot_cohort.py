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
    # One bar per patient: each row's segments sit on its own y, every patient has one.
    ys = {round(p.get_y() + p.get_height() / 2) for p in ax.patches}
    assert ys == set(range(12))
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
    assert {round(p.get_y() + p.get_height() / 2) for p in ax.patches} == set(range(5))
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


MONTH = 30.4375


def _tki_record(therapy: list[dict[str, object]], **extra: object) -> PatientRecord:
    return PatientRecord.model_validate(
        {"id": "S1", "diagnosis": {"date": "2019-12-20", "phase": "chronic"},
         "therapy": therapy, **extra})


def test_swimmer_segments_lines_holds_and_off_tki() -> None:
    import datetime as dt

    from cmltrack.plots.cohort import TKI_COLORS

    # Imatinib 2020-01-01 to 2020-04-01 (91 days), held to 2020-05-01 (121), imatinib again to
    # 2021-01-01 (366), off TKI to 2021-02-01 (397: a switch), dasatinib to 2022-01-01 (731),
    # stopped for TFR (tki_stop), off TKI to the last contact 2022-07-01 (912 days).
    therapy = [
        {"drug": "imatinib", "dose_mg_per_day": 400, "start": "2020-01-01",
         "end": "2020-04-01", "reason_end": "toxicity"},
        {"drug": "imatinib", "dose_mg_per_day": 300, "start": "2020-05-01",
         "end": "2021-01-01", "reason_end": "resistance"},
        {"drug": "dasatinib", "dose_mg_per_day": 100, "start": "2021-02-01",
         "end": "2022-01-01", "reason_end": "tfr"},
    ]
    rec = _tki_record(
        therapy,
        events=[{"date": "2022-01-01", "kind": "tki_stop"}],
        observations=[{"kind": "pcr", "date": "2022-07-01", "bcr_abl1_is": 0.005}],
    )
    (row,) = swimmer_rows([(rec, assess(rec, as_of=dt.date(2022, 7, 1)))])
    got = [(s.kind, s.drug, round(s.start * MONTH), round(s.end * MONTH)) for s in row.segments]
    assert got == [
        ("tki", "imatinib", 0, 91), ("hold", None, 91, 121), ("tki", "imatinib", 121, 366),
        ("off", None, 366, 397), ("tki", "dasatinib", 397, 731), ("off", None, 731, 912),
    ]
    assert not row.ongoing
    ax = plot_swimmer([row])
    tki = [p for p in ax.patches if p.get_gid() == "tki"]
    assert [p.get_facecolor()[:3] for p in tki] == [
        pytest.approx(to_rgb(TKI_COLORS[d])) for d in ("imatinib", "imatinib", "dasatinib")]
    (hold,) = [p for p in ax.patches if p.get_gid() == "hold"]
    assert hold.get_hatch() == "////" and hold.get_x() == pytest.approx(91 / MONTH, abs=1e-3)
    off = [p for p in ax.patches if p.get_gid() == "off"]
    assert len(off) == 2 and all(p.get_height() < tki[0].get_height() for p in off)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert {"imatinib", "dasatinib", "dose hold", "off TKI"} <= set(legend)


def to_rgb(color: str) -> tuple[float, float, float]:
    from matplotlib.colors import to_rgb as rgb

    return rgb(color)


def test_waterfall_not_classifiable_is_a_marker_not_a_bar() -> None:
    # E: 20/20 at baseline, then only 0/8 and 0/5 metaphases: inadequate (< 20), so no
    # classifiable result; F: 20/20, then 0/6 (inadequate) and 10/20 (50%, classifiable):
    # the best classifiable is 50%, a change of -50%, not -100%.
    def rec(pid: str, later: list[tuple[str, int, int]]) -> PatientRecord:
        return PatientRecord.model_validate({
            "id": pid,
            "therapy": [{"drug": "imatinib", "dose_mg_per_day": 400, "start": "2020-01-10"}],
            "observations": [{"kind": "cytogenetics", "date": "2020-01-05", "ph_pos": 20,
                              "metaphases": 20}]
            + [{"kind": "cytogenetics", "date": d, "ph_pos": n, "metaphases": m}
               for d, n, m in later],
        })

    e = ph_change(assess(rec("E", [("2020-07-10", 0, 8), ("2021-01-10", 0, 5)])))
    f = ph_change(assess(rec("F", [("2020-07-10", 0, 6), ("2021-01-10", 10, 20)])))
    assert e is not None and e.change_pct is None and not e.classifiable
    assert f is not None and f.change_pct == pytest.approx(-50.0)
    ax = plot_waterfall([e, f])
    assert [p.get_height() for p in ax.patches] == pytest.approx([-50.0])  # no bar for E
    (nc,) = [c for c in ax.collections if c.get_gid() == "nc"]
    assert list(nc.get_offsets()[0]) == pytest.approx([1.0, 0.0])  # on the zero line
    assert nc.get_hatch() == "xxxx"
    assert "n.c." in [t.get_text() for t in ax.texts]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["F", "E"]
    assert any("not classifiable" in t.get_text() for t in ax.get_legend().get_texts())
