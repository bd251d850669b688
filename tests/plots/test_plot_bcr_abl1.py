"""The per-patient BCR::ABL1 chart, drawn from the bundled example clinic."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cmltrack.domain.assess import assess
from cmltrack.domain.records import PatientRecord, Pcr
from cmltrack.io import load_records
from cmltrack.plots import figure_of, pcr_sensitivity, plot_bcr_abl1, save_figure
from cmltrack.plots._mpl import new_axes

EXAMPLES = Path(__file__).resolve().parents[2] / "src" / "cmltrack" / "examples"


@pytest.fixture(scope="module")
def clinic() -> dict[str, PatientRecord]:
    return {r.id: r for r in load_records(EXAMPLES / "patients.jsonl")}


def _pcr(**kw: object) -> Pcr:
    return Pcr.model_validate({"date": "2020-01-01", "detected": False, **kw})


# By hand: one BCR::ABL1 copy among c ABL1 copies is 100/c %; GUSB scales by 24,000/10,000.
@pytest.mark.parametrize(
    ("gene", "copies", "expected"),
    [
        ("ABL1", 100_000, 0.001),  # the MR5 row of CROSS15
        ("ABL1", 32_000, 0.003125),  # MR4.5 row: just under 0.0032%
        ("ABL1", 10_000, 0.01),  # MR4 row
        ("ABL1", 5_000, 0.02),  # inadequate: less sensitive than MR4
        ("GUSB", 24_000, 0.01),
        ("GUSB", 240_000, 0.001),
    ],
)
def test_sensitivity_from_control_copies(gene: str, copies: int, expected: float) -> None:
    assert pcr_sensitivity(_pcr(control_gene=gene, control_copies=copies)) == pytest.approx(
        expected
    )


def test_sensitivity_unknown_without_copies() -> None:
    assert pcr_sensitivity(_pcr()) is None


def _hlines(ax: object) -> set[float]:
    out = set()
    for line in ax.get_lines():  # type: ignore[attr-defined]
        y = line.get_ydata()
        if len(y) == 2 and y[0] == y[1] and tuple(line.get_xdata()) == (0, 1):
            out.add(round(float(y[0]), 6))
    return out


def test_chart_has_log_scale_and_response_lines(clinic: dict[str, PatientRecord]) -> None:
    rec = clinic["P01"]
    ax = plot_bcr_abl1(rec, assess(rec))
    assert ax.get_yscale() == "log"
    assert {0.1, 0.01, 0.0032} <= _hlines(ax)
    labels = " ".join(t.get_text() for t in ax.texts)
    assert "MMR 0.1%" in labels and "MR4 0.01%" in labels and "MR4.5 0.0032%" in labels


def test_undetected_results_sit_at_their_sensitivity(clinic: dict[str, PatientRecord]) -> None:
    rec = clinic["P01"]  # two undetected PCRs: 88,000 and 102,000 ABL1 copies
    ax = plot_bcr_abl1(rec, assess(rec))
    und = next(ln for ln in ax.get_lines() if ln.get_label() == "undetected, at sample sensitivity")
    assert sorted(und.get_ydata()) == pytest.approx(sorted([100 / 102_000, 100 / 88_000]))
    detected = next(ln for ln in ax.get_lines() if ln.get_label() == "BCR::ABL1 detected")
    n_detected = sum(
        1 for o in rec.observations if isinstance(o, Pcr) and o.is_detected and o.bcr_abl1_is
    )
    assert len(detected.get_xdata()) == n_detected


def test_inadequate_sample_is_drawn_above_mr4(clinic: dict[str, PatientRecord]) -> None:
    rec = clinic["P12"]  # undetected with only 5,000 ABL1 copies
    ax = plot_bcr_abl1(rec, assess(rec))
    und = next(ln for ln in ax.get_lines() if ln.get_label() == "undetected, at sample sensitivity")
    assert list(und.get_ydata()) == pytest.approx([0.02])


def test_events_and_dose_strip(clinic: dict[str, PatientRecord], tmp_path: Path) -> None:
    rec = clinic["P11"]  # imatinib, nilotinib, then blast phase and death
    ax = plot_bcr_abl1(rec, assess(rec))
    texts = [t.get_text().strip() for t in ax.texts]
    assert "progression (blast)" in texts and "death" in texts
    assert "IM 400" in texts and "NIL 800" in texts and "TKI mg/d" in texts
    # One strip bar per therapy line, drawn under the axis (outside the data area).
    strip = [p for p in ax.patches if p.get_y() < 0 and p.get_width() > 0]
    assert len(strip) == len(rec.therapy)
    save_figure(figure_of(ax), tmp_path / "p11.svg")
    assert (tmp_path / "p11.svg").read_text().lstrip().startswith("<?xml")


def test_zones_follow_the_guideline(clinic: dict[str, PatientRecord]) -> None:
    from cmltrack.domain.enums import Guideline
    from cmltrack.domain.options import AssessOptions

    rec = clinic["P02"]
    ax20 = plot_bcr_abl1(rec, assess(rec))
    ax06 = plot_bcr_abl1(rec, assess(rec, options=AssessOptions(guideline=Guideline.ELN2006)))
    # ELN 2020: 3 mo (2), 6 mo (3), 12 mo (3), any time (3) bands; ELN 2006: 12 and 18 mo (1+1).
    def zones(ax: object) -> list[str]:
        return [p.get_hatch() or "" for p in ax.patches if p.get_zorder() == 0]  # type: ignore[attr-defined]

    assert len(zones(ax20)) == 11
    assert sorted(set(zones(ax06))) == ["..", "\\\\"]  # warning at 12, suboptimal at 18 mo
    assert len(zones(ax06)) == 2


def test_given_axes_are_used(clinic: dict[str, PatientRecord]) -> None:
    rec = clinic["P03"]
    ax = new_axes()
    assert plot_bcr_abl1(rec, assess(rec), ax=ax) is ax


def test_record_without_pcr_or_therapy() -> None:
    rec = PatientRecord.model_validate(
        {"id": "X1", "observations": [{"kind": "blood", "date": "2020-01-01", "wbc": 50}]}
    )
    a = assess(rec, as_of=dt.date(2020, 2, 1))
    ax = plot_bcr_abl1(rec, a)
    assert "no TKI start" in ax.get_xlabel()


def _zone_spans(ax: object) -> list[tuple[float, float]]:
    """(start, end) of the milestone zone patches (zorder 0), one per window piece."""
    return sorted({(round(p.get_x(), 4), round(p.get_x() + p.get_width(), 4))
                   for p in ax.patches if p.get_zorder() == 0})  # type: ignore[attr-defined]


def test_zones_restart_with_a_new_tki(clinic: dict[str, PatientRecord]) -> None:
    rec = clinic["P04"]  # imatinib from 2015-06-08, ponatinib from 2018-05-14
    ax = plot_bcr_abl1(rec, assess(rec))
    # By hand: 2015-06-08 to 2018-06-08 is 1096 days (2016 is a leap year), less 25 days:
    # 1071 days = 35.19 months. Line 1's zones start 2.0 months after its start and stop at
    # line 2's start; line 2's own 3-month window opens 2.0 months after that.
    line2 = round(1071 / 30.4375, 4)
    spans = _zone_spans(ax)
    assert spans[0][0] == pytest.approx(2.0)
    assert max(e for s, e in spans if s < line2) == pytest.approx(line2, abs=1e-3)
    assert min(s for s, _e in spans if s >= line2) == pytest.approx(line2 + 2.0, abs=1e-3)
    assert "line 2 (ponatinib from month 35.2)" in ax.get_title()


def test_renderer_draws_what_plot_bcr_abl1_draws(clinic: dict[str, PatientRecord]) -> None:
    import numpy as np

    from cmltrack.plots._mpl import render_rgba
    from cmltrack.plots.bcr_abl1 import ChartRenderer

    renderer = ChartRenderer(dpi=60, cache=2)
    # Frames are reused (P01 twice) and evicted (cache of 2) on the way.
    for pid in ["P01", "P04", "P11", "P01", "P12", "P09"]:
        rec = clinic[pid]
        a = assess(rec)
        fast = renderer.render(rec, a)
        full = render_rgba(figure_of(plot_bcr_abl1(rec, a, legend=False)), 60)
        assert fast.shape == full.shape
        differ = np.abs(fast.astype(int) - full.astype(int)).max(axis=2) > 40
        assert differ.mean() < 1e-3, pid  # only antialiased edge pixels may differ


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(-40, 3000),  # day of the PCR relative to the TKI start
            st.one_of(st.none(), st.floats(0.0001, 1000)),  # None: undetected
            st.integers(1000, 300_000),  # ABL1 copies
        ),
        min_size=1,
        max_size=12,
        unique_by=lambda t: t[0],
    )
)
def test_frame_holds_every_result(pcrs: list[tuple[int, float | None, int]]) -> None:
    from cmltrack.plots.bcr_abl1 import chart_frame

    start = dt.date(2020, 1, 1)
    obs = [
        {"kind": "pcr", "date": (start + dt.timedelta(days=d)).isoformat(),
         **({"bcr_abl1_is": v} if v is not None else {"detected": False}),
         "control_gene": "ABL1", "control_copies": c}
        for d, v, c in pcrs
    ]
    rec = PatientRecord.model_validate(
        {"id": "H", "therapy": [{"drug": "imatinib", "dose_mg_per_day": 400,
                                 "start": start.isoformat()}], "observations": obs}
    )
    frame, _origin, points, _lines = chart_frame(rec, assess(rec))
    assert frame.y_low < frame.y_high and frame.x_min < 0 < frame.x_max
    for p in points:
        assert p.value is not None  # every sample here has control copies
        assert frame.y_low < p.value < frame.y_high
        assert frame.x_min < p.months < frame.x_max


@given(st.integers(1_000, 1_000_000), st.integers(1_000, 1_000_000))
def test_more_control_copies_more_sensitive(a: int, b: int) -> None:
    lo, hi = sorted((a, b))
    s_lo = pcr_sensitivity(_pcr(control_gene="ABL1", control_copies=lo))
    s_hi = pcr_sensitivity(_pcr(control_gene="ABL1", control_copies=hi))
    assert s_lo is not None and s_hi is not None and s_hi <= s_lo


def test_plot_cli_draws_only_what_was_known_on_as_of(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import cmltrack.plots as plots
    from cmltrack.cli.app import _register, run
    from cmltrack.cli.demo import example_path

    drawn: list[PatientRecord] = []
    real = plots.plot_bcr_abl1

    def spy(record: PatientRecord, *args: Any, **kwargs: Any) -> Any:
        drawn.append(record)
        return real(record, *args, **kwargs)

    monkeypatch.setattr(plots, "plot_bcr_abl1", spy)
    _register()
    out = tmp_path / "p04.png"
    args = ["plot", "bcr-abl1", str(example_path("json")), "--patient", "P04", "--out", str(out)]
    assert run([*args, "--as-of", "2016-06-30"]) == 0 and out.exists()
    (record,) = drawn
    # P04's record runs to 2020; as of 2016-06-30 nothing later is drawn
    assert max(o.date for o in record.observations).isoformat() <= "2016-06-30"
    assert all(t.start.isoformat() <= "2016-06-30" for t in record.therapy)
