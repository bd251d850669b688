"""A trial cohort summarised by its protocol (aml spec section 5): ``cmltrack trial report``.

Each record is assessed with the protocol (``assess --protocol clag-im``); the report counts
responders, gives the overall response rate with its exact (Clopper-Pearson) interval, the
Kaplan-Meier medians of OS and PFS with R ``survfit``'s default interval (log transform, 95%),
the log-rank test of OS in responders vs non-responders, and allogeneic transplants among the
responders. Times are months from inclusion (days / 30.4375).
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from cmltrack.domain.assess import assess
from cmltrack.domain.dates import age_in_years
from cmltrack.domain.options import AssessOptions
from cmltrack.domain.records import PatientRecord
from cmltrack.errors import InputError
from cmltrack.stats.rates import rate_ci
from cmltrack.stats.survival import kaplan_meier, logrank_test

SCHEMA = "cmltrack.trial_report/1"
DAYS_PER_MONTH = 30.4375
GUARANTEE_TIME_CAVEAT = (
    "Responders vs non-responders is not a randomised comparison: a patient must survive long "
    "enough to be assessed as a responder (guarantee-time, or immortal-time, bias), so the "
    "log-rank P overstates any benefit of response. A landmark analysis or response as a "
    "time-dependent covariate avoids it (Anderson JR et al., J Clin Oncol 1983;1:710-9)."
)


@dataclass(frozen=True, slots=True)
class TrialPatientRow:
    """One patient's protocol endpoints as the report uses them."""

    patient_id: str
    eligible: bool | None
    status: str | None
    relapse_timing: str | None
    age: int | None
    best_response: str | None
    responder: bool
    first_response_day: int | None
    os_months: float
    os_event: bool
    pfs_months: float
    pfs_event: bool
    allo_hct: bool
    allo_hct_day: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__slots__}


@dataclass(frozen=True, slots=True)
class TrialReport:
    protocol: str
    rows: tuple[TrialPatientRow, ...]
    orr: Any
    os: Any
    pfs: Any
    os_by_response: Any
    logrank_p: float | None
    notes: tuple[str, ...] = field(default=())

    @property
    def n(self) -> int:
        return len(self.rows)

    @property
    def responders(self) -> int:
        return sum(r.responder for r in self.rows)

    @property
    def allo_hct_among_responders(self) -> int:
        return sum(r.allo_hct and r.responder for r in self.rows)

    def status_mix(self) -> dict[str, int]:
        mix: Counter[str] = Counter()
        for r in self.rows:
            if r.status == "refractory":
                mix["refractory"] += 1
            elif r.status == "relapsed":
                mix[f"{r.relapse_timing}_relapse" if r.relapse_timing
                    else "relapse_timing_unknown"] += 1
            else:
                mix[r.status or "unknown"] += 1
        return dict(mix)

    def age(self) -> dict[str, float | int | None]:
        ages = sorted(r.age for r in self.rows if r.age is not None)
        if not ages:
            return {"median": None, "min": None, "max": None, "n": 0}
        k = len(ages)
        median = ages[k // 2] if k % 2 else (ages[k // 2 - 1] + ages[k // 2]) / 2
        return {"median": median, "min": ages[0], "max": ages[-1], "n": k}

    @staticmethod
    def _km(result: Any) -> dict[str, Any]:
        g = result.groups[0]
        return {"n": g.n, "events": g.events, "median": _num(g.median),
                "ci": [_num(g.median_lower), _num(g.median_upper)]}

    def to_dict(self) -> dict[str, Any]:
        best = Counter(r.best_response or "not evaluable" for r in self.rows)
        return {
            "schema": SCHEMA,
            "protocol": self.protocol,
            "n": self.n,
            "eligible": sum(r.eligible is True for r in self.rows),
            "responders": self.responders,
            "orr": {"k": self.orr.k, "n": self.orr.n, "estimate": self.orr.estimate,
                    "percent": round(100 * self.orr.estimate, 1),
                    "ci": [self.orr.lower, self.orr.upper], "method": "exact (Clopper-Pearson)"},
            "best_response": dict(best),
            "os": self._km(self.os),
            "pfs": self._km(self.pfs),
            "km_ci": "log (R survfit default), 95%",
            "logrank_p_os_responders": self.logrank_p,
            "allo_hct_among_responders": {"k": self.allo_hct_among_responders,
                                          "n": self.responders},
            "status": self.status_mix(),
            "age": self.age(),
            "caveat": GUARANTEE_TIME_CAVEAT,
            "notes": list(self.notes),
            "patients": [r.to_dict() for r in self.rows],
        }


def _num(v: float) -> float | None:
    return None if v is None or not math.isfinite(v) else float(v)


def trial_rows(records: Iterable[PatientRecord], protocol: str,
               as_of: dt.date | None = None) -> list[TrialPatientRow]:
    options = AssessOptions(protocol="clag-im" if protocol == "clag-im" else None)
    rows: list[TrialPatientRow] = []
    for rec in records:
        a = assess(rec, options=options, as_of=as_of)
        p = a.protocol
        if p is None or p.inclusion is None:
            raise InputError(f"has no {protocol} inclusion date (no cytarabine row)",
                             code="missing_field", patient=rec.id)
        e = p.endpoints
        age = None
        if rec.birth_date is not None:
            age = int(age_in_years(rec.birth_date, p.inclusion))
        first = e.get("first_response_date")
        hct = e.get("allo_hct_date")
        rows.append(TrialPatientRow(
            patient_id=rec.id, eligible=p.eligible, status=e.get("status"),
            relapse_timing=e.get("relapse_timing"), age=age,
            best_response=e.get("best_response"), responder=bool(e.get("responder")),
            first_response_day=(dt.date.fromisoformat(first) - p.inclusion).days
            if first else None,
            os_months=float(e["os_months"]), os_event=bool(e["os_event"]),
            pfs_months=float(e["pfs_months"]), pfs_event=bool(e["pfs_event"]),
            allo_hct=bool(e.get("allo_hct")),
            allo_hct_day=(dt.date.fromisoformat(hct) - p.inclusion).days if hct else None))
    return rows


def trial_report(records: Iterable[PatientRecord], protocol: str = "clag-im",
                 as_of: dt.date | None = None) -> TrialReport:
    """The protocol's summary of a cohort (only clag-im has a cohort report)."""
    if protocol != "clag-im":
        raise InputError(f"no trial report for protocol {protocol!r} (clag-im)",
                         code="bad_argument", field="--protocol")
    rows = trial_rows(records, protocol, as_of)
    if not rows:
        raise InputError("no patients to report on", code="empty")
    orr = rate_ci(sum(r.responder for r in rows), len(rows))
    os_t = [r.os_months for r in rows]
    os_e = [1 if r.os_event else 0 for r in rows]
    pfs_t = [r.pfs_months for r in rows]
    pfs_e = [1 if r.pfs_event else 0 for r in rows]
    group = ["responder" if r.responder else "non-responder" for r in rows]
    os = kaplan_meier(os_t, os_e, ci="log")
    pfs = kaplan_meier(pfs_t, pfs_e, ci="log")
    by = kaplan_meier(os_t, os_e, group=group, ci="log")
    notes: list[str] = []
    p = None
    if len(set(group)) == 2:
        p = float(logrank_test(os_t, os_e, group).p)
    else:
        notes.append("log-rank not computed: responders or non-responders are missing")
    not_eligible = [r.patient_id for r in rows if r.eligible is False]
    if not_eligible:
        notes.append(f"{len(not_eligible)} patient(s) do not meet the eligibility criteria: "
                     f"{', '.join(not_eligible[:10])}")
    return TrialReport(protocol, tuple(rows), orr, os, pfs, by, p, tuple(notes))


def render_trial_report(r: TrialReport, disclaimer: str) -> str:
    d = r.to_dict()

    def f1(v: float | None) -> str:
        return "NA" if v is None else f"{v:.1f}"

    def km(x: dict[str, Any]) -> str:
        return (f"median {f1(x['median'])} months (95% CI {f1(x['ci'][0])}-{f1(x['ci'][1])}), "
                f"{x['events']} events of {x['n']}")

    orr = d["orr"]
    mix = d["status"]
    age = d["age"]
    p = d["logrank_p_os_responders"]
    lines = [
        f"Trial report: protocol {r.protocol}, {r.n} patients ({d['eligible']} eligible)",
        "Status: " + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in mix.items()),
        f"Age at inclusion: median {age['median']} (range {age['min']}-{age['max']})",
        f"Responders: {orr['k']}/{orr['n']}; ORR {orr['percent']:.1f}% "
        f"(rounded {round(orr['percent'])}%), "
        f"exact 95% CI {100 * orr['ci'][0]:.1f}-{100 * orr['ci'][1]:.1f}%",
        "Best response: " + ", ".join(f"{k} {v}" for k, v in d["best_response"].items()),
        f"Overall survival: {km(d['os'])}",
        f"Progression-free survival: {km(d['pfs'])}",
        f"OS responders vs non-responders: log-rank P = "
        f"{'NA' if p is None else f'{p:.4f}'} ({p:.2g})" if p is not None
        else "OS responders vs non-responders: log-rank not computed",
        f"  Caveat: {GUARANTEE_TIME_CAVEAT}",
        f"Allogeneic HCT among responders: {d['allo_hct_among_responders']['k']} of "
        f"{d['allo_hct_among_responders']['n']}",
        "Kaplan-Meier intervals: log transform, 95% (R survival::survfit defaults); months = "
        "days / 30.4375 from inclusion (start of cytarabine).",
    ]
    lines += [f"Note: {n}" for n in d["notes"]]
    lines.append(disclaimer)
    return "\n".join(lines)
