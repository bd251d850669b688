"""CTCAE grading (clinical rules reference, section 8; conventions in section 14).

Every expected grade below was worked out by hand from the CTCAE cells quoted in the reference:
decreased terms grade by "<" cut-offs under the LLN, increased terms by "> k x ULN" (strict), a
value exactly on a cut-off taking the milder grade.
"""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cmltrack.domain.enums import CtcaeVersion
from cmltrack.domain.options import LabLimits
from cmltrack.domain.records import BloodCount, Chemistry, PatientRecord
from cmltrack.domain.toxicity import (
    ToxicityBaseline,
    classify_ctcae,
    derive_toxicity_baseline,
    grade_ctcae,
    grade_observation,
    load_ctcae,
    parse_ctcae_table,
)
from cmltrack.errors import InputError, RuleTableError
from cmltrack.rules.loader import load_table

V5, V4 = CtcaeVersion.V5, CtcaeVersion.V4_03
BOTH = [V5, V4]

# term, limit, [(value, grade), ...]: each cut-off on both sides, same in v5.0 and v4.03.
DECREASED = [
    ("neutrophils", 1.8, [(1.8, 0), (1.79, 1), (1.5, 1), (1.49, 2), (1.0, 2), (0.99, 3),
                          (0.5, 3), (0.49, 4), (0.0, 4)]),
    ("platelets", 150.0, [(150, 0), (149.9, 1), (75, 1), (74.9, 2), (50, 2), (49.9, 3), (25, 3),
                          (24.9, 4)]),
    ("wbc", 4.0, [(4.0, 0), (3.99, 1), (3.0, 1), (2.99, 2), (2.0, 2), (1.99, 3), (1.0, 3),
                  (0.99, 4)]),
    ("lymphocytes", 1.0, [(1.0, 0), (0.99, 1), (0.8, 1), (0.79, 2), (0.5, 2), (0.49, 3),
                          (0.2, 3), (0.19, 4)]),
    # Anemia: grade 3 is "< 8.0 g/dL" and open-ended; grade 4 is clinical, never from a number.
    ("anemia", 12.0, [(12.0, 0), (11.9, 1), (10.0, 1), (9.9, 2), (8.0, 2), (7.9, 3), (0.5, 3)]),
]
# ULN-only grading (v4.03, and v5.0 with a normal or no baseline).
INCREASED = [
    # ALT/AST ULN 40: 3 x = 120, 5 x = 200, 20 x = 800.
    ("alt", 40.0, [(40, 0), (40.1, 1), (120, 1), (120.1, 2), (200, 2), (200.1, 3), (800, 3),
                   (800.1, 4)]),
    ("ast", 40.0, [(40, 0), (40.1, 1), (120, 1), (120.1, 2), (200, 2), (200.1, 3), (800, 3),
                   (800.1, 4)]),
    # Bilirubin ULN 1.2: 1.5 x = 1.8, 3 x = 3.6, 10 x = 12 (1.5 x 1.2 is 1.7999999999999998 in
    # binary floating point; 1.8 must still be on the cut-off).
    ("bilirubin", 1.2, [(1.2, 0), (1.21, 1), (1.8, 1), (1.81, 2), (3.6, 2), (3.61, 3), (12, 3),
                        (12.01, 4)]),
    # Creatinine ULN 1.1: 1.5 x = 1.65, 3 x = 3.3, 6 x = 6.6.
    ("creatinine", 1.1, [(1.1, 0), (1.11, 1), (1.65, 1), (1.66, 2), (3.3, 2), (3.31, 3),
                         (6.6, 3), (6.61, 4)]),
]


def _cases(table: list[tuple[str, float, list[tuple[float, int]]]]) -> list[Any]:
    return [
        pytest.param(v, term, limit, value, grade, id=f"{v}-{term}-{value}")
        for v in BOTH
        for term, limit, pairs in table
        for value, grade in pairs
    ]


@pytest.mark.parametrize(("version", "term", "lln", "value", "grade"), _cases(DECREASED))
def test_decreased_band_edges(
    version: CtcaeVersion, term: str, lln: float, value: float, grade: int
) -> None:
    assert grade_ctcae(term, value, lln=lln, version=version) == grade


@pytest.mark.parametrize(("version", "term", "uln", "value", "grade"), _cases(INCREASED))
def test_increased_band_edges(
    version: CtcaeVersion, term: str, uln: float, value: float, grade: int
) -> None:
    assert grade_ctcae(term, value, uln=uln, version=version) == grade


def test_decreased_term_above_lln_is_grade_0_even_under_a_cut_off() -> None:
    # A site ANC LLN of 1.4 (below the 1.5 cut-off): 1.45 is not "decreased".
    assert grade_ctcae("neutrophils", 1.45, lln=1.4) == 0
    assert grade_ctcae("neutrophils", 1.39, lln=1.4) == 2


@pytest.mark.parametrize("term", ["alt", "ast"])
@pytest.mark.parametrize(
    ("value", "v5", "v4"),
    [
        # ULN 40, baseline 80 (abnormal). v5: multiples of 80 - 1.5 x = 120 (>=), 3 x = 240,
        # 5 x = 400, 20 x = 1600. v4.03 ignores the baseline: multiples of 40.
        (100, 0, 1),
        (119.9, 0, 1),
        (120, 1, 1),
        (240, 1, 3),
        (240.1, 2, 3),
        (400, 2, 3),
        (400.1, 3, 3),
        (1600, 3, 4),
        (1600.1, 4, 4),
    ],
)
def test_transaminase_abnormal_baseline(term: str, value: float, v5: int, v4: int) -> None:
    assert grade_ctcae(term, value, uln=40, baseline=80, version=V5) == v5
    assert grade_ctcae(term, value, uln=40, baseline=80, version=V4) == v4


def test_baseline_at_uln_is_normal_and_baseline_uln_is_used() -> None:
    # Baseline 40 = ULN: normal, so 120.1 > 3 x ULN is grade 2.
    assert grade_ctcae("alt", 120.1, uln=40, baseline=40) == 2
    # Baseline 50 with its own ULN 60: normal -> 130 > 3 x 40 is grade 2.
    assert grade_ctcae("alt", 130, uln=40, baseline=50, baseline_uln=60) == 2
    # Same baseline judged on the current ULN 40: abnormal -> 130 / 50 = 2.6 x is grade 1.
    assert grade_ctcae("alt", 130, uln=40, baseline=50) == 1


@pytest.mark.parametrize(
    ("value", "v5", "v4"),
    [
        # ULN 1.2, baseline 2.0 (abnormal). v5: > 1 x = 2.0, 1.5 x = 3.0, 3 x = 6.0, 10 x = 20.
        # v4.03 on the ULN: 1.8 / 3.6 / 12.
        (2.0, 0, 2),
        (2.01, 1, 2),
        (3.0, 1, 2),
        (3.01, 2, 2),
        (6.0, 2, 3),
        (6.01, 3, 3),
        (20.0, 3, 4),
        (20.01, 4, 4),
    ],
)
def test_bilirubin_abnormal_baseline(value: float, v5: int, v4: int) -> None:
    assert grade_ctcae("bilirubin", value, uln=1.2, baseline=2.0, version=V5) == v5
    assert grade_ctcae("bilirubin", value, uln=1.2, baseline=2.0, version=V4) == v4


@pytest.mark.parametrize(
    ("value", "baseline", "v5", "v4"),
    [
        # ULN 1.1. Baseline 0.6: 1.5 x = 0.9, 3 x = 1.8.
        (1.0, 0.6, 0, 0),  # > 1.5 x baseline but within normal limits: grade 0
        (1.2, 0.6, 2, 2),  # ULN grade 1; 2.0 x baseline grade 2: the worse
        (1.8, 0.6, 2, 2),  # exactly 3 x baseline: still grade 2
        (1.81, 0.6, 3, 3),  # > 3 x baseline
        # Baseline 1.0: 1.2 is > 1 x baseline (v4.03 grade 1 only) and ULN grade 1 in both.
        (1.2, 1.0, 1, 1),
        (1.5, 1.0, 1, 1),  # exactly 1.5 x baseline
        (1.51, 1.0, 2, 2),
        (7.0, 1.0, 4, 4),  # > 6 x ULN
    ],
)
def test_creatinine_takes_worse_of_uln_and_baseline(
    value: float, baseline: float, v5: int, v4: int
) -> None:
    assert grade_ctcae("creatinine", value, uln=1.1, baseline=baseline, version=V5) == v5
    assert grade_ctcae("creatinine", value, uln=1.1, baseline=baseline, version=V4) == v4


def test_band_ids_name_the_rule() -> None:
    assert classify_ctcae("neutrophils", 0.9, lln=1.8) == (3, "CTCAE5.neutrophils.g3")
    assert classify_ctcae("alt", 130, uln=40, baseline=80) == (1, "CTCAE5.alt.baseline.g1")
    assert classify_ctcae("alt", 130, uln=40, version=V4) == (2, "CTCAE4.alt.g2")
    assert classify_ctcae("alt", 30, uln=40) == (0, None)


def test_missing_limit_is_not_gradable() -> None:
    assert grade_ctcae("neutrophils", 0.3) is None
    assert grade_ctcae("alt", 500.0, baseline=80) is None
    assert grade_ctcae("alt", float("nan"), uln=40) is None


def test_unknown_term_is_refused() -> None:
    with pytest.raises(InputError) as exc:
        grade_ctcae("hemoglobin", 9.0, lln=12)
    assert exc.value.code == "unknown_value" and exc.value.field == "term"


# --- properties --------------------------------------------------------------------------------

LIMIT = st.floats(0.1, 500, allow_nan=False)
VALUE = st.floats(0, 20000, allow_nan=False)
DECREASED_TERMS = ["neutrophils", "platelets", "anemia", "wbc", "lymphocytes"]
INCREASED_TERMS = ["alt", "ast", "bilirubin", "creatinine"]


@given(st.sampled_from(DECREASED_TERMS), st.sampled_from(BOTH), LIMIT, VALUE, VALUE)
def test_decreased_grade_never_rises_with_the_value(
    term: str, version: CtcaeVersion, lln: float, x: float, y: float
) -> None:
    lo, hi = min(x, y), max(x, y)
    g_lo = grade_ctcae(term, lo, lln=lln, version=version)
    g_hi = grade_ctcae(term, hi, lln=lln, version=version)
    assert g_lo is not None and g_hi is not None and 0 <= g_hi <= g_lo <= 4


@given(
    st.sampled_from(INCREASED_TERMS), st.sampled_from(BOTH), LIMIT,
    st.none() | LIMIT, st.none() | LIMIT, VALUE, VALUE,
)
def test_increased_grade_never_falls_with_the_value(
    term: str, version: CtcaeVersion, uln: float, base: float | None, base_uln: float | None,
    x: float, y: float,
) -> None:
    lo, hi = min(x, y), max(x, y)
    kw: dict[str, Any] = dict(uln=uln, baseline=base, baseline_uln=base_uln, version=version)
    g_lo, g_hi = grade_ctcae(term, lo, **kw), grade_ctcae(term, hi, **kw)
    assert g_lo is not None and g_hi is not None and 0 <= g_lo <= g_hi <= 4


@given(
    st.sampled_from(DECREASED_TERMS + INCREASED_TERMS), st.sampled_from(BOTH), LIMIT, LIMIT,
    VALUE,
)
def test_every_value_falls_in_exactly_one_band(
    term: str, version: CtcaeVersion, limit: float, base: float, value: float
) -> None:
    t = load_ctcae(version).terms[term]
    refs = {"lln": limit, "uln": limit, "baseline": base}
    margin = 1e-9 * max(1.0, limit)  # keep clear of the "on the cut-off" tolerance
    for scale in t.scales:
        held = [b.grade for b in scale.bands if b.holds(value, refs)]
        assert len(held) <= 1  # no overlap
        mildest = scale.bands[0]
        if t.direction == "increased" and mildest.lower and mildest.lower.of == "uln":
            if value > limit + margin:  # above the ULN: no gap either
                assert len(held) == 1
        elif t.direction == "decreased":
            assert mildest.lower is not None and mildest.lower.value is not None
            if limit >= mildest.lower.value and value < limit - margin:
                assert len(held) == 1


# --- the tables ----------------------------------------------------------------------------------


def test_both_tables_load_with_all_terms() -> None:
    keys = ["neutrophils", "platelets", "anemia", "wbc", "lymphocytes", "alt", "ast",
            "bilirubin", "creatinine"]
    for version in BOTH:
        table = load_ctcae(version)
        assert table.version == version and list(table.terms) == keys
        assert all(b.source in table.sources for t in table.terms.values() for s in t.scales
                   for b in s.bands)


def _raw() -> dict[str, Any]:
    data: dict[str, Any] = copy.deepcopy(load_table("ctcae_v5"))
    return data


def _band(data: dict[str, Any], term: str, grade: int, scale: int = 0) -> dict[str, Any]:
    t = next(t for t in data["terms"] if t["key"] == term)
    band: dict[str, Any] = next(b for b in t["scales"][scale]["bands"] if b["grade"] == grade)
    return band


def _mutations() -> list[Any]:
    def dup_id(d: dict[str, Any]) -> None:
        _band(d, "wbc", 2)["id"] = _band(d, "wbc", 1)["id"]

    def uncited(d: dict[str, Any]) -> None:
        del _band(d, "platelets", 3)["source"]

    def unknown_source(d: dict[str, Any]) -> None:
        _band(d, "platelets", 3)["source"] = "my notes"

    def gap(d: dict[str, Any]) -> None:
        _band(d, "neutrophils", 2)["upper"]["value"] = 1.4

    def overlap(d: dict[str, Any]) -> None:
        _band(d, "neutrophils", 2)["upper"]["op"] = "<="

    def missing_grade(d: dict[str, Any]) -> None:
        t = next(t for t in d["terms"] if t["key"] == "alt")
        del t["scales"][0]["bands"][1]

    def closed_worst(d: dict[str, Any]) -> None:
        _band(d, "alt", 4)["upper"] = {"op": "<=", "times": 50.0, "of": "uln"}

    def bad_op(d: dict[str, Any]) -> None:
        _band(d, "alt", 2)["lower"]["op"] = "=="

    def code_string(d: dict[str, Any]) -> None:
        _band(d, "alt", 2)["condition"] = "AVAL > 3 * ANRHI"

    def wrong_ref(d: dict[str, Any]) -> None:
        _band(d, "platelets", 1)["upper"]["of"] = "uln"

    def baseline_in_always(d: dict[str, Any]) -> None:
        _band(d, "creatinine", 2)["lower"]["of"] = "baseline"

    def empty_band(d: dict[str, Any]) -> None:
        _band(d, "alt", 2)["upper"]["times"] = 3.0

    def duplicate_key(d: dict[str, Any]) -> None:
        d["terms"][1]["key"] = "neutrophils"

    def no_sources(d: dict[str, Any]) -> None:
        d["sources"] = {}

    def bad_version(d: dict[str, Any]) -> None:
        d["version"] = "6.0"

    return [dup_id, uncited, unknown_source, gap, overlap, missing_grade, closed_worst, bad_op,
            code_string, wrong_ref, baseline_in_always, empty_band, duplicate_key, no_sources,
            bad_version]


@pytest.mark.parametrize("mutate", _mutations(), ids=lambda f: f.__name__)
def test_invalid_table_is_refused(mutate: Any) -> None:
    data = _raw()
    parse_ctcae_table(data, "ctcae_v5")  # the unmodified table passes
    mutate(data)
    with pytest.raises(RuleTableError):
        parse_ctcae_table(data, "ctcae_v5")


# --- observations and the baseline ----------------------------------------------------------------

D0 = dt.date(2020, 1, 10)


def test_grade_blood_count_with_site_limits() -> None:
    obs = BloodCount(date=D0, anc=1.0, platelets=50, hemoglobin=11.0, wbc=3.5)
    grades = grade_observation(obs, baseline=ToxicityBaseline(), limits=LabLimits(), sex="F")
    # ANC 1.0 on the cut-off: grade 2; platelets 50: grade 2; Hb 11.0 < 12.0 LLN (female):
    # grade 1; WBC 3.5 < 4.0: grade 1. No lymphocyte count: no key.
    assert grades == {"neutrophils": 2, "platelets": 2, "anemia": 1, "wbc": 1}
    assert list(grades) == ["neutrophils", "platelets", "anemia", "wbc"]


@pytest.mark.parametrize(("sex", "grade"), [("M", 1), ("F", 0), (None, 0)])
def test_hemoglobin_lln_by_sex(sex: str | None, grade: int) -> None:
    # Hb 12.5: below the male LLN 13.5, above the female 12.0; unknown sex takes the lower.
    obs = BloodCount(date=D0, hemoglobin=12.5)
    got = grade_observation(obs, baseline=ToxicityBaseline(), limits=LabLimits(), sex=sex)
    assert got == {"anemia": grade}


def test_observation_limits_win_over_site_limits() -> None:
    base, lim = ToxicityBaseline(), LabLimits()
    assert grade_observation(BloodCount(date=D0, anc=1.7), baseline=base, limits=lim,
                             sex=None) == {"neutrophils": 1}
    assert grade_observation(BloodCount(date=D0, anc=1.7, anc_lln=1.5), baseline=base,
                             limits=lim, sex=None) == {"neutrophils": 0}
    # ALT 130: 2.6 x its own ULN 50 (grade 1); 3.25 x the site ULN 40 (grade 2).
    assert grade_observation(Chemistry(date=D0, alt=130, alt_uln=50), baseline=base, limits=lim,
                             sex=None) == {"alt": 1}
    assert grade_observation(Chemistry(date=D0, alt=130), baseline=base, limits=lim,
                             sex=None) == {"alt": 2}


def _record() -> PatientRecord:
    return PatientRecord.model_validate({
        "id": "T",
        "therapy": [
            {"drug": "hydroxyurea", "start": "2019-12-01", "end": "2020-01-09"},
            {"drug": "Imatinib", "dose_mg_per_day": 400, "start": "2020-01-10"},
        ],
        "observations": [
            {"kind": "chemistry", "date": "2019-12-01", "alt": 60, "alt_uln": 45,
             "creatinine": 0.7},
            {"kind": "chemistry", "date": "2020-01-10", "alt": 80, "alt_uln": 40,
             "bilirubin": 0.9},
            {"kind": "chemistry", "date": "2019-12-20", "creatinine": 0.8, "creatinine_uln": 1.0},
            {"kind": "chemistry", "date": "2020-02-10", "alt": 130, "ast": 300, "creatinine": 5},
        ],
    })


def test_derive_baseline_takes_the_last_value_at_or_before_the_first_tki() -> None:
    b = derive_toxicity_baseline(_record())
    # ALT: the TKI start day counts (80, ULN 40); creatinine: 2019-12-20 is later than
    # 2019-12-01; AST: only after the start, so none. Hydroxyurea is not a TKI.
    assert b == ToxicityBaseline(
        alt=80, alt_uln=40, ast=None, ast_uln=None, bilirubin=0.9, bilirubin_uln=None,
        creatinine=0.8, creatinine_uln=1.0, tki_start=dt.date(2020, 1, 10),
    )


def test_no_tki_no_baseline() -> None:
    rec = PatientRecord.model_validate({
        "id": "N", "therapy": [{"drug": "hydroxyurea", "start": "2019-12-01"}],
        "observations": [{"kind": "chemistry", "date": "2019-11-01", "alt": 90}],
    })
    assert derive_toxicity_baseline(rec) == ToxicityBaseline()


def test_observations_graded_against_the_baseline() -> None:
    rec = _record()
    base = derive_toxicity_baseline(rec)
    after, on_start = rec.observations[3], rec.observations[1]
    assert isinstance(after, Chemistry) and isinstance(on_start, Chemistry)
    # After the start. ALT 130: baseline 80 > ULN 40 is abnormal, 1.625 x 80 -> grade 1 (v5);
    # v4.03: 3.25 x ULN 40 -> grade 2. AST 300: no baseline, 7.5 x 40 -> grade 3.
    # Creatinine 5: ULN 1.1 -> 4.5 x (grade 3); baseline 0.8 -> 6.25 x (grade 3).
    v5 = grade_observation(after, baseline=base, limits=LabLimits(), sex=None)
    assert v5 == {"alt": 1, "ast": 3, "creatinine": 3}
    v4 = grade_observation(after, baseline=base, limits=LabLimits(), sex=None, version=V4)
    assert v4 == {"alt": 2, "ast": 3, "creatinine": 3}
    # The baseline observation itself is graded on the ULN: ALT 80 = 2 x 40 -> grade 1.
    assert grade_observation(on_start, baseline=base, limits=LabLimits(), sex=None) == {
        "alt": 1, "bilirubin": 0,
    }
