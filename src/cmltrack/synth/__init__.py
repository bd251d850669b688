"""Synthetic CML cohorts: a calibrated, seeded generator of realistic patient records.

Public API::

    generate_cohort(n, seed, profile="first-line", *, as_of=date(2025, 12, 31))
        -> Iterator[PatientRecord]
    generate_cohort_dicts(...) -> Iterator[dict]   # the same patients as contract JSON dicts
    write_cohort(n, seed, out, profile, *, as_of, batch_size, workers, progress) -> Path

The model and its calibration are described in docs/synthetic-cohorts.md.
"""

from cmltrack.synth.cohort import (
    DEFAULT_AS_OF,
    generate_cohort,
    generate_cohort_dicts,
    write_cohort,
)
from cmltrack.synth.profiles import PROFILES, Profile, get_profile

__all__ = [
    "DEFAULT_AS_OF",
    "PROFILES",
    "Profile",
    "generate_cohort",
    "generate_cohort_dicts",
    "get_profile",
    "write_cohort",
]
