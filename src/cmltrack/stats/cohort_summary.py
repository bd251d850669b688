"""``summarize`` in bounded memory: each patient is reduced to counts as it is read.

A patient contributes (:func:`contribution`) its endpoint rows as keys (PARAMCD, AVAL, CNSR,
CMPEVNT, group), its place in the landmark analysis and its regression row; :class:`Tally`
counts the keys. Everything :mod:`cmltrack.stats.summary` estimates is a function of those
counts (rates are counts over counts; Kaplan-Meier, Aalen-Johansen and the log-rank test
depend on the rows only through the numbers of events and censorings at each time), so
:func:`summarize_tally` gives exactly the numbers of the frame-based functions while holding
one count per distinct time, not one row per patient. The regression alone keeps a row per
patient (y and the covariates: a few numbers).

The Spark engine builds the same :class:`Tally` from a ``groupBy`` over the executors'
contributions, so the two engines give the same answers.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from cmltrack import DISCLAIMER
from cmltrack.domain.assess import assess
from cmltrack.domain.endpoints import derive_endpoints
from cmltrack.domain.options import AssessOptions
from cmltrack.domain.records import PatientRecord
from cmltrack.errors import InputError
from cmltrack.stats.competing import CumIncResult, cumulative_incidence
from cmltrack.stats.summary import (
    RESPONSES,
    ResponseRates,
    Weighted,
    check_covariates,
    group_names,
    landmark_from,
    logistic_from,
    rates_from,
)
from cmltrack.stats.survival import kaplan_meier
from cmltrack.stats.tables import BASELINE_COLUMNS, baseline_row

#: The analyses' fixed choices (as the summarize command has always made them).
CIF_RESPONSES = ("CCyR", "MMR", "MR4.5")
CIF_AT = (6, 12, 18, 24, 36, 48, 60)
LANDMARK_RESPONSE, LANDMARK_ENDPOINT = "CCyR", "PFS"
PREDICTED = "MMR"
GROUP_ENDPOINT, GROUP_AT = "PFS", (12, 24, 60)

#: An endpoint row as counted: (PARAMCD, AVAL, CNSR, CMPEVNT, group value as JSON or None).
Key = tuple[str, float, int, int, str | None]


@dataclass(frozen=True, slots=True)
class SummarySpec:
    """What ``summarize`` was asked for."""

    landmark: float = 12.0
    by: str | None = None
    covariates: tuple[str, ...] = ("age", "sokal_score")


def contribution(
    record: PatientRecord, spec: SummarySpec, options: AssessOptions | None = None
) -> dict[str, Any]:
    """What one patient adds to the summary (JSON-able, so executors can ship it).

    ``ends``: its endpoint rows; ``group``: its ``--by`` value (JSON); ``landmark``: its
    landmark-endpoint (AVAL, CNSR, reached the response by the landmark) or None; ``reg``:
    JSON of [y or None, *covariates] (y: the predicted response by the landmark; None without
    a row for it).
    """
    a = assess(record, options=options)
    rows = derive_endpoints(record, a)
    base = baseline_row(record, a)
    by_code = {r.PARAMCD: r for r in rows}
    lm = spec.landmark
    landmark = None
    surv = by_code.get(LANDMARK_ENDPOINT)
    if surv is not None:
        resp = by_code.get(RESPONSES[LANDMARK_RESPONSE])
        reached = resp is not None and resp.CNSR == 0 and lm >= resp.AVAL
        landmark = [surv.AVAL, surv.CNSR, reached]
    predicted = by_code.get(RESPONSES[PREDICTED])
    y = None if predicted is None else int(predicted.CNSR == 0 and lm >= predicted.AVAL)
    group = None
    if spec.by is not None and spec.by in base:
        # Enums are str subclasses: json writes their value, as pandas' text of them is.
        group = json.dumps(base[spec.by])
    return {
        "ends": [[r.PARAMCD, r.AVAL, r.CNSR, r.CMPEVNT] for r in rows],
        "group": group,
        "landmark": landmark,
        "reg": json.dumps([y, *(base.get(c) for c in spec.covariates)]),
    }


@dataclass
class Tally:
    """The counts a cohort's summary is computed from."""

    patients: int = 0
    ends: Counter[Key] = field(default_factory=Counter)
    #: Landmark endpoint rows: (AVAL, CNSR, reached) -> count, for AVAL >= the landmark.
    landmark: Counter[tuple[float, int, bool]] = field(default_factory=Counter)
    landmark_rows: int = 0
    groups: set[str | None] = field(default_factory=set)
    #: One [y or None, *covariates] per patient, in input order.
    reg: list[list[Any]] = field(default_factory=list)

    def add(self, c: dict[str, Any], spec: SummarySpec) -> None:
        self.patients += 1
        for code, aval, cnsr, cmp in c["ends"]:
            self.ends[(code, aval, cnsr, cmp, c["group"])] += 1
        if c["landmark"] is not None:
            self.landmark_rows += 1
            aval, cnsr, reached = c["landmark"]
            if aval >= spec.landmark:
                self.landmark[(aval, cnsr, reached)] += 1
        self.groups.add(c["group"])
        self.reg.append(json.loads(c["reg"]))


def tally(
    records: Iterable[PatientRecord], spec: SummarySpec, options: AssessOptions | None = None
) -> Tally:
    """Count a cohort, one record at a time."""
    t = Tally()
    for record in records:
        t.add(contribution(record, spec, options), spec)
    return t


def _weighted(t: Tally, code: str, group: set[str | None] | None = None) -> Weighted:
    keys = [k for k in t.ends if k[0] == code and (group is None or k[4] in group)]
    if not keys:
        raise InputError(f"no {code} rows in the endpoints table", code="empty", field="PARAMCD")
    keys.sort(key=lambda k: (k[1], k[2], k[3]))
    return (
        np.array([k[1] for k in keys], dtype=float),
        np.array([k[2] for k in keys], dtype=np.int64),
        np.array([t.ends[k] for k in keys], dtype=np.int64),
    )


def _repeat(t: Tally, code: str, group: set[str | None] | None = None) -> tuple[Any, Any, Any]:
    """The rows of ``code`` rebuilt from their counts: AVAL, CNSR, CMPEVNT arrays."""
    keys = sorted(
        (k for k in t.ends if k[0] == code and (group is None or k[4] in group)),
        key=lambda k: (k[1], k[2], k[3], "" if k[4] is None else k[4]),
    )
    if not keys:
        raise InputError(f"no {code} rows in the endpoints table", code="empty", field="PARAMCD")
    n = np.array([t.ends[k] for k in keys], dtype=np.int64)
    return (
        np.repeat(np.array([k[1] for k in keys], dtype=float), n),
        np.repeat(np.array([k[2] for k in keys], dtype=np.int64), n),
        np.repeat(np.array([k[3] for k in keys], dtype=np.int64), n),
    )


def _rates(t: Tally, group: set[str | None] | None = None) -> ResponseRates:
    return rates_from(lambda code: _weighted(t, code, group))


def _labels(t: Tally) -> dict[str | None, str]:
    """Each raw ``--by`` value's group name, as pandas names the column's values."""
    raw = list(t.groups)
    values = pd.Series([None if v is None else json.loads(v) for v in raw], dtype=None)
    names = group_names(values)
    return dict(zip(raw, [str(n) for n in names], strict=True))


def summarize_tally(
    t: Tally, spec: SummarySpec, *, file: str
) -> tuple[dict[str, Any], ResponseRates, dict[str, CumIncResult]]:
    """The ``summarize`` result (and the rates and incidences the text rendering reads)."""
    if not t.ends:
        raise InputError("no patient with TKI therapy to summarise", code="empty", file=file)
    rates = _rates(t)
    cif: dict[str, CumIncResult] = {}
    for resp in CIF_RESPONSES:
        aval, cnsr, cmp = _repeat(t, RESPONSES[resp])
        status = np.where(cnsr == 0, 1, np.where(cmp == 1, 2, 0)).astype(np.int64)
        cif[resp] = cumulative_incidence(aval, status, group=None, at=list(CIF_AT))
    result: dict[str, Any] = {
        "n": t.patients,
        "best_response": rates.to_dict(),
        "cumulative_incidence": {k: v.to_dict() for k, v in cif.items()},
    }
    try:
        _repeat(t, LANDMARK_ENDPOINT)  # the frame-based analysis needs both kinds of row
        _repeat(t, RESPONSES[LANDMARK_RESPONSE])
        keys = sorted(t.landmark)
        n = np.array([t.landmark[k] for k in keys], dtype=np.int64)
        lm = landmark_from(
            np.repeat(np.array([k[0] for k in keys], dtype=float), n),
            np.repeat(np.array([k[1] for k in keys], dtype=np.int64), n),
            np.repeat(np.array([k[2] for k in keys], dtype=bool), n),
            t.landmark_rows,
            spec.landmark, LANDMARK_RESPONSE, LANDMARK_ENDPOINT,
        )
        result["landmark"] = lm.to_dict()
    except InputError as exc:
        result["landmark"] = {"note": str(exc)}
    result["predictors"] = _predictors(t, spec).to_dict()
    if spec.by is not None:
        result["groups"] = _groups(t, spec.by)
    result["disclaimer"] = DISCLAIMER
    return result, rates, cif


def _predictors(t: Tally, spec: SummarySpec) -> Any:
    covs = spec.covariates
    x = pd.DataFrame([r[1:] for r in t.reg], columns=list(covs))
    # The baseline table has only BASELINE_COLUMNS: name the first covariate it lacks.
    check_covariates(x[[c for c in covs if c in BASELINE_COLUMNS]], covs)
    _repeat(t, RESPONSES[PREDICTED])  # no rows at all: the frame-based function's error
    has = np.array([r[0] is not None for r in t.reg], dtype=bool)
    y = pd.Series([r[0] for r in t.reg], dtype=object)[has].astype(int).rename("y")
    return logistic_from(pd.concat([y, x[has]], axis=1), covs, PREDICTED, spec.landmark)


def _groups(t: Tally, by: str) -> dict[str, Any]:
    if by not in BASELINE_COLUMNS:
        raise InputError(f"no baseline column {by!r}", code="missing_field", field=by)
    labels = _labels(t)
    members: dict[str, set[str | None]] = {}
    for raw, name in labels.items():
        members.setdefault(name, set()).add(raw)
    rates = {name: _rates(t, members[name]) for name in sorted(members)}
    keys = sorted(
        (k for k in t.ends if k[0] == GROUP_ENDPOINT),
        key=lambda k: (k[1], k[2], k[3], "" if k[4] is None else k[4]),
    )
    if not keys:
        raise InputError(
            f"no {GROUP_ENDPOINT} rows in the endpoints table", code="empty", field="PARAMCD"
        )
    n = np.array([t.ends[k] for k in keys], dtype=np.int64)
    km = kaplan_meier(
        np.repeat(np.array([k[1] for k in keys], dtype=float), n),
        np.repeat(np.array([int(k[2] == 0) for k in keys], dtype=np.int64), n),
        group=np.repeat(np.array([labels[k[4]] for k in keys], dtype=object), n),
        at=list(GROUP_AT),
    )
    return {
        "by": by,
        "rates": {g: r.to_dict() for g, r in rates.items()},
        "survival": km.to_dict(),
    }
