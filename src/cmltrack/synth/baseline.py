"""Correlated baseline values at diagnosis (synthetic-cohort.md 4.1, calibrated there, D).

A latent disease-burden factor ``z ~ N(0, 1)`` drives every marker through
``u = rho*z + sqrt(1 - rho^2)*eps``, which gives the published Sokal/ELTS/EUTOS mixes.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import special

from cmltrack.synth.profiles import Profile
from cmltrack.synth.rng import BlockRng, FloatArray, IntArray

TRANSCRIPTS = ("e14a2", "e13a2", "e13a2/e14a2")
TRANSCRIPT_P = (0.55, 0.38, 0.07)  # U (synthetic-cohort.md 4.1)
#: ACA in Ph+ cells at diagnosis (about 5%, U) and their relative frequencies (choice here).
DX_ACA = ("+8", "+Ph", "i(17q)", "+19", "-7", "complex")
DX_ACA_P = (0.3, 0.25, 0.15, 0.1, 0.1, 0.1)
DX_ACA_RATE = 0.05


def _latent(rng: BlockRng, z: FloatArray, rho: float) -> FloatArray:
    return rho * z + math.sqrt(1.0 - rho * rho) * rng.normal()


def sample_baseline(rng: BlockRng, profile: Profile) -> dict[str, NDArray[Any]]:
    """Baseline values for every patient of the batch, as the record will carry them."""
    z = rng.normal()
    male = rng.random() < profile.male_p
    lo = special.ndtr((18.0 - profile.age_mean) / profile.age_sd)
    hi = special.ndtr((90.0 - profile.age_mean) / profile.age_sd)
    age = profile.age_mean + profile.age_sd * special.ndtri(lo + (hi - lo) * rng.random())
    age = np.round(np.clip(age, 18.0, 90.0), 1)

    u = special.ndtr(_latent(rng, z, 0.5))
    q = np.clip((u - 0.55) / 0.45, 1e-9, 1 - 1e-9)
    spleen = np.where(u < 0.55, 0.0, np.minimum(special.gammaincinv(1.6, q) * 6.0, 35.0))
    spleen = np.round(spleen)
    platelets = np.round(np.clip(np.exp(math.log(380.0) + 0.65 * _latent(rng, z, 0.2)), 50, 3000))
    u = special.ndtr(_latent(rng, z, 0.5))
    q = np.clip((u - 0.40) / 0.60, 1e-9, 1 - 1e-9)
    blasts = np.where(u < 0.40, 0.0, np.exp(math.log(2.0) + 0.8 * special.ndtri(q)))
    blasts = np.minimum(np.round(blasts), 14.0)
    basophils = np.minimum(np.round(np.exp(math.log(3.0) + 0.65 * _latent(rng, z, 0.5))), 19.0)
    eosinophils = np.minimum(np.round(np.exp(math.log(2.0) + 0.7 * _latent(rng, z, 0.3))), 15.0)
    # Extras (U): WBC, hemoglobin, immature granulocytes of the left shift.
    wbc = np.round(np.clip(np.exp(math.log(80.0) + 0.8 * _latent(rng, z, 0.6)), 12.0, 600.0), 1)
    hemoglobin = np.round(np.clip(12.0 - 0.8 * z + 1.6 * rng.normal(), 6.0, 17.0), 1)
    myelocytes = np.round(np.clip(8.0 + 4.0 * _latent(rng, z, 0.5), 0.0, 25.0))
    metamyelocytes = np.round(myelocytes * 0.5)
    promyelocytes = np.round(np.clip(1.0 + 1.5 * rng.normal(), 0.0, 6.0))
    transcript = rng.choice(TRANSCRIPT_P)
    has_aca = rng.random() < DX_ACA_RATE
    aca = np.where(has_aca, rng.choice(DX_ACA_P) + 1, 0)
    return {
        "z": z,
        "male": male.astype(np.int64),
        "age": age,
        "spleen": spleen,
        "platelets": platelets,
        "blasts": blasts,
        "basophils": basophils,
        "eosinophils": eosinophils,
        "wbc": wbc,
        "hemoglobin": hemoglobin,
        "myelocytes": myelocytes,
        "metamyelocytes": metamyelocytes,
        "promyelocytes": promyelocytes,
        "transcript": transcript,
        "aca": aca,
    }


def sokal_group(age: NDArray[Any], spleen: NDArray[Any], platelets: NDArray[Any],
                blasts: NDArray[Any]) -> IntArray:
    """Sokal 1984 group (0 low < 0.8, 1 intermediate 0.8-1.2, 2 high > 1.2), vectorised.

    The generator needs the group as a model covariate for a whole batch at once; the
    per-record rule of the assessment lives in ``cmltrack.domain.risk`` (SOKAL1984). Both use
    the formula of clinical-rules.md section 7.
    """
    score = np.exp(
        0.0116 * (age - 43.4)
        + 0.0345 * (spleen - 7.51)
        + 0.188 * ((platelets / 700.0) ** 2 - 0.563)
        + 0.0887 * (blasts - 2.10)
    )
    return np.where(score < 0.8, 0, np.where(score <= 1.2, 1, 2)).astype(np.int64)
