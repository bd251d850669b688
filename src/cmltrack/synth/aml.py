"""Synthetic AML trial cohorts (CLAG + imatinib in relapsed/refractory AML, seed 003).

A trial patient is described by a few numbers (status, response, days to progression and death,
transplant) and :func:`trial_record` turns it into a full record of the aml contract: diagnosis
with genetics, the prior induction and the relapse (or refractory) marrow that make the protocol's
status derivable, the CLAG + imatinib course, the response marrow with its blood count, the
relapse or progression marrow, transplant and death. The record is then assessed like any other.

:func:`calibrated_clag_im_cohort` searches, with a fixed seed, for 38 patients whose trial report
gives seed 003's published figures (aml spec section 5); ``examples/clag-im-cohort.jsonl`` is
its output. :func:`aml_trial_cohort` draws a cohort of any size from the same model (``cmltrack
synth --profile aml-trial``). These are test data, not patients.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

DAYS_PER_MONTH = 30.4375
STATUSES = ("refractory", "early_relapse", "late_relapse")
# Seed 003 (Mirza 2017), what the calibrated cohort must reproduce (aml spec section 5): n 38,
# 14 responders, 8 of them to allo-HCT, refractory 7 / early relapse 19 / late relapse 12, age
# median 62 (26-79), OS 11.1 (4.8-13.4), PFS 4.9 (1.6-11.7) months, log-rank P 0.0002.


@dataclass(frozen=True, slots=True)
class TrialPatient:
    """One patient of a CLAG + imatinib trial, in days from inclusion (day 0 = cytarabine)."""

    pid: str
    sex: str
    age: int                    # completed years at inclusion
    status: str                 # refractory | early_relapse | late_relapse
    risk: str                   # favorable | intermediate | adverse | unknown (karyotype)
    best: str                   # CR, CRh, CRi, PR, SD, PD, or NE (no response marrow)
    response_day: int | None    # the response marrow (None for NE)
    pfs_day: int                # progression/relapse, death, or censoring
    pfs_event: str | None       # relapse | progression | death | None (censored)
    os_day: int                 # death or last contact
    death: bool
    hct_day: int | None         # allogeneic transplant
    inclusion: dt.date
    cr1_days: int               # relapsed: first CR to relapse; refractory: 0

    @property
    def responder(self) -> bool:
        return self.best in ("CR", "CRh", "CRi", "PR")


def _d(day: dt.date, n: int) -> str:
    return (day + dt.timedelta(days=n)).isoformat()


def _genetics(risk: str) -> dict[str, Any]:
    if risk == "favorable":
        return {"karyotype": "46,XX[20]", "karyotype_done": True, "findings": [],
                "mutations_tested": ["ELN2022"], "mutations": [{"gene": "NPM1"}]}
    if risk == "intermediate":
        return {"karyotype": "46,XY,+8[12]/46,XY[8]", "karyotype_done": True, "findings": [],
                "mutations_tested": ["ELN2022"],
                "mutations": [{"gene": "FLT3-ITD", "allelic_ratio": 0.4}]}
    if risk == "adverse":
        return {"karyotype": "45,XY,-7[18]/46,XY[2]", "karyotype_done": True, "findings": ["-7"],
                "mutations_tested": ["ELN2022"], "mutations": [{"gene": "ASXL1"}]}
    return {"karyotype_done": False, "mutations_tested": ["ELN2022"], "mutations": []}


def _blood(day: str, wbc: float, anc: float, plt: float, pb: float) -> dict[str, Any]:
    return {"date": day, "kind": "blood", "wbc": wbc, "anc": anc, "platelets": plt,
            "hemoglobin": 9.5, "blasts_pb": pb}


def _marrow(day: str, blasts: float) -> dict[str, Any]:
    return {"date": day, "kind": "marrow", "blasts_bm": blasts, "cells_counted": 500,
            "spicules": True}


# Response marrow and count for each best response, against a baseline of >= 40% blasts.
_RESPONSE = {
    "CR": (2.0, (3.2, 1.8, 140.0, 0.0)),
    "CRh": (2.0, (1.4, 0.7, 70.0, 0.0)),
    "CRi": (3.0, (2.6, 1.4, 40.0, 0.0)),
    "PR": (12.0, (3.0, 1.5, 120.0, 0.0)),
    "SD": (35.0, (1.0, 0.3, 20.0, 5.0)),
    "PD": (80.0, (40.0, 2.0, 25.0, 80.0)),
}


def trial_record(p: TrialPatient) -> dict[str, Any]:
    """The full record of one trial patient (aml patient-record contract)."""
    inc = p.inclusion
    obs: list[dict[str, Any]] = []
    therapy: list[dict[str, Any]] = []
    # Before inclusion: 7+3 induction, then a CR and a relapse (or a refractory marrow).
    if p.status == "refractory":
        s0 = inc - dt.timedelta(days=40)
        obs += [_marrow(_d(s0, 28), 45.0), _blood(_d(s0, 28), 2.0, 0.4, 30.0, 5.0)]
    else:
        s0 = inc - dt.timedelta(days=10 + p.cr1_days + 35)
        cr = s0 + dt.timedelta(days=35)
        relapse = cr + dt.timedelta(days=p.cr1_days)
        obs += [_marrow(cr.isoformat(), 2.0), _blood(cr.isoformat(), 4.0, 2.1, 160.0, 0.0),
                _marrow(relapse.isoformat(), 40.0),
                _blood(relapse.isoformat(), 6.0, 0.9, 60.0, 15.0)]
    dx = s0 - dt.timedelta(days=4)
    therapy += [
        {"drug": "cytarabine", "dose_mg_per_day": 190.0, "start": s0.isoformat(),
         "end": _d(s0, 6), "reason_end": "completed"},
        {"drug": "daunorubicin", "dose_mg_per_day": 114.0, "start": s0.isoformat(),
         "end": _d(s0, 2), "reason_end": "completed"},
    ]
    # The CLAG + imatinib course (BSA 1.9 m^2: cytarabine 3800 mg, cladribine 9.5 mg).
    therapy += [
        {"drug": "cytarabine", "dose_mg_per_day": 3800.0, "start": inc.isoformat(),
         "end": _d(inc, 5), "reason_end": "completed"},
        {"drug": "cladribine", "dose_mg_per_day": 9.5, "start": _d(inc, 1), "end": _d(inc, 5),
         "reason_end": "completed"},
        {"drug": "filgrastim", "dose_mg_per_day": 0.3, "start": inc.isoformat(),
         "end": _d(inc, 5), "reason_end": "completed"},
        {"drug": "imatinib", "dose_mg_per_day": 800.0, "start": _d(inc, 1), "end": _d(inc, 14),
         "reason_end": "completed"},
    ]
    if p.response_day is not None:
        blasts, (wbc, anc, plt, pb) = _RESPONSE[p.best]
        day = _d(inc, p.response_day)
        obs += [_marrow(day, blasts), _blood(day, wbc, anc, plt, pb)]
    events: list[dict[str, Any]] = []
    if p.pfs_event in ("relapse", "progression") and p.pfs_day != p.response_day:
        day = _d(inc, p.pfs_day)
        if p.best in ("CR", "CRh", "CRi"):  # after a CR-class response: a relapse
            obs += [_marrow(day, 30.0), _blood(day, 8.0, 0.8, 40.0, 20.0)]
        else:
            obs += [_marrow(day, 80.0), _blood(day, 40.0, 2.0, 25.0, 80.0)]
    if p.hct_day is not None:
        events.append({"date": _d(inc, p.hct_day), "kind": "transplant", "detail": "allogeneic"})
    if p.death:
        events.append({"date": _d(inc, p.os_day), "kind": "death", "cause": "AML"})
    else:
        obs.append(_blood(_d(inc, p.os_day), 5.0, 2.5, 150.0, 0.0))  # last contact
    obs.sort(key=lambda o: o["date"])
    birth = dt.date(inc.year - p.age - 1, inc.month, 1) + dt.timedelta(days=20)
    if (inc - birth).days >= (p.age + 1) * 365.25:
        birth = birth + dt.timedelta(days=60)
    return {
        "id": p.pid, "sex": p.sex, "birth_date": birth.isoformat(),
        "diagnosis": {
            "date": dx.isoformat(), "disease": "AML", "aml_type": "de_novo",
            "status": "refractory" if p.status == "refractory" else "relapsed",
            "wbc": 12.0, "anc": 1.1, "platelets": 45.0, "hemoglobin": 8.6, "blasts_pb": 25.0,
            "blasts_bm": 55.0, "extramedullary": False, "ecog": 1,
            "genetics": _genetics(p.risk)},
        "therapy": therapy, "observations": obs, "events": events,
    }


# ------------------------------------------------------------------------ the cohort model


def _km_figures(days: np.ndarray, events: np.ndarray) -> tuple[float, float, float]:
    from cmltrack.stats import kaplan_meier

    curve = kaplan_meier(days / DAYS_PER_MONTH, events, ci="log").groups[0]
    return curve.median, curve.median_lower, curve.median_upper


def _logrank_p(days: np.ndarray, events: np.ndarray, group: np.ndarray) -> float:
    from cmltrack.stats import logrank_test

    return float(logrank_test(days / DAYS_PER_MONTH, events, group).p)


def cohort_figures(patients: Sequence[TrialPatient]) -> dict[str, float]:
    """The trial report's survival figures of a set of patients (months, R's log CI)."""
    os_d = np.array([p.os_day for p in patients], dtype=float)
    os_e = np.array([1 if p.death else 0 for p in patients])
    pfs_d = np.array([p.pfs_day for p in patients], dtype=float)
    pfs_e = np.array([1 if p.pfs_event else 0 for p in patients])
    resp = np.array([1 if p.responder else 0 for p in patients])
    om, ol, ou = _km_figures(os_d, os_e)
    pm, pl, pu = _km_figures(pfs_d, pfs_e)
    return {"os_median": om, "os_lower": ol, "os_upper": ou, "pfs_median": pm,
            "pfs_lower": pl, "pfs_upper": pu, "logrank_p": _logrank_p(os_d, os_e, resp)}


#: Seed 003's survival figures in months, as cohort_figures names them.
SURVIVAL_TARGETS = {"os_median": 11.1, "os_lower": 4.8, "os_upper": 13.4, "pfs_median": 4.9,
                    "pfs_lower": 1.6, "pfs_upper": 11.7}


def _loss(f: dict[str, float]) -> float:
    loss = 0.0
    for name, target in SURVIVAL_TARGETS.items():
        value = f[name]
        if not np.isfinite(value):
            loss += 100.0
        else:
            loss += max(0.0, abs(value - target) - 0.03)
    p = f["logrank_p"]
    if not np.isfinite(p) or p <= 0:
        loss += 100.0
    else:
        # 0.0002 when rounded to 4 decimals: [0.00015, 0.00025); aim at its middle in log10.
        loss += max(0.0, abs(np.log10(p) - np.log10(0.0002)) - 0.08)
    return float(loss)


def _valid(p: TrialPatient) -> bool:
    if p.pfs_day > p.os_day or p.pfs_day < 1:
        return False
    if p.response_day is not None and p.response_day > p.pfs_day:
        return False
    if p.pfs_event == "death" and (not p.death or p.pfs_day != p.os_day):
        return False
    if p.pfs_event is None and (p.death or p.pfs_day != p.os_day):
        return False
    if p.pfs_event in ("relapse", "progression") and p.pfs_day >= p.os_day:
        return False
    if p.hct_day is not None:
        if p.response_day is None or not p.response_day < p.hct_day < p.os_day:
            return False
        if p.pfs_event in ("relapse", "progression") and p.hct_day >= p.pfs_day:
            return False
    return not (p.best == "PD" and (p.pfs_event != "progression" or p.pfs_day != p.response_day))


def _initial(rng: np.random.Generator, start: dt.date) -> list[TrialPatient]:
    """Seed 003's composition (responders, transplants, statuses, ages), times from a model."""
    n = 38
    statuses = (["refractory"] * 7 + ["early_relapse"] * 19 + ["late_relapse"] * 12)
    risks = ["favorable"] * 2 + ["intermediate"] * 18 + ["adverse"] * 16 + ["unknown"] * 2
    rng.shuffle(statuses)
    rng.shuffle(risks)
    # Ages: median 62 (19th and 20th of 38 both 62), range 26-79.
    low = sorted(int(a) for a in rng.integers(27, 62, size=17))
    high = sorted(int(a) for a in rng.integers(63, 79, size=17))
    ages = [26, *low, 62, 62, *high, 79]
    rng.shuffle(ages)
    bests = (["CR"] * 9 + ["CRi"] * 2 + ["CRh"] * 1 + ["PR"] * 2
             + ["SD"] * 12 + ["PD"] * 8 + ["NE"] * 4)
    rng.shuffle(bests)
    out: list[TrialPatient] = []
    hct_left = 8  # seed 003: 8 of the 14 responders went on to allogeneic HCT
    accrual = (dt.date(2011, 4, 30) - start).days
    for i in range(n):
        best = bests[i]
        incl = start + dt.timedelta(days=int(rng.integers(0, accrual)))
        responder = best in ("CR", "CRh", "CRi", "PR")
        if best == "NE":
            os_day = int(rng.integers(8, 27))
            p = TrialPatient(f"CLAG{i + 1:02d}", "M", 0, "", "", best, None, os_day, "death",
                             os_day, True, None, incl, 0)
        elif best == "PD":
            rday = int(rng.integers(25, 40))
            os_day = rday + int(rng.integers(20, 200))
            p = TrialPatient("", "M", 0, "", "", best, rday, rday, "progression", os_day, True,
                             None, incl, 0)
        elif best == "SD":
            rday = int(rng.integers(28, 42))
            pfs = rday + int(rng.integers(5, 150))
            os_day = pfs + int(rng.integers(10, 200))
            p = TrialPatient("", "M", 0, "", "", best, rday, pfs, "progression", os_day, True,
                             None, incl, 0)
        else:
            rday = int(rng.integers(28, 45))
            pfs = rday + int(rng.integers(60, 500))
            os_day = pfs + int(rng.integers(30, 400))
            hct = None
            if hct_left > 0:
                hct_left -= 1
                hct = rday + int(rng.integers(20, 50))
            p = TrialPatient("", "M", 0, "", "", best, rday, pfs, "relapse", os_day,
                             True, hct, incl, 0)
        status = statuses[i]
        cr1 = 0 if status == "refractory" else (
            int(rng.integers(90, 330)) if status == "early_relapse"
            else int(rng.integers(400, 1100)))
        out.append(replace(p, pid=f"CLAG{i + 1:02d}", sex="F" if rng.random() < 0.45 else "M",
                           age=ages[i], status=status, risk=risks[i], cr1_days=cr1))
        assert responder == out[-1].responder
    return out


def _mutate(p: TrialPatient, rng: np.random.Generator) -> TrialPatient:
    step = int(rng.choice([-40, -15, -5, -2, -1, 1, 2, 5, 15, 40]))
    what = int(rng.integers(0, 4))
    if what == 0:   # move death or last contact
        return replace(p, os_day=p.os_day + step,
                       pfs_day=p.pfs_day + step if p.pfs_event in ("death", None) else p.pfs_day)
    if what == 1 and p.pfs_event in ("relapse", "progression"):
        if p.best == "PD":
            return replace(p, pfs_day=p.pfs_day + step, response_day=p.pfs_day + step)
        return replace(p, pfs_day=p.pfs_day + step)
    if what == 2 and p.best not in ("PD", "NE"):
        # censor or uncensor: alive at last contact (no event), or die at os_day
        if p.pfs_event is None:
            return replace(p, death=True, pfs_event="death")
        if p.pfs_event == "death" or (p.death and p.pfs_event in ("relapse", "progression")):
            if p.pfs_event == "death":
                return replace(p, death=False, pfs_event=None)
            return replace(p, death=False)
    if what == 3 and p.pfs_event in ("relapse", "progression") and p.best != "PD":
        return replace(p, pfs_event="death", pfs_day=p.os_day, death=True)
    return p


def calibrated_clag_im_cohort(seed: int = 3, max_steps: int = 200_000) -> list[TrialPatient]:
    """38 patients whose trial report gives seed 003's figures (a seeded local search)."""
    rng = np.random.default_rng(seed)
    patients = _initial(rng, dt.date(2009, 8, 1))
    loss = _loss(cohort_figures(patients))
    for _ in range(max_steps):
        if loss == 0.0:
            break
        i = int(rng.integers(0, len(patients)))
        cand = _mutate(patients[i], rng)
        if cand is patients[i] or not _valid(cand):
            continue
        trial = [*patients[:i], cand, *patients[i + 1:]]
        new = _loss(cohort_figures(trial))
        if new <= loss:
            patients, loss = trial, new
    if loss > 0.0:
        raise RuntimeError(f"calibration did not converge (loss {loss:.4f})")
    return patients


def aml_trial_cohort(n: int, seed: int, *, start: dt.date = dt.date(2015, 1, 1),
                     as_of: dt.date = dt.date(2025, 12, 31)) -> Iterator[dict[str, Any]]:
    """A random CLAG + imatinib trial cohort of ``n`` patients (the aml-trial profile).

    Model (choices here, documented in docs/aml.md): status refractory 18% / early relapse 50% /
    late relapse 32% and age ~ N(60, 12) clipped to 18-85 (seed 003's mix); best response CR 24%,
    CRh 3%, CRi 5%, PR 5% (ORR 37%), SD 32%, PD 21%, no marrow (early death) 10%; days to
    relapse or progression exponential (median 150 for responders, 35 after the response marrow
    otherwise), then to death (median 150); allo-HCT for 57% of responders; accrual over two
    years from ``start``; follow-up censored at ``as_of``.
    """
    rng = np.random.default_rng(seed)
    bests = ["CR", "CRh", "CRi", "PR", "SD", "PD", "NE"]
    weights = [0.24, 0.03, 0.05, 0.05, 0.32, 0.21, 0.10]
    risks = ["favorable", "intermediate", "adverse", "unknown"]
    for i in range(n):
        incl = start + dt.timedelta(days=int(rng.integers(0, 730)))
        cutoff = (as_of - incl).days
        status = str(rng.choice(STATUSES, p=[0.18, 0.50, 0.32]))
        best = str(rng.choice(bests, p=weights))
        age = int(np.clip(round(rng.normal(60, 12)), 18, 85))
        rday = int(rng.integers(28, 45)) if best != "NE" else None
        hct = None
        if best == "NE":
            pfs = os_day = int(rng.integers(5, 28))
            event: str | None = "death"
        else:
            assert rday is not None
            if best == "PD":
                pfs = rday
            else:
                median = 150 if best in ("CR", "CRh", "CRi", "PR") else 35
                pfs = rday + 1 + int(rng.exponential(median / np.log(2)))
            os_day = pfs + 1 + int(rng.exponential(150 / np.log(2)))
            event = "relapse" if best in ("CR", "CRh", "CRi") else "progression"
            if best in ("CR", "CRh", "CRi", "PR") and rng.random() < 0.57 and pfs - rday > 30:
                hct = rday + int(rng.integers(15, min(60, pfs - rday)))
        death = True
        if os_day >= cutoff:
            os_day, death = cutoff, False
            if pfs >= cutoff:
                pfs, event = cutoff, None
        if hct is not None and hct >= os_day:
            hct = None
        if event == "death" and not death:
            event = None
            pfs = os_day
        cr1 = 0 if status == "refractory" else (
            int(rng.integers(60, 360)) if status == "early_relapse"
            else int(rng.integers(370, 1500)))
        p = TrialPatient(f"AML{i + 1:05d}", "F" if rng.random() < 0.45 else "M", age, status,
                         str(rng.choice(risks, p=[0.05, 0.47, 0.42, 0.06])), best, rday,
                         pfs, event, os_day, death, hct, incl, cr1)
        yield trial_record(p)


def write_calibrated_cohort(path: str, seed: int = 3) -> int:
    """Write the calibrated 38-patient cohort as JSON Lines (``examples/clag-im-cohort.jsonl``)."""
    import json

    patients = calibrated_clag_im_cohort(seed)
    with open(path, "w", encoding="utf-8") as fh:
        for p in patients:
            fh.write(json.dumps(trial_record(p), separators=(",", ":")) + "\n")
    return len(patients)


if __name__ == "__main__":  # python -m cmltrack.synth.aml OUT.jsonl
    import sys

    print(write_calibrated_cohort(sys.argv[1]))
