"""AML response categories on both sides of every boundary (aml spec section 3, AML22 response
table, AML17 Table 6). Values worked by hand; therapy starts 2024-01-10, marrows follow."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from cmltrack.domain.aml.response import classify_aml
from cmltrack.domain.records import PatientRecord

START = dt.date(2024, 1, 10)


def day(n: int) -> str:
    return (START + dt.timedelta(days=n)).isoformat()


def marrow(n: int, bm: float, **kw: Any) -> dict[str, Any]:
    return {"date": day(n), "kind": "marrow", "blasts_bm": bm, **kw}


def blood(n: int, anc: float | None = 1.5, plt: float | None = 150, pb: float | None = 0,
          wbc: float | None = 4.0, **kw: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"date": day(n), "kind": "blood", **kw}
    for k, v in (("anc", anc), ("platelets", plt), ("blasts_pb", pb), ("wbc", wbc)):
        if v is not None:
            out[k] = v
    return out


def mrd(n: int, result: str, value: float | None = None, target: str = "NPM1") -> dict[str, Any]:
    return {"date": day(n), "kind": "mrd", "method": "qpcr", "target": target, "tissue": "bm",
            "result": result, "value_pct": value}


def record(*obs: dict[str, Any], bm0: float = 60, wbc0: float = 10, pb0: float = 20,
           therapy: list[dict[str, Any]] | None = None, emd0: bool = False) -> PatientRecord:
    return PatientRecord.model_validate({
        "id": "R", "diagnosis": {"date": "2024-01-02", "disease": "AML", "blasts_bm": bm0,
                                 "wbc": wbc0, "blasts_pb": pb0, "extramedullary": emd0},
        "therapy": therapy or [{"drug": "cytarabine", "start": START.isoformat(),
                                "end": day(5)}],
        "observations": list(obs)}, context={"today": dt.date(2026, 1, 1)})


def responses(rec: PatientRecord, criteria: Any = "ELN2022") -> list[str | None]:
    return [d.response for d in classify_aml(rec, criteria).days]


def one(*obs: dict[str, Any], criteria: Any = "ELN2022", **kw: Any) -> str | None:
    (r,) = responses(record(*obs, **kw), criteria)
    return r


@pytest.mark.parametrize(
    ("bm", "anc", "plt", "pb", "expected"),
    [
        (4.9, 1.0, 100, 0, "CR"),        # every CR threshold exactly met (>=)
        (5.0, 1.0, 100, 0, "PR"),        # BM 5% is not < 5: PR (5 in 5-25 and <= 0.5 x 60)
        (4.9, 1.0, 100, 0.5, "SD"),      # circulating blasts: no RM; 4.9 < 5, not PR; SD
        (4.9, 0.99, 100, 0, "CRh"),      # ANC just below 1.0, >= 0.5 with platelets >= 50
        (4.9, 1.0, 99, 0, "CRh"),
        (4.9, 0.5, 50, 0, "CRh"),        # CRh thresholds exactly met
        (4.9, 0.49, 50, 0, "MLFS"),      # ANC below 0.5, platelets below 100: no lineage
        (4.9, 0.5, 49, 0, "MLFS"),
        (4.9, 1.2, 40, 0, "CRi"),        # ANC recovered, platelets < 50: not CRh, CRi
        (4.9, 0.3, 120, 0, "CRi"),       # platelets recovered, ANC < 0.5
        (0.0, 0.1, 10, 0, "MLFS"),
    ],
)
def test_remission_categories(bm: float, anc: float, plt: float, pb: float,
                              expected: str) -> None:
    assert one(marrow(30, bm), blood(30, anc, plt, pb)) == expected


@pytest.mark.parametrize(
    ("anc", "plt", "eln2017"),
    [(0.99, 100, "CRi"), (0.5, 50, "MLFS"), (1.0, 100, "CR"), (1.2, 40, "CRi")],
)
def test_eln2017_has_no_crh(anc: float, plt: float, eln2017: str) -> None:
    assert one(marrow(30, 2), blood(30, anc, plt), criteria="ELN2017") == eln2017


def test_auer_rods_exclude_remission_only_under_eln2017() -> None:
    obs = (marrow(30, 2, auer_rods=True), blood(30))
    assert one(*obs) == "CR"
    assert one(*obs, criteria="ELN2017") == "SD"


def test_cr_without_mrd_needs_the_negative_result_within_7_days() -> None:
    assert one(marrow(30, 2), blood(30), mrd(37, "negative")) == "CR_MRD_neg"
    assert one(marrow(30, 2), blood(30), mrd(38, "negative")) == "CR"
    assert one(marrow(30, 2), blood(30), mrd(30, "positive", 0.5)) == "CR"
    # nearest wins, a tie goes to the later result
    assert one(marrow(30, 2), blood(30), mrd(27, "positive"), mrd(33, "negative")) \
        == "CR_MRD_neg"


def test_transfused_platelets_cannot_show_recovery() -> None:
    assert one(marrow(30, 2), blood(30, 1.5, 150, platelets_transfused_7d=True)) == "CRi"
    assert one(marrow(30, 2), blood(30, 0.8, 150, platelets_transfused_7d=True)) == "MLFS"
    assert one(marrow(30, 2), blood(30, 1.5, 150, rbc_transfused_7d=True)) == "CR"


@pytest.mark.parametrize(
    ("bm0", "bm", "anc", "expected"),
    [
        (40, 20, 1.5, "PR"),     # 20 <= 0.5 x 40 (decrease by at least 50%, inclusive)
        (40, 20.5, 1.5, "SD"),   # decrease of 48.75%
        (50, 25, 1.5, "PR"),     # top of the 5-25% band, inclusive
        (60, 25.5, 1.5, "SD"),   # above the band although <= 0.5 x 60
        (10, 5, 1.5, "PR"),      # bottom of the band
        (40, 20, 0.9, "SD"),     # PR needs the hematologic criteria of CR
    ],
)
def test_partial_remission(bm0: float, bm: float, anc: float, expected: str) -> None:
    assert one(marrow(30, bm), blood(30, anc, 150), bm0=bm0) == expected


@pytest.mark.parametrize(
    ("bm0", "bm", "expected"),
    [
        (20, 35, "PD"),      # 35 > 1.5 x 20 = 30 and +15 points (>= 15) with baseline < 30
        (20, 34.9, "SD"),    # > 30 but only +14.9 points
        (30, 45.1, "PD"),    # baseline 30 is not < 30: no absolute rise needed; > 45
        (30, 45, "SD"),      # exactly 1.5 x: "more than 50%" is strict
        (29, 44, "PD"),      # 44 > 43.5, +15 points
    ],
)
def test_progression_by_marrow_blasts(bm0: float, bm: float, expected: str) -> None:
    assert one(marrow(30, bm), blood(30, 0.2, 20, 0), bm0=bm0) == expected


def test_progression_by_blood_blasts() -> None:
    # baseline blood blasts 10 x 20% = 2.0; now 30 x 90% = 27 > 3.0 and > 25
    assert one(marrow(30, 60), blood(30, 0.2, 20, 90, wbc=30), bm0=60) == "PD"
    # 25 x 100% = 25: not > 25
    assert one(marrow(30, 60), blood(30, 0.2, 20, 100, wbc=25), bm0=60) == "SD"


def test_progression_by_new_extramedullary_disease() -> None:
    emd = {"date": day(28), "kind": "extramedullary", "present": True, "site": "skin"}
    assert one(marrow(30, 60), blood(30, 0.2, 20, 10), emd, bm0=60) == "PD"
    assert one(marrow(30, 60), blood(30, 0.2, 20, 10), emd, bm0=60, emd0=True) == "SD"
    # an observation up to 7 days after the marrow counts; 8 days after does not
    later = {**emd, "date": day(37)}
    assert one(marrow(30, 60), blood(30, 0.2, 20, 10), later, bm0=60) == "PD"
    later = {**emd, "date": day(38)}
    assert one(marrow(30, 60), blood(30, 0.2, 20, 10), later, bm0=60) == "SD"
    # extramedullary disease excludes remission morphology
    assert one(marrow(30, 2), blood(30), emd) == "PD"


@pytest.mark.parametrize(
    ("obs", "why"),
    [
        ((marrow(30, 2), blood(38)), "no blood count within 7 days"),
        ((marrow(30, 2), blood(22)), "no blood count within 7 days"),
        ((marrow(30, 2, spicules=False), blood(30)), "no spicules"),
        ((marrow(30, 2, cells_counted=150, cellularity_pct=8), blood(30)), "suboptimal"),
        ((marrow(30, 2, cells_counted=199), blood(30)), "199 cells counted < 200"),
        ((marrow(30, 2, cellularity_pct=9.9), blood(30)), "cellularity 9.9% < 10%"),
        ((marrow(30, 2), blood(30, anc=None)), "anc missing"),
        ((marrow(30, 2), blood(30, plt=None)), "platelets missing"),
        ((marrow(30, 2), blood(30, pb=None)), "blasts_pb missing"),
    ],
)
def test_not_evaluable(obs: tuple[dict[str, Any], ...], why: str) -> None:
    (d,) = classify_aml(record(*obs)).days
    assert d.response is None and why in d.basis


def test_adequate_marrows_and_the_blood_window_edges() -> None:
    assert one(marrow(30, 2, cells_counted=150, cellularity_pct=12), blood(30)) == "CR"
    assert one(marrow(30, 2, cells_counted=200, cellularity_pct=5), blood(30)) == "CR"
    assert one(marrow(30, 2), blood(37)) == "CR"   # 7 days after: inside the window
    assert one(marrow(30, 2), blood(23)) == "CR"   # 7 days before
    # tie at 3 days either side: the later count decides
    assert one(marrow(30, 2), blood(27, 0.2, 20), blood(33, 1.5, 150)) == "CR"


def test_baseline_missing_makes_pr_and_pd_not_evaluable() -> None:
    rec = PatientRecord.model_validate({
        "id": "R", "diagnosis": {"disease": "AML"},
        "therapy": [{"drug": "cytarabine", "start": START.isoformat()}],
        "observations": [marrow(30, 20), blood(30)]}, context={"today": dt.date(2026, 1, 1)})
    (d,) = classify_aml(rec).days
    assert d.response is None and "baseline marrow blasts missing" in d.basis
    # ... but a remission needs no baseline
    rec2 = rec.model_copy(update={"observations": (rec.observations[0].model_copy(
        update={"blasts_bm": 2.0}), rec.observations[1])})
    assert [x.response for x in classify_aml(rec2).days] == ["CR"]


def test_baseline_is_the_last_marrow_before_therapy() -> None:
    # diagnosis 60%, pre-therapy marrow 30%: 16% is not <= 0.5 x 30 ... PR needs 15
    pre = {"date": day(-1), "kind": "marrow", "blasts_bm": 30}
    assert one(pre, marrow(30, 16), blood(30)) == "SD"
    assert one(pre, marrow(30, 15), blood(30)) == "PR"
    assert one(marrow(30, 16), blood(30)) == "PR"  # against the diagnosis 60%


def test_hematologic_relapse_after_cr() -> None:
    rec = record(marrow(30, 2), blood(30), marrow(90, 5), blood(90, 1.5, 150, 0))
    assert responses(rec) == ["CR", "relapse_hematologic"]
    rec = record(marrow(30, 2), blood(30), marrow(90, 4.9), blood(90))
    assert responses(rec) == ["CR", "CR"]


def test_relapse_by_blood_blasts_in_two_samples_a_week_apart() -> None:
    base = (marrow(30, 2), blood(30))
    rec = record(*base, blood(83, pb=2), marrow(90, 3), blood(90, pb=1))
    assert responses(rec) == ["CR", "relapse_hematologic"]
    rec = record(*base, blood(84, pb=2), marrow(90, 3), blood(90, pb=1))  # 6 days apart
    assert responses(rec) == ["CR", "SD"]


def test_molecular_relapse_needs_two_consecutive_positives_after_a_negative_cr() -> None:
    base = (marrow(30, 2), blood(30), mrd(30, "negative"))
    rec = record(*base, mrd(60, "positive", 0.02), mrd(90, "positive", 0.05), marrow(90, 2),
                 blood(90))
    assert responses(rec) == ["CR_MRD_neg", "relapse_molecular"]
    rec = record(*base, mrd(60, "positive", 0.02), mrd(75, "negative"), mrd(90, "positive"),
                 marrow(90, 2), blood(90))
    assert responses(rec) == ["CR_MRD_neg", "CR"]


def test_events_relapse_progression_and_mrd_progression() -> None:
    rec = record(marrow(30, 2), blood(30), mrd(30, "positive", 0.01), mrd(60, "positive", 0.1),
                 marrow(90, 40), blood(90, 0.2, 20, 10))
    course = classify_aml(rec)
    kinds = [(e.kind, e.date.isoformat()) for e in course.events]
    assert kinds == [("mrd_progression", day(60)), ("aml_relapse", day(90))]
    rec = record(marrow(30, 2), blood(30), mrd(30, "positive", 0.01), mrd(60, "positive", 0.099))
    assert [e.kind for e in classify_aml(rec).events] == []
    rec = record(marrow(30, 95), blood(30, 0.2, 20, 0), bm0=60)
    assert [(e.kind, e.date.isoformat()) for e in classify_aml(rec).events] == [
        ("progression", day(30))]


def test_a_relapse_followed_by_new_therapy_is_the_new_baseline() -> None:
    therapy = [{"drug": "cytarabine", "start": START.isoformat(), "end": day(5)},
               {"drug": "cladribine", "start": day(100), "end": day(105)}]
    obs = (marrow(30, 2), blood(30), marrow(95, 20), blood(95, 0.2, 20, 0),
           marrow(130, 35), blood(130, 0.2, 20, 0))
    # 35 against the relapse marrow's 20: > 30 and +15: PD (not a second relapse: the CR
    # belongs to the earlier period); against the diagnosis 60% it would be SD.
    assert responses(record(*obs, therapy=therapy)) == ["CR", "relapse_hematologic", "PD"]
    assert responses(record(*obs)) == ["CR", "relapse_hematologic", "relapse_hematologic"]


def test_marrows_on_or_before_therapy_start_are_not_responses() -> None:
    assert responses(record(marrow(0, 2), blood(0), marrow(-3, 60))) == []
