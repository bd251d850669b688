"""Baseline risk scores of chronic-phase CML: Sokal, Hasford (Euro), EUTOS and ELTS.

All inputs are values at diagnosis, before treatment: age in years, spleen in cm below the
costal margin, platelets x10^9/L, blasts, eosinophils and basophils as % of the peripheral-blood
differential. Inputs are never rounded. Formulas and cut-offs are those of the clinical rules
reference, section 7 (Hasford indicators with >= and the x1000 scale, section 13 item 9; Sokal
with the unrounded constants 43.4, 7.51 and 2.10, item 10).

A score is placed in its group after rounding it to 10 decimal places, so that floating-point
noise (a Hasford sum of exactly 1480 by hand comes out 1480.0000000000002) does not carry a
score that lies exactly on a cut-off across it. The reported score itself is unrounded.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from cmltrack.domain.records import PatientRecord
from cmltrack.domain.results import RiskScore

SOKAL_RULE = "SOKAL1984"
SOKAL_SOURCE = "Sokal JE et al. Blood 1984;63(4):789-799"
HASFORD_RULE = "HASFORD1998"
HASFORD_SOURCE = "Hasford J et al. J Natl Cancer Inst 1998;90(11):850-858"
EUTOS_RULE = "EUTOS2011"
EUTOS_SOURCE = "Hasford J et al. Blood 2011;118(3):686-692"
ELTS_RULE = "ELTS2016"
ELTS_SOURCE = "Pfirrmann M et al. Leukemia 2016;30(1):48-56"

#: Record field paths, as listed in ``RiskScore.missing`` when absent.
AGE_PATH = "diagnosis.age (or birth_date)"
_PATHS = {
    "spleen_cm": "diagnosis.spleen_cm",
    "platelets": "diagnosis.platelets",
    "blasts_pb": "diagnosis.blasts_pb",
    "eosinophils_pb": "diagnosis.eosinophils_pb",
    "basophils_pb": "diagnosis.basophils_pb",
}


def _on_scale(score: float) -> float:
    return round(score, 10)


def _three_groups(score: float, *, low_upto: float, intermediate_upto: float) -> str:
    """Low <= low_upto < intermediate <= intermediate_upto < high (Hasford, ELTS)."""
    s = _on_scale(score)
    if s <= low_upto:
        return "low"
    return "intermediate" if s <= intermediate_upto else "high"


# --- Sokal 1984 -------------------------------------------------------------------------------


def compute_sokal_score(
    *, age: float, spleen_cm: float, platelets: float, blasts_pb: float
) -> float:
    """Sokal relative risk (SOKAL1984):
    exp[0.0116(age - 43.4) + 0.0345(spleen - 7.51) + 0.188((platelets/700)^2 - 0.563)
    + 0.0887(blasts - 2.10)]."""
    exponent = (
        0.0116 * (age - 43.4)
        + 0.0345 * (spleen_cm - 7.51)
        + 0.188 * ((platelets / 700.0) ** 2 - 0.563)
        + 0.0887 * (blasts_pb - 2.10)
    )
    return math.exp(exponent)


def sokal_group(score: float) -> str:
    """SOKAL1984: low < 0.8; intermediate 0.8-1.2 (both ends included); high > 1.2."""
    s = _on_scale(score)
    if s < 0.8:
        return "low"
    if s <= 1.2:
        return "intermediate"
    return "high"


# --- Hasford (Euro) 1998 ----------------------------------------------------------------------


def compute_hasford_score(
    *,
    age: float,
    spleen_cm: float,
    platelets: float,
    blasts_pb: float,
    eosinophils_pb: float,
    basophils_pb: float,
) -> float:
    """Hasford (Euro) score on the published x1000 scale (HASFORD1998).

    [0.6666 (age >= 50) + 0.0420 spleen + 0.0584 blasts + 0.0413 eosinophils
    + 0.2039 (basophils >= 3%) + 1.0956 (platelets >= 1500)] x 1000. The indicators use >=
    as in the original (one reproduction prints '>'; clinical rules section 13 item 9).
    """
    # Coefficients are multiplied out (x1000) so that hand-computed sums such as 666.6 + 113.4
    # come out exactly, not 780.0000000000001.
    return (
        666.6 * (age >= 50)
        + 42.0 * spleen_cm
        + 58.4 * blasts_pb
        + 41.3 * eosinophils_pb
        + 203.9 * (basophils_pb >= 3)
        + 1095.6 * (platelets >= 1500)
    )


def hasford_group(score: float) -> str:
    """HASFORD1998: low <= 780; intermediate > 780 and <= 1480; high > 1480."""
    return _three_groups(score, low_upto=780, intermediate_upto=1480)


# --- EUTOS 2011 -------------------------------------------------------------------------------


def compute_eutos_score(*, basophils_pb: float, spleen_cm: float) -> float:
    """EUTOS score (EUTOS2011): 7 x basophils + 4 x spleen."""
    return 7.0 * basophils_pb + 4.0 * spleen_cm


def eutos_group(score: float) -> str:
    """EUTOS2011: high > 87, low <= 87 (no intermediate group)."""
    return "high" if _on_scale(score) > 87 else "low"


def compute_eutos_no_ccyr_probability(*, basophils_pb: float, spleen_cm: float) -> float:
    """EUTOS probability of no CCyR at 18 months: 1 / (1 + e^-x),
    x = -2.1007 + 0.0700 basophils + 0.0402 spleen (calculator formula, V2)."""
    x = -2.1007 + 0.0700 * basophils_pb + 0.0402 * spleen_cm
    return 1.0 / (1.0 + math.exp(-x))


# --- ELTS 2016 --------------------------------------------------------------------------------


def compute_elts_score(
    *, age: float, spleen_cm: float, platelets: float, blasts_pb: float
) -> float:
    """EUTOS long-term survival score (ELTS2016):
    0.0025 (age/10)^3 + 0.0615 spleen + 0.1052 blasts + 0.4104 (platelets/1000)^-0.5.

    Raises ValueError for platelets <= 0, where the formula is undefined.
    """
    if platelets <= 0:
        raise ValueError(f"ELTS needs platelets > 0, got {platelets:g}")
    return (
        0.0025 * (age / 10.0) ** 3
        + 0.0615 * spleen_cm
        + 0.1052 * blasts_pb
        + 0.4104 / math.sqrt(platelets / 1000.0)
    )


def elts_group(score: float) -> str:
    """ELTS2016: low <= 1.5680; intermediate > 1.5680 and <= 2.2185; high > 2.2185."""
    return _three_groups(score, low_upto=1.5680, intermediate_upto=2.2185)


# --- All four from a record -------------------------------------------------------------------


def _score(
    rule: str,
    needed: dict[str, float | None],
    compute: Callable[..., float],
    group: Callable[[float], str],
) -> RiskScore:
    missing = tuple(AGE_PATH if k == "age" else _PATHS[k] for k, v in needed.items() if v is None)
    if missing:
        return RiskScore(score=None, group=None, missing=missing, rule=rule)
    score = compute(**needed)
    return RiskScore(score=score, group=group(score), missing=(), rule=rule)


def assess_risk(record: PatientRecord) -> dict[str, RiskScore]:
    """Sokal, Hasford, EUTOS and ELTS from the record's values at diagnosis, in that order.

    A score with a missing input is null with ``missing`` naming the record fields needed.
    ELTS with platelets of 0 (formula undefined) is null with ``missing`` asking for a
    platelet count > 0.
    """
    dx = record.diagnosis
    age = record.age_at_diagnosis
    spleen = dx.spleen_cm if dx else None
    plt = dx.platelets if dx else None
    blasts = dx.blasts_pb if dx else None
    eos = dx.eosinophils_pb if dx else None
    baso = dx.basophils_pb if dx else None

    sokal_in = {"age": age, "spleen_cm": spleen, "platelets": plt, "blasts_pb": blasts}
    result = {
        "sokal": _score(SOKAL_RULE, sokal_in, compute_sokal_score, sokal_group),
        "hasford": _score(
            HASFORD_RULE,
            {**sokal_in, "eosinophils_pb": eos, "basophils_pb": baso},
            compute_hasford_score,
            hasford_group,
        ),
        "eutos": _score(
            EUTOS_RULE,
            {"basophils_pb": baso, "spleen_cm": spleen},
            compute_eutos_score,
            eutos_group,
        ),
    }
    if plt is not None and plt <= 0:
        result["elts"] = RiskScore(
            score=None, group=None, missing=("diagnosis.platelets (> 0)",), rule=ELTS_RULE
        )
    else:
        result["elts"] = _score(ELTS_RULE, sokal_in, compute_elts_score, elts_group)
    return result
