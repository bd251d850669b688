"""Baseline risk scores: Sokal, Hasford, EUTOS, ELTS (clinical rules reference, section 7).

Expected values: the reference's worked examples E1-E6 and public cross-checks, re-derived by
hand from the formulas (the derivations are written beside the less obvious ones).
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cmltrack.domain.records import PatientRecord
from cmltrack.domain.risk import (
    AGE_PATH,
    assess_risk,
    compute_elts_score,
    compute_eutos_no_ccyr_probability,
    compute_eutos_score,
    compute_hasford_score,
    compute_sokal_score,
    elts_group,
    eutos_group,
    hasford_group,
    sokal_group,
)

# (age, spleen cm, platelets, blasts %, eosinophils %, basophils %) ->
# Sokal, Sokal group, Hasford, Hasford group, EUTOS, EUTOS group, P(no CCyR), ELTS, ELTS group
WORKED = [
    # E1. Hasford by hand: 0.0584 x 1 + 0.0413 x 2 = 0.141 -> 141. EUTOS 7 x 1 = 7.
    # ELTS terms 0.2278 + 0 + 0.1052 + 0.4104/sqrt(0.35) = 0.6937 -> 1.0267.
    ("E1", (45, 0, 350, 1, 2, 1), 0.6724, "low", 141.0, "low", 7, "low", 0.1160, 1.0267, "low"),
    # E2. Hasford: 666.6 + 420 + 175.2 + 165.2 + 203.9 = 1630.9. EUTOS 28 + 40 = 68.
    ("E2", (52, 10, 600, 3, 4, 4), 1.3469, "high", 1630.9, "high", 68, "low", 0.1949, 1.8119,
     "intermediate"),
    # E3. EUTOS 84 + 80 = 164 > 87.
    ("E3", (68, 20, 950, 8, 5, 12), 4.3930, "high", 2384.2, "high", 164, "high", 0.3878, 3.2787,
     "high"),
    # E4. Hasford: 666.6 + 126 + 116.8 + 82.6 = 992.
    ("E4", (55, 3, 400, 2, 2, 1), 0.9283, "intermediate", 992.0, "intermediate", 19, "low",
     0.1290, 1.4597, "low"),
    # E5. Hasford: 210 + 116.8 + 123.9 = 450.7.
    ("E5", (40, 5, 700, 2, 3, 2), 0.9486, "intermediate", 450.7, "low", 34, "low", 0.1468,
     1.1684, "low"),
    # E6. Hasford: 666.6 + 630 + 292 + 289.1 + 203.9 + 1095.6 (platelets >= 1500) = 3177.2.
    ("E6", (60, 15, 1600, 5, 7, 6), 4.8771, "high", 3177.2, "high", 102, "high", 0.2539, 2.3129,
     "high"),
]


@pytest.mark.parametrize(
    ("case", "inputs", "sokal", "sg", "hasford", "hg", "eutos", "eg", "p", "elts", "lg"), WORKED
)
def test_worked_examples(
    case: str, inputs: tuple[float, ...], sokal: float, sg: str, hasford: float, hg: str,
    eutos: float, eg: str, p: float, elts: float, lg: str,
) -> None:
    age, spleen, plt, blasts, eos, baso = inputs
    s = compute_sokal_score(age=age, spleen_cm=spleen, platelets=plt, blasts_pb=blasts)
    h = compute_hasford_score(
        age=age, spleen_cm=spleen, platelets=plt, blasts_pb=blasts, eosinophils_pb=eos,
        basophils_pb=baso,
    )
    e = compute_eutos_score(basophils_pb=baso, spleen_cm=spleen)
    pr = compute_eutos_no_ccyr_probability(basophils_pb=baso, spleen_cm=spleen)
    el = compute_elts_score(age=age, spleen_cm=spleen, platelets=plt, blasts_pb=blasts)
    assert round(s, 4) == sokal and sokal_group(s) == sg
    assert round(h, 4) == hasford and hasford_group(h) == hg
    assert e == eutos and eutos_group(e) == eg
    assert round(pr, 4) == p
    assert round(el, 4) == elts and elts_group(el) == lg

    rec = _record(age=age, spleen_cm=spleen, platelets=plt, blasts_pb=blasts,
                  eosinophils_pb=eos, basophils_pb=baso)
    risk = assess_risk(rec)
    assert list(risk) == ["sokal", "hasford", "eutos", "elts"]
    assert [r.group for r in risk.values()] == [sg, hg, eg, lg]
    assert risk["sokal"].score == s and risk["elts"].score == el
    assert [r.rule for r in risk.values()] == ["SOKAL1984", "HASFORD1998", "EUTOS2011", "ELTS2016"]
    assert all(r.missing == () for r in risk.values())


@pytest.mark.parametrize(
    ("age", "spleen", "plt", "blasts", "expected"),
    [  # public Sokal calculator suite, re-computed here (their 4.3929 and 5.3866 are off by 1e-4)
        (32, 0, 280, 1, 0.5685),
        (47, 8, 600, 3, 1.1862),
        (68, 20, 950, 8, 4.3930),
        (25, 0, 200, 0, 0.4727),
        (55, 12, 1800, 5, 5.3868),
    ],
)
def test_sokal_public_cross_checks(
    age: float, spleen: float, plt: float, blasts: float, expected: float
) -> None:
    s = compute_sokal_score(age=age, spleen_cm=spleen, platelets=plt, blasts_pb=blasts)
    assert round(s, 4) == expected


def test_sokal_is_one_at_the_centring_constants() -> None:
    # Every bracket is 0 at age 43.4, spleen 7.51, blasts 2.10, platelets 700 x sqrt(0.563).
    s = compute_sokal_score(age=43.4, spleen_cm=7.51, platelets=525.23, blasts_pb=2.10)
    assert round(s, 4) == 1.0000
    exact = compute_sokal_score(
        age=43.4, spleen_cm=7.51, platelets=700 * math.sqrt(0.563), blasts_pb=2.10
    )
    assert exact == pytest.approx(1.0, abs=1e-12)


def test_elts_public_example() -> None:
    # The public example prints 1.02671 (truncated); the reference computes 1.026715.
    score = compute_elts_score(age=45, spleen_cm=0, platelets=350, blasts_pb=1)
    assert score == pytest.approx(1.02671, abs=1e-5) and round(score, 6) == 1.026715


@pytest.mark.parametrize(("baso", "spleen", "p"), [(0, 21.75, 0.2268), (5, 13, 0.2265)])
def test_eutos_probability_at_score_87(baso: float, spleen: float, p: float) -> None:
    assert compute_eutos_score(basophils_pb=baso, spleen_cm=spleen) == 87
    assert round(compute_eutos_no_ccyr_probability(basophils_pb=baso, spleen_cm=spleen), 4) == p


def _sokal_at(target: float) -> float:
    """Sokal score built to equal ``target``: every bracket but age is 0, age carries ln(target)."""
    age = 43.4 + math.log(target) / 0.0116
    return compute_sokal_score(
        age=age, spleen_cm=7.51, platelets=700 * math.sqrt(0.563), blasts_pb=2.10
    )


@pytest.mark.parametrize(
    ("target", "group"),
    [(0.7999, "low"), (0.8, "intermediate"), (1.2, "intermediate"), (1.2001, "high")],
)
def test_sokal_cut_offs(target: float, group: str) -> None:
    assert sokal_group(target) == group
    # And built from inputs: age carries ln(target), every other bracket is 0.
    assert sokal_group(_sokal_at(target)) == group


def test_hasford_cut_offs() -> None:
    # 666.6 (age >= 50) + 42.0 x 2.7 (spleen) = 780 exactly by hand: still low.
    at = compute_hasford_score(
        age=50, spleen_cm=2.7, platelets=300, blasts_pb=0, eosinophils_pb=0, basophils_pb=0
    )
    assert at == pytest.approx(780.0) and hasford_group(at) == "low"
    # Age 49.9 drops the age indicator: 113.4 only.
    below = compute_hasford_score(
        age=49.9, spleen_cm=2.7, platelets=300, blasts_pb=0, eosinophils_pb=0, basophils_pb=0
    )
    assert below == pytest.approx(113.4)
    # spleen 2.71: 666.6 + 113.82 = 780.42.
    above = compute_hasford_score(
        age=50, spleen_cm=2.71, platelets=300, blasts_pb=0, eosinophils_pb=0, basophils_pb=0
    )
    assert hasford_group(above) == "intermediate"
    # 780.1 by hand: 203.9 (basophils >= 3) + 42.0 x 4.8 + 58.4 x 5 + 41.3 x 2
    # = 203.9 + 201.6 + 292 + 82.6.
    just_above = compute_hasford_score(
        age=40, spleen_cm=4.8, platelets=300, blasts_pb=5, eosinophils_pb=2, basophils_pb=3
    )
    assert just_above == pytest.approx(780.1) and hasford_group(just_above) == "intermediate"
    # 1480 by hand: 203.9 + 42.0 x 11.8 + 58.4 x 7 + 41.3 x 9 = 203.9 + 495.6 + 408.8 + 371.7;
    # in binary floating point the sum is 1480.0000000000002, which must not make it high.
    on_upper = compute_hasford_score(
        age=40, spleen_cm=11.8, platelets=300, blasts_pb=7, eosinophils_pb=9, basophils_pb=3
    )
    assert on_upper == pytest.approx(1480.0) and hasford_group(on_upper) == "intermediate"
    assert [hasford_group(x) for x in (780, 780.1, 1480, 1480.1)] == [
        "low", "intermediate", "intermediate", "high",
    ]


def test_hasford_indicators_use_greater_or_equal() -> None:
    def h(**kw: float) -> float:
        base = dict(age=40.0, spleen_cm=0.0, platelets=300.0, blasts_pb=0.0, eosinophils_pb=0.0,
                    basophils_pb=0.0)
        return compute_hasford_score(**{**base, **kw})

    assert h(age=50) == pytest.approx(666.6) and h(age=49.99) == 0
    assert h(basophils_pb=3) == pytest.approx(203.9) and h(basophils_pb=2.99) == 0
    assert h(platelets=1500) == pytest.approx(1095.6) and h(platelets=1499.9) == 0


def test_eutos_cut_off() -> None:
    # 7 x 5 + 4 x 13 = 87 is low; 4 x 22 = 88 is high.
    assert eutos_group(compute_eutos_score(basophils_pb=5, spleen_cm=13)) == "low"
    assert eutos_group(compute_eutos_score(basophils_pb=0, spleen_cm=22)) == "high"


def test_elts_cut_offs() -> None:
    assert [elts_group(x) for x in (1.5680, 1.5681, 2.2185, 2.2186)] == [
        "low", "intermediate", "intermediate", "high",
    ]
    # Age 0, no spleen, no blasts: the score is 0.4104 / sqrt(plt/1000), so the platelets for
    # a score on a cut-off are 1000 x (0.4104 / cut-off)^2; 0.001% blasts add 0.0001052.
    for cut, on, above in ((1.5680, "low", "intermediate"), (2.2185, "intermediate", "high")):
        plt = 1000 * (0.4104 / cut) ** 2
        score = compute_elts_score(age=0, spleen_cm=0, platelets=plt, blasts_pb=0)
        assert score == pytest.approx(cut) and elts_group(score) == on
        score = compute_elts_score(age=0, spleen_cm=0, platelets=plt, blasts_pb=0.001)
        assert elts_group(score) == above


def test_elts_refuses_zero_platelets() -> None:
    with pytest.raises(ValueError, match=r"ELTS needs platelets > 0, got 0"):
        compute_elts_score(age=50, spleen_cm=0, platelets=0, blasts_pb=0)


def _record(*, birth_date: str | None = None, **dx: Any) -> PatientRecord:
    data: dict[str, Any] = {"id": "R", "diagnosis": {"date": "2020-01-01", **dx}}
    if birth_date:
        data["birth_date"] = birth_date
    return PatientRecord.model_validate(data)


FULL = dict(age=45, spleen_cm=0, platelets=350, blasts_pb=1, eosinophils_pb=2, basophils_pb=1)


def test_missing_spleen_makes_every_score_null() -> None:
    risk = assess_risk(_record(**{**FULL, "spleen_cm": None}))
    for r in risk.values():
        assert r.score is None and r.group is None
        assert r.missing == ("diagnosis.spleen_cm",)


def test_missing_eosinophils_only_affects_hasford() -> None:
    risk = assess_risk(_record(**{**FULL, "eosinophils_pb": None}))
    assert risk["hasford"].score is None
    assert risk["hasford"].missing == ("diagnosis.eosinophils_pb",)
    assert risk["sokal"].group == "low" and risk["eutos"].group == "low"
    assert risk["elts"].group == "low"


def test_age_from_birth_date_and_missing_age() -> None:
    # Born 1975-01-01, diagnosed 2020-01-01: the 45th birthday, 45.0 years by the calendar
    # (16436 days / 365.25 would be 44.9993).
    risk = assess_risk(_record(birth_date="1975-01-01", **{**FULL, "age": None}))
    assert risk["sokal"].score == pytest.approx(compute_sokal_score(
        age=45.0, spleen_cm=0, platelets=350, blasts_pb=1), abs=1e-12)
    risk = assess_risk(_record(**{**FULL, "age": None}))
    assert risk["sokal"].missing == (AGE_PATH,) and risk["elts"].missing == (AGE_PATH,)
    assert risk["eutos"].group == "low"  # EUTOS needs no age


def test_no_diagnosis_lists_every_input() -> None:
    risk = assess_risk(PatientRecord(id="X"))
    assert risk["hasford"].missing == (
        AGE_PATH, "diagnosis.spleen_cm", "diagnosis.platelets", "diagnosis.blasts_pb",
        "diagnosis.eosinophils_pb", "diagnosis.basophils_pb",
    )
    assert risk["eutos"].missing == ("diagnosis.basophils_pb", "diagnosis.spleen_cm")


def test_zero_platelets_make_elts_null() -> None:
    risk = assess_risk(_record(**{**FULL, "platelets": 0}))
    assert risk["elts"].score is None and risk["elts"].missing == ("diagnosis.platelets (> 0)",)
    assert risk["sokal"].score is not None


AGE = st.floats(0, 100)
SPLEEN = st.floats(0, 40)
PLT = st.floats(1, 5000)
PCT = st.floats(0, 100)


@given(AGE, AGE, SPLEEN, SPLEEN, PLT, PLT, PCT, PCT)
def test_sokal_and_elts_are_monotone(
    a1: float, a2: float, s1: float, s2: float, p1: float, p2: float, b1: float, b2: float
) -> None:
    lo = dict(age=min(a1, a2), spleen_cm=min(s1, s2), blasts_pb=min(b1, b2))
    hi = dict(age=max(a1, a2), spleen_cm=max(s1, s2), blasts_pb=max(b1, b2))
    # Sokal rises with every input; ELTS rises with age, spleen, blasts and falls with platelets.
    assert compute_sokal_score(**lo, platelets=min(p1, p2)) <= compute_sokal_score(
        **hi, platelets=max(p1, p2)
    )
    assert compute_elts_score(**lo, platelets=max(p1, p2)) <= compute_elts_score(
        **hi, platelets=min(p1, p2)
    )


@given(AGE, SPLEEN, SPLEEN, PLT, PCT, PCT, PCT)
def test_hasford_and_eutos_rise_with_spleen(
    a: float, s1: float, s2: float, p: float, b: float, e: float, ba: float
) -> None:
    lo, hi = min(s1, s2), max(s1, s2)
    kw = dict(age=a, platelets=p, blasts_pb=b, eosinophils_pb=e, basophils_pb=ba)
    assert compute_hasford_score(spleen_cm=lo, **kw) <= compute_hasford_score(spleen_cm=hi, **kw)
    assert compute_eutos_score(basophils_pb=ba, spleen_cm=lo) <= compute_eutos_score(
        basophils_pb=ba, spleen_cm=hi
    )


_ORDER = {"low": 0, "intermediate": 1, "high": 2}


@given(st.floats(0, 5000), st.floats(0, 5000))
def test_groups_are_monotone_in_the_score(x: float, y: float) -> None:
    lo, hi = min(x, y), max(x, y)
    for group in (sokal_group, hasford_group, eutos_group, elts_group):
        assert group(lo) in _ORDER  # every score has exactly one group
        assert _ORDER[group(lo)] <= _ORDER[group(hi)]


def test_age_from_birth_date_is_50_on_the_50th_birthday() -> None:
    # Session 2 QA finding: days / 365.25 put 1970-01-10 -> 2020-01-10 at 49.9986 years (12 leap
    # days in those 50 years), so Hasford missed "age >= 50". By the calendar it is 50.0:
    # Hasford = (0.6666 x 1 + 0.0420 x 4 + 0.0584 x 1 + 0.0413 x 0 + 0.2039 x 0 + 1.0956 x 0)
    # x 1000 = 666.6 + 168.0 + 58.4 = 893.0, intermediate (> 780 and <= 1480).
    rec = PatientRecord.model_validate({
        "id": "BDAY", "birth_date": "1970-01-10",
        "diagnosis": {"date": "2020-01-10", "spleen_cm": 4, "blasts_pb": 1, "eosinophils_pb": 0,
                      "basophils_pb": 0, "platelets": 400},
    })
    assert rec.age_at_diagnosis == 50.0
    h = assess_risk(rec)["hasford"]
    assert h.score == pytest.approx(893.0, abs=1e-9) and h.group == "intermediate"


def test_age_in_years_by_the_calendar() -> None:
    import datetime as dt

    from cmltrack.domain.dates import age_in_years

    d = dt.date
    assert age_in_years(d(1970, 1, 10), d(2020, 1, 9)) == pytest.approx(49 + 364 / 365)
    # 29 February: the anniversary in a common year is 1 March (as the TFR durations take it)
    assert age_in_years(d(2000, 2, 29), d(2050, 3, 1)) == 50.0
    assert age_in_years(d(2000, 2, 29), d(2050, 2, 28)) < 50.0
    # half a year: 2020-01-10 -> 2020-07-10 is 182 of 2020's 366 days after the birthday
    assert age_in_years(d(1970, 1, 10), d(2020, 7, 10)) == pytest.approx(50 + 182 / 366)


def test_null_scores_still_name_their_rule() -> None:
    # A score that cannot be computed still says which score it is (the card shows the rule).
    risk = assess_risk(PatientRecord(id="X"))
    assert [r.rule for r in risk.values()] == ["SOKAL1984", "HASFORD1998", "EUTOS2011",
                                               "ELTS2016"]
    assert all(r.score is None for r in risk.values())
    assert assess_risk(_record(**{**FULL, "platelets": 0}))["elts"].rule == "ELTS2016"


def test_elts_with_one_platelet_is_computed() -> None:
    # platelets 1 x10^9/L: (1/1000)^-0.5 = sqrt(1000) = 31.6228; 0.4104 x 31.6228 = 12.9780;
    # age 45: 0.0025 x 4.5^3 = 0.2278; blasts 1: 0.1052. Total 13.3110: high. Only a count of
    # 0 (or below) is undefined.
    r = assess_risk(_record(**{**FULL, "platelets": 1}))["elts"]
    assert r.score == pytest.approx(0.0025 * 4.5**3 + 0.1052 + 0.4104 * math.sqrt(1000))
    assert r.score == pytest.approx(13.3110, abs=1e-4) and r.group == "high" and r.missing == ()
