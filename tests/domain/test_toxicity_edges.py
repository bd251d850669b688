"""CTCAE grading edges and rule-table refusals the mutation run of toxicity.py found unchecked
(issue 18). Worked by hand from CTCAE v5.0 and the table's documented shape:

- Neutrophil count decreased, grade 1: < LLN - 1.5 x 10^9/L; within limits (>= LLN) is 0.
  Only float noise (equal to 12 significant digits) is read as the cut-off itself.
- ALT increased (v5, baseline normal or none): grade 1 > ULN - 3 x ULN, grade 2 > 3 - 5 x ULN.
  A baseline of 0 or below is no baseline.
- Anemia: hemoglobin < LLN is grade 1; the LLN is the sex's own site limit.
- The toxicity baseline is the latest value at or before the first TKI's start, by date (on a
  tie in date, the later row).
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from cmltrack.domain.options import LabLimits
from cmltrack.domain.records import BloodCount, PatientRecord
from cmltrack.domain.toxicity import (
    ToxicityBaseline,
    derive_toxicity_baseline,
    grade_ctcae,
    grade_observation,
    parse_ctcae_table,
)
from cmltrack.errors import RuleTableError
from cmltrack.rules.loader import load_table

D0 = dt.date(2021, 6, 1)


# --- The cut-off and float noise ------------------------------------------------------------


def test_float_noise_on_the_lln_is_within_limits() -> None:
    # 0.1 * 15 = 1.5000000000000002 and 1.5 - 2e-16 are 1.5 to 12 digits: ANC on the LLN 1.5.
    assert grade_ctcae("neutrophils", 1.5 - 2e-16, lln=1.5) == 0


def test_a_real_difference_below_the_lln_is_below_it() -> None:
    # 1.999999999 is 1e-9 below an LLN of 2.0: a real (if tiny) difference, so < LLN and
    # >= 1.5: grade 1, not 0.
    assert grade_ctcae("neutrophils", 1.999999999, lln=2.0) == 1


# --- Baselines ------------------------------------------------------------------------------


def test_a_zero_baseline_is_no_baseline() -> None:
    # ALT 130 with ULN 40: 3.25 x ULN, grade 2, as with no baseline at all.
    assert grade_ctcae("alt", 130, uln=40, baseline=0.0) == 2
    assert grade_ctcae("alt", 130, uln=40, baseline=None) == 2


def _record(chemistry: list[dict[str, Any]]) -> PatientRecord:
    return PatientRecord.model_validate({
        "id": "B",
        "therapy": [{"drug": "imatinib", "dose_mg_per_day": 400, "start": "2021-01-10"}],
        "observations": [{"kind": "chemistry", **c} for c in chemistry],
    })


def test_baseline_is_the_latest_by_date_not_by_row() -> None:
    # Rows out of date order: 2020-12-20 (ALT 60) is later than 2020-12-01 (ALT 90).
    rec = _record([{"date": "2020-12-20", "alt": 60}, {"date": "2020-12-01", "alt": 90}])
    assert derive_toxicity_baseline(rec).alt == 60


def test_baseline_tie_in_date_takes_the_later_row() -> None:
    rec = _record([{"date": "2020-12-20", "alt": 50}, {"date": "2020-12-20", "alt": 70}])
    assert derive_toxicity_baseline(rec).alt == 70


# --- Sex-specific hemoglobin LLN --------------------------------------------------------------


@pytest.mark.parametrize(("sex", "grade"), [("F", 1), ("M", 0), (None, 0)])
def test_female_lln_is_the_female_limit_even_when_higher(sex: str | None, grade: int) -> None:
    # A site whose female LLN (12.0) is above its male one (11.5): Hb 11.8 is below the
    # female limit (grade 1), above the male one; unknown sex takes the lower limit, 11.5.
    limits = LabLimits(hemoglobin_lln_female=12.0, hemoglobin_lln_male=11.5)
    got = grade_observation(BloodCount(date=D0, hemoglobin=11.8), baseline=ToxicityBaseline(),
                            limits=limits, sex=sex)
    assert got == {"anemia": grade}


# --- Rule-table refusals name the table, the place and the fault ------------------------------


def _raw() -> dict[str, Any]:
    data: dict[str, Any] = copy.deepcopy(load_table("ctcae_v5"))
    return data


def _term0(d: dict[str, Any]) -> dict[str, Any]:
    term: dict[str, Any] = d["terms"][0]
    return term


def _band0(d: dict[str, Any]) -> dict[str, Any]:
    band: dict[str, Any] = _term0(d)["scales"][0]["bands"][0]
    return band


_B0 = "terms[0].scales[0].bands[0]"
_CASES: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    ("term not a mapping", lambda d: d["terms"].__setitem__(0, ["x"]),
     "terms[0]: expected a mapping, got list"),
    ("term missing unit", lambda d: _term0(d).pop("unit"), "terms[0]: missing ['unit']"),
    ("term unknown key", lambda d: _term0(d).__setitem__("foo", 1),
     "terms[0]: unknown keys ['foo']"),
    ("blank key", lambda d: _term0(d).__setitem__("key", "  "),
     "terms[0].key: must be non-empty text"),
    ("number as text", lambda d: _band0(d)["lower"].__setitem__("value", "1.5"),
     f"{_B0}.lower.value: must be a finite number, got '1.5'"),
    ("number as boolean", lambda d: _band0(d)["lower"].__setitem__("value", True),
     f"{_B0}.lower.value: must be a finite number, got True"),
    ("edge not a mapping", lambda d: _band0(d).__setitem__("lower", 1.5),
     f"{_B0}.lower: expected a mapping, got float"),
    ("unknown operator", lambda d: _band0(d)["upper"].__setitem__("op", "=<"),
     f"{_B0}.upper: op '=<' is not one of ['<', '<=']"),
]


@pytest.mark.parametrize(("fault", "mutate", "where_what"), _CASES, ids=[c[0] for c in _CASES])
def test_a_bad_table_is_refused_naming_place_and_fault(
    fault: str, mutate: Callable[[dict[str, Any]], None], where_what: str
) -> None:
    data = _raw()
    mutate(data)
    with pytest.raises(RuleTableError) as err:
        parse_ctcae_table(data, "ctcae_v5")
    assert str(err.value) == f"rule table 'ctcae_v5', {where_what}"
