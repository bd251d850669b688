"""The per-patient CTCAE grader gives exactly what grading each term on its own gives.

The oracle below reads the conventions of ``cmltrack.domain.toxicity`` term by term through
``grade_ctcae`` (the observation's own limit, else the site limit; hemoglobin LLN by sex; the
baseline only after the first TKI started), with none of the grader's precomputation.
"""

from __future__ import annotations

import datetime as dt
import math
import operator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cmltrack.domain.enums import CtcaeVersion
from cmltrack.domain.options import LabLimits
from cmltrack.domain.records import BloodCount, Chemistry
from cmltrack.domain.toxicity import (
    ToxicityBaseline,
    ToxicityGrader,
    _compare,
    grade_ctcae,
    grade_observation,
    load_ctcae,
)

DAY = dt.date(2021, 6, 1)


def oracle(
    obs: BloodCount | Chemistry, base: ToxicityBaseline, limits: LabLimits, sex: str | None,
    version: CtcaeVersion,
) -> dict[str, int]:
    out: dict[str, int] = {}
    after_start = base.tki_start is None or obs.date > base.tki_start
    for t in load_ctcae(version).terms.values():
        if t.field not in type(obs).model_fields:
            continue
        value = getattr(obs, t.field)
        if value is None:
            continue
        if t.direction == "decreased":
            lln = getattr(obs, f"{t.field}_lln", None)
            if lln is None and t.field == "hemoglobin":
                lln = {"M": limits.hemoglobin_lln_male, "F": limits.hemoglobin_lln_female}.get(
                    sex or "", min(limits.hemoglobin_lln_male, limits.hemoglobin_lln_female))
            elif lln is None:
                lln = getattr(limits, f"{t.field}_lln", None)
            grade = grade_ctcae(t.key, value, lln=lln, version=version)
        else:
            uln = getattr(obs, f"{t.field}_uln", None)
            if uln is None:
                uln = getattr(limits, f"{t.field}_uln")
            grade = grade_ctcae(
                t.key, value, uln=uln,
                baseline=getattr(base, t.field) if after_start else None,
                baseline_uln=getattr(base, f"{t.field}_uln") if after_start else None,
                version=version,
            )
        if grade is not None:
            out[t.key] = grade
    return out


def _around(*limits: float) -> st.SearchStrategy[float]:
    """Values on, just beside and at multiples of the limits, and anything in between."""
    near = [x * k for x in limits for k in (0.25, 0.5, 0.75, 1.0, 1.5, 3.0, 5.0, 10.0, 20.0)]
    return st.sampled_from(near) | st.floats(min_value=0.0, max_value=20 * max(limits))


def _maybe(s: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | s


@st.composite
def blood_counts(draw: st.DrawFn) -> BloodCount:
    wbc = draw(_maybe(_around(4.0, 10.0)))
    anc = draw(_maybe(_around(1.0, 1.8)))
    if wbc is not None and anc is not None and anc > wbc:
        anc = wbc
    return BloodCount(
        date=DAY, wbc=wbc, anc=anc,
        platelets=draw(_maybe(_around(25.0, 50.0, 75.0, 150.0))),
        hemoglobin=draw(_maybe(st.floats(min_value=0.0, max_value=25.0) | st.sampled_from(
            [8.0, 10.0, 12.0, 13.5]))),
        lymphocytes=draw(_maybe(_around(0.2, 0.5, 0.8, 1.0))),
        anc_lln=draw(_maybe(st.sampled_from([1.5, 1.8, 2.0]))),
        hemoglobin_lln=draw(_maybe(st.sampled_from([11.5, 12.0, 13.0]))),
        platelets_lln=draw(_maybe(st.sampled_from([140.0, 150.0]))),
    )


@st.composite
def chemistries(draw: st.DrawFn) -> Chemistry:
    return Chemistry(
        date=DAY,
        alt=draw(_maybe(_around(40.0))), alt_uln=draw(_maybe(st.sampled_from([35.0, 40.0]))),
        ast=draw(_maybe(_around(40.0))),
        bilirubin=draw(_maybe(_around(1.2))),
        bilirubin_uln=draw(_maybe(st.sampled_from([1.0, 1.2]))),
        creatinine=draw(_maybe(_around(1.1))),
    )


@st.composite
def baselines(draw: st.DrawFn) -> ToxicityBaseline:
    # The first TKI's start before, on and after the result's day: the baseline applies
    # only to results after it.
    start = draw(st.sampled_from([None, DAY - dt.timedelta(days=30), DAY, DAY,
                                  DAY + dt.timedelta(days=1)]))
    return ToxicityBaseline(
        alt=draw(_maybe(st.sampled_from([0.0, 30.0, 60.0, 130.0]))),
        alt_uln=draw(_maybe(st.sampled_from([40.0, 50.0]))),
        ast=draw(_maybe(st.sampled_from([20.0, 90.0]))),
        bilirubin=draw(_maybe(st.sampled_from([0.6, 2.0]))),
        creatinine=draw(_maybe(st.sampled_from([0.9, 1.6]))),
        creatinine_uln=draw(_maybe(st.sampled_from([1.1, 1.3]))),
        tki_start=start,
    )


@settings(max_examples=250, deadline=None)
@given(
    obs=blood_counts(),
    base=baselines(),
    sex=st.sampled_from([None, "F", "M"]),
    version=st.sampled_from(list(CtcaeVersion)),
)
def test_blood_count_grades_equal_grading_term_by_term(
    obs: BloodCount, base: ToxicityBaseline, sex: str | None, version: CtcaeVersion,
) -> None:
    limits = LabLimits(hemoglobin_lln_male=13.5)
    grader = ToxicityGrader(baseline=base, limits=limits, sex=sex, version=version)
    assert grader(obs) == oracle(obs, base, limits, sex, version)


@settings(max_examples=400, deadline=None)
@given(
    obs=chemistries(),
    base=baselines(),
    sex=st.sampled_from([None, "F", "M"]),
    version=st.sampled_from(list(CtcaeVersion)),
    lln_male=st.sampled_from([13.5, 11.0]),
)
def test_chemistry_grades_equal_grading_term_by_term(
    obs: Chemistry, base: ToxicityBaseline, sex: str | None,
    version: CtcaeVersion, lln_male: float,
) -> None:
    limits = LabLimits(hemoglobin_lln_male=lln_male)
    want = oracle(obs, base, limits, sex, version)
    grader = ToxicityGrader(baseline=base, limits=limits, sex=sex, version=version)
    assert grader(obs) == want
    assert grader(obs) == want  # the second observation of a model reuses its plan
    assert grade_observation(obs, baseline=base, limits=limits, sex=sex, version=version) == want


def test_worked_example_site_and_own_limits() -> None:
    # By hand (v5.0): ANC 1.7 < own LLN 1.8 -> grade 1; platelets 160 >= site LLN 150 -> 0;
    # hemoglobin 12.5 for a man: < 13.5 and >= 10 -> grade 1; for a woman >= 12 -> 0.
    obs = BloodCount(date=DAY, anc=1.7, anc_lln=1.8, platelets=160, hemoglobin=12.5)
    man = ToxicityGrader(baseline=ToxicityBaseline(), limits=LabLimits(), sex="M")
    woman = ToxicityGrader(baseline=ToxicityBaseline(), limits=LabLimits(), sex="F")
    assert man(obs) == {"neutrophils": 1, "platelets": 0, "anemia": 1}
    assert woman(obs) == {"neutrophils": 1, "platelets": 0, "anemia": 0}


@pytest.mark.parametrize(
    ("start", "grade"),
    [
        # By hand (v5.0, ALT ULN 40, baseline 130 > 40 is abnormal): on or before the TKI's
        # start the baseline does not apply and 200 is > 3 x 40 = 120 and <= 5 x 40: grade 2.
        # The day after, 200 / 130 = 1.54 x baseline is >= 1.5 and <= 3 x: grade 1.
        (DAY, 2),
        (DAY + dt.timedelta(days=1), 2),
        (DAY - dt.timedelta(days=1), 1),
    ],
)
def test_worked_example_baseline_applies_after_the_start(start: dt.date, grade: int) -> None:
    base = ToxicityBaseline(alt=130.0, alt_uln=40.0, tki_start=start)
    grader = ToxicityGrader(baseline=base, limits=LabLimits(), sex=None)
    assert grader(Chemistry(date=DAY, alt=200.0)) == {"alt": grade}


_REFERENCE_OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


def _reference_compare(x: float, op: str, bound: float) -> bool:
    """Section 14's reading: a value equal to the cut-off to 12 significant digits is on it."""
    if math.isclose(x, bound, rel_tol=1e-12, abs_tol=1e-12):
        x = bound
    return _REFERENCE_OPS[op](x, bound)


@settings(max_examples=500, deadline=None)
@given(
    bound=st.floats(min_value=0.0, max_value=1e6) | st.sampled_from([0.0, 1.5, 3.0, 60.0]),
    offset=st.sampled_from([0.0, 1e-15, -1e-15, 1e-13, -1e-13, 1e-11, -1e-11, 1e-3, -1e-3]),
    op=st.sampled_from(["<", "<=", ">", ">="]),
)
def test_compare_reads_near_cut_offs_as_the_reference(bound: float, offset: float, op: str) -> None:
    x = bound * (1.0 + offset) + offset
    assert _compare(x, op, bound) == _reference_compare(x, op, bound)


@pytest.mark.parametrize(
    ("x", "op", "bound", "expected"),
    [
        # By hand: 1.5 x 40 computed in binary is 60.00000000000001 > 60 but is on the cut-off.
        (60.00000000000001, ">", 60.0, False),
        (60.00000000000001, ">=", 60.0, True),
        (59.99999999999999, "<", 60.0, False),
        (59.99999999999999, "<=", 60.0, True),
        (60.1, ">", 60.0, True),
        (math.nan, ">=", 60.0, False),
    ],
)
def test_compare_worked_examples(x: float, op: str, bound: float, expected: bool) -> None:
    assert _compare(x, op, bound) is expected
