"""Cohort response summaries from per-patient tables (the analyses the seed studies report).

Inputs are two pandas tables: the ADTTE endpoints (``cmltrack.domain.endpoints``, one row per
patient and endpoint) and a baseline table (one row per patient: ``USUBJID`` and any baseline
columns such as ``sokal_group`` or ``start_dose``). Outputs are small frozen result objects with
``to_dict()``.

- :func:`best_response_rates`: proportion of patients who reached each response by 3, 6, 12,
  18 and 24 months and at any time, with exact (Clopper-Pearson) intervals. The denominator is
  every patient with an endpoint row (intention to treat); a patient censored before the
  landmark without the response counts as a non-responder, as crude landmark rates do.
- :func:`response_incidence`: cumulative incidence of CCyR, MMR and MR4.5 with death and
  progression as competing risks (Aalen-Johansen, as cmprsk).
- :func:`landmark_survival`: survival from a landmark (12 months) by the response reached by
  then, the analysis of Cervantes et al., Haematologica 2003 (seed 002): patients alive and
  followed at the landmark, Kaplan-Meier from the landmark with the log-rank test.
- :func:`response_predictors`: logistic regression (statsmodels) of a response by a landmark
  on baseline covariates.
- :func:`compare_groups`: response rates and survival by any baseline column.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from cmltrack.errors import InputError
from cmltrack.stats._result import json_safe
from cmltrack.stats.competing import CumIncResult, cumulative_incidence
from cmltrack.stats.rates import RateResult, rate_ci
from cmltrack.stats.survival import KMResult, kaplan_meier

RESPONSES = {"CHR": "TTCHR", "CCyR": "TTCCYR", "MMR": "TTMMR", "MR4": "TTMR4", "MR4.5": "TTMR45"}
LANDMARKS = (3, 6, 12, 18, 24)


def _param(endpoints: pd.DataFrame, code: str) -> pd.DataFrame:
    rows = endpoints[endpoints["PARAMCD"] == code]
    if rows.empty:
        raise InputError(f"no {code} rows in the endpoints table", code="empty", field="PARAMCD")
    return rows


@dataclass(frozen=True, slots=True)
class ResponseRates:
    """Best response rates by landmark: ``rates[response][landmark]`` ("any" = at any time)."""

    rates: dict[str, dict[str, RateResult]]

    @property
    def summary(self) -> pd.DataFrame:
        rows = [
            [resp, lm, r.k, r.n, r.estimate, r.lower, r.upper]
            for resp, by in self.rates.items()
            for lm, r in by.items()
        ]
        return pd.DataFrame(rows, columns=["response", "by", "k", "n", "rate", "lower", "upper"])

    def to_dict(self) -> dict[str, Any]:
        return {resp: {lm: r.to_dict() for lm, r in by.items()} for resp, by in self.rates.items()}


def best_response_rates(
    endpoints: pd.DataFrame, landmarks: tuple[int, ...] = LANDMARKS, level: float = 0.95
) -> ResponseRates:
    """Cumulative best response by each landmark and overall, with exact intervals."""

    def rows(code: str) -> Weighted:
        got = _param(endpoints, code)
        return (
            got["AVAL"].to_numpy(dtype=float),
            got["CNSR"].to_numpy(),
            np.ones(len(got), dtype=np.int64),
        )

    return rates_from(rows, landmarks, level)


#: Endpoint rows of one PARAMCD as (AVAL, CNSR, how many patients have these values).
Weighted = tuple[
    np.ndarray[Any, np.dtype[np.float64]], np.ndarray[Any, Any], np.ndarray[Any, np.dtype[np.int64]]
]


def rates_from(
    rows: Any, landmarks: tuple[int, ...] = LANDMARKS, level: float = 0.95
) -> ResponseRates:
    """:func:`best_response_rates` from ``rows(code) -> (AVAL, CNSR, count)`` arrays.

    Counts make the rates of an aggregated cohort (a Spark ``groupBy``) exactly those of the
    patient rows they count: each rate is a count over a count.
    """
    out: dict[str, dict[str, RateResult]] = {}
    for resp, code in RESPONSES.items():
        aval, cnsr, weight = rows(code)
        n = int(np.sum(weight))
        event = cnsr == 0
        by: dict[str, RateResult] = {}
        for lm in landmarks:
            k = int(np.sum(weight[event & (aval <= lm)]))
            by[f"{lm} months"] = rate_ci(k, n, "exact", level)
        by["any time"] = rate_ci(int(np.sum(weight[event])), n, "exact", level)
        out[resp] = by
    return ResponseRates(out)


def _status(rows: pd.DataFrame) -> np.ndarray[Any, np.dtype[np.int64]]:
    cnsr = rows["CNSR"].to_numpy()
    comp = rows["CMPEVNT"].to_numpy()
    return np.where(cnsr == 0, 1, np.where(comp == 1, 2, 0)).astype(np.int64)


def response_incidence(
    endpoints: pd.DataFrame,
    responses: tuple[str, ...] = ("CCyR", "MMR", "MR4.5"),
    at: tuple[float, ...] = (6, 12, 18, 24, 36, 48, 60),
    group: pd.Series | None = None,
) -> dict[str, CumIncResult]:
    """Cumulative incidence of each response; death or progression first is a competing risk."""
    out: dict[str, CumIncResult] = {}
    for resp in responses:
        rows = _param(endpoints, RESPONSES[resp])
        g = None if group is None else rows["USUBJID"].map(group).to_numpy()
        out[resp] = cumulative_incidence(
            rows["AVAL"].to_numpy(dtype=float), _status(rows), group=g, at=list(at)
        )
    return out


@dataclass(frozen=True, slots=True)
class LandmarkResult:
    """Survival from the landmark by response at the landmark."""

    landmark: float
    response: str
    endpoint: str
    n_excluded: int
    km: KMResult

    def to_dict(self) -> dict[str, Any]:
        return {
            "landmark": self.landmark,
            "response": self.response,
            "endpoint": self.endpoint,
            "excluded": self.n_excluded,
            **self.km.to_dict(),
        }


def landmark_survival(
    endpoints: pd.DataFrame,
    landmark: float = 12.0,
    response: str = "CCyR",
    endpoint: str = "PFS",
    at: tuple[float, ...] = (12, 24, 36, 48),
) -> LandmarkResult:
    """KM of ``endpoint`` from the landmark, patients grouped by ``response`` reached by then.

    Patients whose endpoint event or censoring falls before the landmark are excluded (they
    were not at risk at the landmark), as in a landmark analysis.
    """
    surv = _param(endpoints, endpoint).set_index("USUBJID")
    resp = _param(endpoints, RESPONSES[response]).set_index("USUBJID")
    eligible = surv[surv["AVAL"] >= landmark]
    reached = resp.reindex(eligible.index)
    responded = (reached["CNSR"] == 0) & (reached["AVAL"] <= landmark)
    return landmark_from(
        eligible["AVAL"].to_numpy(dtype=float),
        eligible["CNSR"].to_numpy(),
        responded.to_numpy(),
        len(surv),
        landmark, response, endpoint, at,
    )


def landmark_from(
    aval: Any,
    cnsr: Any,
    responded: Any,
    n_rows: int,
    landmark: float = 12.0,
    response: str = "CCyR",
    endpoint: str = "PFS",
    at: tuple[float, ...] = (12, 24, 36, 48),
) -> LandmarkResult:
    """:func:`landmark_survival` from the eligible patients' ``endpoint`` times and censoring,
    whether each had ``response`` by the landmark, and how many had an ``endpoint`` row."""
    labels = np.where(
        responded, f"{response} by {landmark:g} mo", f"no {response} by {landmark:g} mo"
    )
    if len(aval) == 0:
        raise InputError(
            f"no patient is followed to the {landmark:g}-month landmark",
            code="empty",
            field="AVAL",
        )
    km = kaplan_meier(
        aval - landmark,
        (cnsr == 0).astype(int),
        group=labels,
        at=list(at),
    )
    return LandmarkResult(landmark, response, endpoint, int(n_rows - len(aval)), km)


@dataclass(frozen=True, slots=True)
class LogisticResult:
    """Logistic regression of a response by a landmark: odds ratios with Wald intervals."""

    outcome: str
    n: int
    events: int
    coefficients: tuple[dict[str, Any], ...]
    converged: bool
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = json_safe(
            {
                "outcome": self.outcome,
                "n": self.n,
                "events": self.events,
                "converged": self.converged,
                "note": self.note,
                "coefficients": list(self.coefficients),
            }
        )
        return out


def response_predictors(
    endpoints: pd.DataFrame,
    baseline: pd.DataFrame,
    covariates: tuple[str, ...],
    response: str = "MMR",
    landmark: float = 12.0,
) -> LogisticResult:
    """Logistic regression of ``response`` by ``landmark`` months on numeric covariates."""
    check_covariates(baseline, covariates)
    rows = _param(endpoints, RESPONSES[response]).set_index("USUBJID")
    y = ((rows["CNSR"] == 0) & (rows["AVAL"] <= landmark)).astype(int)
    x = baseline.set_index("USUBJID").reindex(y.index)[list(covariates)]
    return logistic_from(pd.concat([y.rename("y"), x], axis=1), covariates, response, landmark)


def check_covariates(baseline: pd.DataFrame, covariates: tuple[str, ...]) -> None:
    """Every covariate is a numeric column of the baseline table."""
    missing = [c for c in covariates if c not in baseline.columns]
    if missing:
        raise InputError(
            f"no baseline column {missing[0]!r}", code="missing_field", field=missing[0]
        )
    text = [c for c in covariates if not pd.api.types.is_numeric_dtype(baseline[c])]
    if text:
        raise InputError(
            f"baseline column {text[0]!r} is not numeric; the regression takes numeric "
            "covariates (compare groups of a categorical column with --by)",
            code="bad_type", field=text[0],
        )


def logistic_from(
    frame: pd.DataFrame, covariates: tuple[str, ...], response: str, landmark: float
) -> LogisticResult:
    """:func:`response_predictors` from a frame of ``y`` (0/1) and the covariates, one row
    per patient with a ``response`` row, in the cohort's order."""
    import statsmodels.api as sm

    data = frame.dropna()
    outcome = f"{response} by {landmark:g} months"
    if data["y"].nunique() < 2:
        return LogisticResult(
            outcome,
            len(data),
            int(data["y"].sum()),
            (),
            False,
            "not estimable: every patient has the same outcome",
        )
    design = sm.add_constant(data[list(covariates)].astype(float), has_constant="add")
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # separation shows up as non-convergence below
            fit = sm.Logit(data["y"], design).fit(disp=0)
    except Exception as exc:  # perfect separation, singular matrix
        return LogisticResult(
            outcome, len(data), int(data["y"].sum()), (), False, f"not estimable: {exc}"
        )
    if not bool(fit.mle_retvals.get("converged", True)) or not np.all(np.isfinite(fit.bse)):
        return LogisticResult(
            outcome,
            len(data),
            int(data["y"].sum()),
            (),
            False,
            "not estimable: the fit did not converge (separation or too few patients)",
        )
    ci = fit.conf_int()
    coefs = tuple(
        {
            "name": name,
            "coef": float(fit.params[name]),
            "se": float(fit.bse[name]),
            "odds_ratio": float(np.exp(fit.params[name])),
            "ci": [float(np.exp(ci.loc[name, 0])), float(np.exp(ci.loc[name, 1]))],
            "p": float(fit.pvalues[name]),
        }
        for name in covariates
    )
    return LogisticResult(outcome, len(data), int(data["y"].sum()), coefs, True)


def group_names(values: pd.Series) -> pd.Series:
    """The group each value of a baseline column names (as text; no value: "missing")."""
    return values.astype("string").fillna("missing")


@dataclass(frozen=True, slots=True)
class GroupComparison:
    """Response rates and survival by the values of one baseline column."""

    by: str
    rates: dict[str, ResponseRates]
    survival: KMResult

    def to_dict(self) -> dict[str, Any]:
        return {
            "by": self.by,
            "rates": {g: r.to_dict() for g, r in self.rates.items()},
            "survival": self.survival.to_dict(),
        }


def compare_groups(
    endpoints: pd.DataFrame,
    baseline: pd.DataFrame,
    by: str,
    endpoint: str = "PFS",
    at: tuple[float, ...] = (12, 24, 60),
) -> GroupComparison:
    """Best response rates per group and Kaplan-Meier of ``endpoint`` with the log-rank test."""
    if by not in baseline.columns:
        raise InputError(f"no baseline column {by!r}", code="missing_field", field=by)
    groups = group_names(baseline.set_index("USUBJID")[by])
    rates = {
        str(g): best_response_rates(endpoints[endpoints["USUBJID"].isin(ids.index)])
        for g, ids in groups.groupby(groups)
    }
    surv = _param(endpoints, endpoint)
    km = kaplan_meier(
        surv["AVAL"].to_numpy(dtype=float),
        (surv["CNSR"].to_numpy() == 0).astype(int),
        group=surv["USUBJID"].map(groups).to_numpy(),
        at=list(at),
    )
    return GroupComparison(by, rates, km)
