"""Cohort profiles: who the synthetic patients are and how their clinic treats them.

Every number here is a model parameter from ``shared/reference/synthetic-cohort.md`` (section 2,
tags V/V2/U/D as there) unless a comment says it is a choice made here. The three profiles are
documented with their sources in ``docs/synthetic-cohorts.md``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from cmltrack.errors import InputError


@dataclass(frozen=True, slots=True)
class Profile:
    """Parameters of one synthetic cohort. Rates are per year unless named ``_per_day``."""

    name: str
    description: str
    # Accrual: diagnosis dates uniform in [dx_start, dx_end]; follow-up capped (study end).
    dx_start: dt.date
    dx_end: dt.date
    follow_up_years: float
    # Baseline (synthetic-cohort.md 4.1)
    age_mean: float = 52.0
    age_sd: float = 14.0
    male_p: float = 0.55
    # Interferon before imatinib (the post-IFN cohorts of SEED-004): months from diagnosis.
    interferon_months_median: float | None = None
    # Response (4.2): primary resistance by Sokal group low/intermediate/high.
    primary_resistance: tuple[float, float, float] = (0.03, 0.07, 0.12)
    log10_f_mean: float = -2.0
    log10_plateau_mean: float = -4.5
    alpha_median_per_day: float = 0.045
    beta_median_per_day: float = 0.003
    # Secondary resistance hazard by current true level (>1%, 0.1-1%, <=0.1%).
    secondary_resistance: tuple[float, float, float] = (0.08, 0.05, 0.004)
    # Management
    start_dose_mg: int = 400
    escalation_policy: str = "eln"  # "eln": escalate or switch on failure; "kantarjian2003"
    # Chance that a failing visit leads to a change (D, calibrated: with visits every ~3
    # months, a third of the failures are acted on at the first failing visit and ~70% within
    # three; higher values switch so early that "ever CCyR on imatinib" falls below IRIS's 82%).
    act_p: float = 0.35
    escalate_p: float = 0.35  # of those changes, an imatinib dose escalation where possible
    second_gen_from: dt.date = dt.date(2006, 7, 1)  # dasatinib (FDA 06/2006), nilotinib 10/2007
    # TFR (4.8)
    tfr_years_on_tki: float = 5.0
    tfr_years_mr4: float = 2.0
    tfr_stop_p_per_visit: float = 0.25
    tfr_logit_intercept: float = -0.3
    # Follow-up
    lost_to_follow_up: float = 0.01
    late_visit_p: float = 0.10
    missed_visit_p: float = 0.04
    background_mortality_scale: float = 1.0


PROFILES: dict[str, Profile] = {
    "first-line": Profile(
        name="first-line",
        description=(
            "Newly diagnosed chronic-phase CML on first-line imatinib 400 mg in a modern clinic "
            "(ELN monitoring, escalation or second-generation switch on failure, TFR attempts)."
        ),
        dx_start=dt.date(2015, 1, 1),
        dx_end=dt.date(2024, 12, 31),
        follow_up_years=20.0,
    ),
    "high-dose-rescue": Profile(
        name="high-dose-rescue",
        description=(
            "Chronic phase after interferon failure, imatinib 400 mg, escalated to 800 mg (600 "
            "from 300) on hematologic or cytogenetic resistance or relapse (Kantarjian 2003)."
        ),
        dx_start=dt.date(1994, 1, 1),
        dx_end=dt.date(2000, 6, 30),
        follow_up_years=10.0,
        age_mean=56.0,
        age_sd=12.0,
        male_p=0.57,
        interferon_months_median=32.0,
        primary_resistance=(0.20, 0.28, 0.40),
        log10_f_mean=-1.4,
        secondary_resistance=(0.20, 0.08, 0.01),
        escalation_policy="kantarjian2003",
        act_p=0.9,
        escalate_p=1.0,
        tfr_stop_p_per_visit=0.0,
    ),
    "tfr-clinic": Profile(
        name="tfr-clinic",
        description=(
            "Long-term imatinib patients followed in a clinic that offers treatment-free "
            "remission to every eligible patient (EURO-SKI-like criteria)."
        ),
        dx_start=dt.date(2005, 1, 1),
        dx_end=dt.date(2014, 12, 31),
        follow_up_years=15.0,
        primary_resistance=(0.04, 0.07, 0.12),
        log10_f_mean=-2.3,
        log10_plateau_mean=-5.1,
        secondary_resistance=(0.06, 0.03, 0.003),
        tfr_years_on_tki=3.0,
        tfr_years_mr4=1.0,
        tfr_stop_p_per_visit=0.8,
    ),
}


def get_profile(name: str) -> Profile:
    """The profile called ``name``; an unknown name is a bad argument."""
    try:
        return PROFILES[name]
    except KeyError:
        raise InputError(
            f"unknown profile {name!r} (choose one of {', '.join(PROFILES)})",
            code="bad_argument",
            field="profile",
        ) from None
