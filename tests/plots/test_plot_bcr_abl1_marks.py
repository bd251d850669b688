"""The BCR::ABL1 chart's marks on hand-built records: mutations, loss of MMR, TFR bands, zones
per line without gaps, the calendar axis. Expected positions are worked out by hand from the
dates (1 month = 30.4375 days) and the rules, not read from the code."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import pytest

from cmltrack.domain.assess import assess
from cmltrack.domain.records import PatientRecord
from cmltrack.plots import plot_bcr_abl1

MONTH = 30.4375


def _record(therapy: list[dict[str, Any]], pcrs: list[tuple[str, float]],
            **extra: Any) -> PatientRecord:
    obs: list[dict[str, Any]] = [
        {"kind": "pcr", "date": d, "bcr_abl1_is": v, "control_gene": "ABL1",
         "control_copies": 50_000} for d, v in pcrs
    ]
    obs += extra.pop("observations", [])
    return PatientRecord.model_validate(
        {"id": "H1", "diagnosis": {"date": therapy[0]["start"], "phase": "chronic"},
         "therapy": therapy, "observations": obs, **extra})


def _line(ax: Any, label: str) -> Any:
    return next(ln for ln in ax.get_lines() if ln.get_label() == label)


def _zone_patches(ax: Any) -> list[Any]:
    return [p for p in ax.patches if p.get_zorder() == 0]


IMATINIB_2019 = [{"drug": "imatinib", "dose_mg_per_day": 400, "start": "2019-01-01"}]


def test_mutations_are_labelled_diamonds_on_the_course() -> None:
    # 2019-01-01 to 2020-01-01: 365 days = 11.99 months; to 2020-07-01: 547 days = 17.97.
    rec = _record(
        IMATINIB_2019,
        [("2019-04-01", 8.0), ("2020-01-01", 2.0), ("2020-07-01", 20.0)],
        observations=[
            {"kind": "mutation", "date": "2020-01-01", "mutations": ["T315I", "E255K"]},
            {"kind": "mutation", "date": "2019-04-01", "mutations": []},  # none found
        ],
    )
    ax = plot_bcr_abl1(rec, assess(rec, as_of=dt.date(2020, 8, 1)))
    marks = _line(ax, "BCR::ABL1 mutation found")
    assert list(marks.get_xdata()) == pytest.approx([365 / MONTH])
    assert list(marks.get_ydata()) == pytest.approx([2.0])  # the PCR of that day
    assert marks.get_marker() == "D"
    labels = [t.get_text() for t in ax.texts]
    assert "T315I, E255K" in labels
    # A mutation analysis between two PCRs sits on the course, log-linearly between them.
    rec2 = _record(
        IMATINIB_2019, [("2019-04-01", 10.0), ("2019-10-01", 0.1)],
        observations=[{"kind": "mutation", "date": "2019-07-01", "mutations": ["E255K"]}],
    )
    ax2 = plot_bcr_abl1(rec2, assess(rec2, as_of=dt.date(2019, 12, 1)))
    # 2019-04-01 = 90 days, 2019-07-01 = 181 days, 2019-10-01 = 273 days after the start:
    # log10 y = 1 + (181 - 90) / (273 - 90) * (-1 - 1) = 1 - 2 * 91 / 183.
    y = _line(ax2, "BCR::ABL1 mutation found").get_ydata()[0]
    assert y == pytest.approx(10 ** (1 - 2 * 91 / 183))


def test_loss_of_mmr_is_ringed_at_its_result() -> None:
    # MMR (0.05%) at 12 months, then 0.5% at 18 months: ELN 2020 on therapy, one PCR > 0.1%
    # after MMR is a loss of MMR (clinical-rules section 14), dated by that PCR.
    rec = _record(
        IMATINIB_2019,
        [("2019-04-01", 5.0), ("2019-07-01", 0.8), ("2020-01-01", 0.05), ("2020-07-01", 0.5)],
    )
    a = assess(rec, as_of=dt.date(2020, 8, 1))
    ax = plot_bcr_abl1(rec, a)
    ring = _line(ax, "loss of MMR")
    assert list(ring.get_xdata()) == pytest.approx([547 / MONTH])  # 2020-07-01
    assert list(ring.get_ydata()) == pytest.approx([0.5])
    assert ring.get_markerfacecolor() == "none"
    assert "loss of MMR" in [t.get_text() for t in ax.texts]
    # No loss, no ring.
    kept = _record(IMATINIB_2019, [("2019-07-01", 0.8), ("2020-01-01", 0.05)])
    ax_kept = plot_bcr_abl1(kept, assess(kept, as_of=dt.date(2020, 2, 1)))
    assert all(ln.get_label() != "loss of MMR" for ln in ax_kept.get_lines())


def test_tfr_is_its_own_band_without_zones() -> None:
    # Imatinib from 2015-01-01, stopped for TFR on 2020-01-01 (1826 days = 59.99 months),
    # restarted on 2020-07-01 (2008 days = 65.97 months).
    therapy = [
        {"drug": "imatinib", "dose_mg_per_day": 400, "start": "2015-01-01",
         "end": "2020-01-01", "reason_end": "tfr"},
        {"drug": "imatinib", "dose_mg_per_day": 400, "start": "2020-07-01"},
    ]
    rec = _record(
        therapy,
        [("2015-04-01", 5.0), ("2015-07-01", 0.5), ("2016-01-01", 0.05), ("2019-10-01", 0.003),
         ("2020-03-01", 0.004), ("2020-06-01", 0.3), ("2020-10-01", 0.05)],
        events=[{"date": "2020-01-01", "kind": "tki_stop"}],
    )
    ax = plot_bcr_abl1(rec, assess(rec, as_of=dt.date(2020, 11, 1)))
    stop, restart = 1826 / MONTH, 2008 / MONTH
    (band,) = [p for p in ax.patches if p.get_gid() == "tfr"]
    assert band.get_x() == pytest.approx(stop, abs=1e-3)
    assert band.get_x() + band.get_width() == pytest.approx(restart, abs=1e-3)
    assert "TFR" in [t.get_text() for t in ax.texts]
    # No milestone zone inside the TFR; the line's zones stop at the stop and resume after.
    for p in _zone_patches(ax):
        start, end = p.get_x(), p.get_x() + p.get_width()
        assert end <= stop + 1e-3 or start >= restart - 1e-3
    assert any(abs(p.get_x() + p.get_width() - stop) < 1e-3 for p in _zone_patches(ax))
    assert any(abs(p.get_x() - restart) < 1e-3 for p in _zone_patches(ax))
    # The legend explains the band.
    assert "treatment-free remission (off TKI)" in [
        t.get_text() for t in ax.get_figure().legends[0].get_texts()]


def test_still_off_tki_the_band_runs_to_the_end() -> None:
    therapy = [{"drug": "imatinib", "dose_mg_per_day": 400, "start": "2015-01-01",
                "end": "2020-01-01", "reason_end": "tfr"}]
    rec = _record(therapy, [("2015-07-01", 0.5), ("2019-10-01", 0.003), ("2020-03-01", 0.004)],
                  events=[{"date": "2020-01-01", "kind": "tki_stop"}])
    ax = plot_bcr_abl1(rec, assess(rec, as_of=dt.date(2020, 4, 1)))
    (band,) = [p for p in ax.patches if p.get_gid() == "tfr"]
    assert band.get_x() + band.get_width() == pytest.approx(ax.get_xlim()[1])
    assert max(p.get_x() + p.get_width() for p in _zone_patches(ax)) == pytest.approx(
        1826 / MONTH, abs=1e-3)


def test_each_line_has_its_own_zones_without_gaps() -> None:
    # Imatinib from 2018-01-01, dasatinib from 2019-01-01 (365 days = 11.99 months).
    therapy = [
        {"drug": "imatinib", "dose_mg_per_day": 400, "start": "2018-01-01",
         "end": "2019-01-01", "reason_end": "resistance"},
        {"drug": "dasatinib", "dose_mg_per_day": 100, "start": "2019-01-01"},
    ]
    rec = _record(therapy, [("2018-04-01", 30.0), ("2018-07-01", 20.0), ("2019-04-01", 5.0),
                            ("2019-07-01", 0.8), ("2020-01-01", 0.05)])
    ax = plot_bcr_abl1(rec, assess(rec, as_of=dt.date(2021, 6, 1)))
    line2 = round(365 / MONTH, 4)
    spans = sorted({(round(p.get_x(), 4), round(p.get_x() + p.get_width(), 4))
                    for p in _zone_patches(ax)})
    # Line 1: windows from 2.0 months (ELN 2020: 3 mo 2.0-4.5, 6 mo 4.5-8.0 drawn until the
    # 12-month window opens at 10.0), cut at line 2's start.
    assert spans[:3] == [(2.0, 4.5), (4.5, 10.0), (10.0, line2)]
    # Line 2: the same windows from its own start, then "any time" to the chart's end.
    second = [(round(s - line2, 4), round(e - line2, 4)) for s, e in spans[3:]]
    assert second[:3] == [(2.0, 4.5), (4.5, 10.0), (10.0, 15.0)]
    assert spans[-1][1] == pytest.approx(ax.get_xlim()[1])
    # No gap between consecutive windows of a line.
    for (_s0, e0), (s1, _e1) in itertools.pairwise(spans[3:]):
        assert s1 == pytest.approx(e0, abs=1e-3)
    labels = [t.get_text() for t in ax.texts]
    assert labels.count("3 mo") == 2 and labels.count("6 mo") == 2


def test_calendar_axis_above_in_dates() -> None:
    from matplotlib.dates import date2num

    from cmltrack.plots._mpl import render_rgba

    rec = _record(IMATINIB_2019, [("2019-04-01", 8.0), ("2021-01-01", 0.05)])
    ax = plot_bcr_abl1(rec, assess(rec, as_of=dt.date(2021, 2, 1)))
    (cal,) = ax.child_axes
    render_rgba(ax.get_figure(), 50)  # a secondary axis takes its limits when drawn
    lo, hi = cal.get_xlim()
    # The chart's x limits, in months since 2019-01-01, as calendar days.
    x0, x1 = ax.get_xlim()
    assert lo == pytest.approx(date2num(dt.date(2019, 1, 1)) + x0 * MONTH)
    assert hi == pytest.approx(date2num(dt.date(2019, 1, 1)) + x1 * MONTH)
    ticks = [t.get_text() for t in cal.get_xticklabels() if t.get_text()]
    assert {"2019", "2020", "2021"} <= set(ticks)
