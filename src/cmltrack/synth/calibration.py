"""Measure a generated cohort against the calibration table (synthetic-cohort.md 4.9).

Everything is measured from the generated *records* (the dated observations and events a user
would see), with the project's own rules: molecular depth by
:func:`cmltrack.domain.response.molecular_band` / ``undetected_level``, cytogenetic bands by
``cytogenetic_band``, risk groups by ``cmltrack.domain.risk``. Conventions where the trials
leave a choice (chosen here):

- "by M months": a qualifying result dated at most M + 1 months after the first TKI (the
  assessment visit of month M falls in that window); intention to treat, so every patient whose
  potential follow-up (to the generation date) reaches M counts in the denominator, including
  those who died, switched or were lost before.
- "<= 10% at 3 months": the PCR nearest 3 months within 2.0-4.5 months (clinical-rules.md 14).
- annual progression: progressions in year k / patients alive, in chronic phase and followed at
  the start of year k (IRIS annual rates).
- OS and TFR molecular-relapse-free survival: Kaplan-Meier; relapse = first PCR > 0.1% after
  the stop (EURO-SKI: loss of MMR).
- grade 3-4 neutropenia: ANC < 1.0 x10^9/L (CTCAE v5 grade 3) within a year of starting the
  dose.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from cmltrack.domain import risk
from cmltrack.domain.enums import MOLECULAR_DEPTH, TKIS, CytogeneticResponse, CytogeneticScheme
from cmltrack.domain.enums import MolecularResponse as MR
from cmltrack.domain.response import cytogenetic_band, molecular_band, undetected_level
from cmltrack.synth.cohort import DEFAULT_AS_OF, generate_cohort_dicts
from cmltrack.synth.profiles import Profile, get_profile

MONTH = 30.4375
YEAR = 365.25
CALIBRATION_N = 20_000
#: Accrual for the calibration run: every patient has at least 12 years of potential follow-up.
CALIBRATION_DX = (dt.date(2004, 1, 1), dt.date(2013, 12, 31))


@dataclass(frozen=True, slots=True)
class Target:
    """One row of the calibration table: the published figure and the accepted range (%)."""

    key: str
    label: str
    target: str
    low: float
    high: float
    source: str


@dataclass(frozen=True, slots=True)
class Measured:
    target: Target
    value: float | None
    n: int

    @property
    def passed(self) -> bool:
        return self.value is not None and self.target.low <= self.value <= self.target.high

    def to_dict(self) -> dict[str, Any]:
        t = self.target
        return {"key": t.key, "quantity": t.label, "target": t.target, "measured": self.value,
                "tolerance": [t.low, t.high], "n": self.n, "pass": self.passed,
                "source": t.source}


IRIS7 = "IRIS 7-y (ASH 2008, Blood 112:186)"
TARGETS: tuple[Target, ...] = (
    Target("sokal_low", "Sokal low", "40%", 35, 45, "Pfirrmann 2020; EUTOS registry"),
    Target("sokal_int", "Sokal intermediate", "35%", 30, 40, "Pfirrmann 2020"),
    Target("sokal_high", "Sokal high", "25%", 20, 30, "Pfirrmann 2020 23%; Hoffmann 2015 24.7%"),
    Target("elts_low", "ELTS low", "60%", 55, 65, "Pfirrmann 2016/2020"),
    Target("elts_int", "ELTS intermediate", "27%", 22, 32, "Pfirrmann 2016"),
    Target("elts_high", "ELTS high", "12%", 8, 17, "Pfirrmann 2016"),
    Target("eutos_high", "EUTOS high", "10-12%", 7, 15, "Hasford 2011; Hoffmann 2015 11.8%"),
    Target("le10_3m", "BCR::ABL1 <= 10% at 3 mo", "64-81%", 64, 81,
           "DASISION 64%; Branford 2014 81%"),
    Target("le1_12m", "<= 1% (CCyR surrogate) by 12 mo", "65-72%", 60, 77,
           "IRIS CCyR 69% at 12 mo"),
    Target("mmr_12m", "MMR by 12 mo", "22-40%", 22, 40, "ENESTnd 22%; IRIS 39-40%"),
    Target("mmr_24m", "MMR by 24 mo", "46%", 40, 56, "DASISION (Kantarjian 2012)"),
    Target("mmr_60m", "MMR by 60 mo", "64%", 58, 75, "DASISION 5 y (Cortes 2016)"),
    Target("mr45_24m", "MR4.5 by 24 mo", "8%", 4, 13, "DASISION (Kantarjian 2012)"),
    Target("mr45_60m", "MR4.5 by 60 mo", "31-33%", 26, 39, "ENESTnd 31%; DASISION 33%"),
    Target("mr45_120m", "MR4.5 by 10 y", "45-55%", 40, 60, "no direct source (D)"),
    Target("ever_ccyr", "Ever CCyR", "82-87%", 80, 90, "IRIS best CCyR 82-87%"),
    Target("loss_ccyr_7y", "Loss of CCyR among CCyR by 7 y", "17%", 10, 24, IRIS7),
    Target("apbc_y1", "AP/BC annual rate, year 1", "1.5%", 0.5, 2.5, IRIS7),
    Target("apbc_y2", "AP/BC annual rate, year 2", "2.8%", 1.8, 3.8, IRIS7),
    Target("apbc_y3", "AP/BC annual rate, year 3", "1.6%", 0.6, 2.6, IRIS7),
    Target("apbc_y4", "AP/BC annual rate, year 4", "0.9%", 0.2, 1.9, IRIS7),
    Target("apbc_y5", "AP/BC annual rate, year 5", "0.5%", 0.0, 1.5, IRIS7),
    Target("os_5y", "Overall survival 5 y", "89%", 85, 93, "IRIS 5 y (Druker 2006)"),
    Target("os_10y", "Overall survival 10 y", "83%", 78, 88, "IRIS 10 y (Hochhaus 2017)"),
    Target("tfr_6m", "TFR molecular-relapse-free survival 6 mo", "61%", 53, 69,
           "EURO-SKI (Saussele 2018)"),
    Target("tfr_24m", "TFR molecular-relapse-free survival 24 mo", "50%", 42, 58,
           "EURO-SKI 50%; TWISTER 47%"),
    Target("neutropenia_400", "Grade 3-4 neutropenia, first year at 400 mg", "14-20%", 12, 22,
           "IRIS 14.3% (U); ENESTnd/DASISION 20% (U)"),
    Target("neutropenia_800", "Grade 3-4 neutropenia, first year at 800 mg", "~30%", 20, 40,
           "TOPS, S0325 (U)"),
)

_DEPTH_RANK = {level: i for i, level in enumerate(MOLECULAR_DEPTH)}


def _depth(obs: dict[str, Any]) -> MR:
    if obs.get("detected") is False:
        return undetected_level(obs.get("control_gene"), obs.get("control_copies"))
    return molecular_band(float(obs["bcr_abl1_is"]))


def _at_least(level: MR, needed: MR) -> bool:
    return level in _DEPTH_RANK and _DEPTH_RANK[level] <= _DEPTH_RANK[needed]


def _days(a: str, b: str) -> int:
    return dt.date.fromisoformat(a).toordinal() - dt.date.fromisoformat(b).toordinal()


def _km(times: np.ndarray, events: np.ndarray, at: float) -> float | None:
    """Kaplan-Meier survival at ``at`` (right-continuous); None without data."""
    if len(times) == 0:
        return None
    order = np.argsort(times, kind="stable")
    t, e = times[order], events[order]
    s = 1.0
    n_at_risk = len(t)
    i = 0
    while i < len(t) and t[i] <= at:
        j = i
        d = 0
        while j < len(t) and t[j] == t[i]:
            d += int(e[j])
            j += 1
        s *= 1.0 - d / n_at_risk
        n_at_risk -= j - i
        i = j
    return 100.0 * s


@dataclass
class _Acc:
    """Per-target numerators and denominators collected in one pass over the records."""

    count: dict[str, list[int]] = dataclasses.field(default_factory=dict)
    os_t: list[float] = dataclasses.field(default_factory=list)
    os_e: list[int] = dataclasses.field(default_factory=list)
    tfr_t: list[float] = dataclasses.field(default_factory=list)
    tfr_e: list[int] = dataclasses.field(default_factory=list)

    def add(self, key: str, hit: bool) -> None:
        c = self.count.setdefault(key, [0, 0])
        c[0] += int(hit)
        c[1] += 1


def _first_tki(rec: dict[str, Any]) -> dict[str, Any] | None:
    lines: list[dict[str, Any]] = rec.get("therapy", [])
    return next((line for line in lines if line["drug"] in TKIS), None)


def _measure_one(rec: dict[str, Any], as_of: str, acc: _Acc) -> None:
    dx = rec["diagnosis"]
    age = float(dx["age"])
    sokal = risk.sokal_group(risk.compute_sokal_score(
        age=age, spleen_cm=dx["spleen_cm"], platelets=dx["platelets"], blasts_pb=dx["blasts_pb"]))
    elts = risk.elts_group(risk.compute_elts_score(
        age=age, spleen_cm=dx["spleen_cm"], platelets=dx["platelets"], blasts_pb=dx["blasts_pb"]))
    eutos = risk.eutos_group(risk.compute_eutos_score(
        basophils_pb=dx["basophils_pb"], spleen_cm=dx["spleen_cm"]))
    for g in ("low", "intermediate", "high"):
        acc.add(f"sokal_{g[:4] if g != 'intermediate' else 'int'}", sokal == g)
        acc.add(f"elts_{g[:4] if g != 'intermediate' else 'int'}", elts == g)
    acc.add("eutos_high", eutos == "high")

    first = _first_tki(rec)
    if first is None:
        return
    start = first["start"]
    potential = _days(as_of, start) / MONTH  # months of potential follow-up
    obs = [o for o in rec.get("observations", ()) if o["date"] >= start]
    events = rec.get("events", ())
    death = next((e for e in events if e["kind"] == "death"), None)
    lost = next((e for e in events if e["kind"] == "lost_to_follow_up"), None)
    prog = next((e for e in events if e["kind"] == "progression"), None)
    stop = next((e for e in events if e["kind"] == "tki_stop"), None)

    def months(o: dict[str, Any]) -> float:
        return _days(o["date"], start) / MONTH

    pcrs = [(months(o), o) for o in obs if o["kind"] == "pcr"]
    # landmark 3 months: nearest within 2.0-4.5 (ties: the later)
    window = [(abs(m - 3.0), -m, o) for m, o in pcrs if 2.0 <= m <= 4.5]
    if window:
        o = min(window, key=lambda x: (x[0], x[1]))[2]
        acc.add("le10_3m", _at_least(_depth(o), MR.MR1))
    # responses on first-line imatinib only: a switch or a stop ends the count (ITT as in the
    # trials, where patients off study count as non-responders)
    switch = next((t["start"] for t in rec.get("therapy", ()) if t["drug"] in TKIS
                   and t["drug"] != first["drug"]), None)
    until = min(x for x in (switch, stop["date"] if stop else None, as_of) if x is not None)
    depth_at = [(m, _depth(o)) for m, o in pcrs if o["date"] <= until]
    for key, level, mm in (
        ("le1_12m", MR.MR2, 12), ("mmr_12m", MR.MMR, 12), ("mmr_24m", MR.MMR, 24),
        ("mmr_60m", MR.MMR, 60), ("mr45_24m", MR.MR4_5, 24), ("mr45_60m", MR.MR4_5, 60),
        ("mr45_120m", MR.MR4_5, 120),
    ):
        if potential >= mm + 1:
            acc.add(key, any(m <= mm + 1 and _at_least(d, level) for m, d in depth_at))
    cyto = [(months(o), o) for o in obs if o["kind"] == "cytogenetics" and o["metaphases"] >= 20
            and o["date"] <= until]
    ccyr_at = [m for m, o in cyto if cytogenetic_band(
        100.0 * o["ph_pos"] / o["metaphases"], CytogeneticScheme.ELN) == CytogeneticResponse.CCYR]
    if potential >= 60:
        acc.add("ever_ccyr", bool(ccyr_at))
    if ccyr_at and potential >= 84:
        first_ccyr = min(ccyr_at)
        lost_ccyr = any(first_ccyr < m <= 84 and o["ph_pos"] > 0 for m, o in cyto)
        if prog is not None and first_ccyr < _days(prog["date"], start) / MONTH <= 84:
            lost_ccyr = True
        acc.add("loss_ccyr_7y", lost_ccyr)
    # annual progression
    end_m = potential
    if lost is not None:
        end_m = min(end_m, _days(lost["date"], start) / MONTH)
    if death is not None:
        end_m = min(end_m, _days(death["date"], start) / MONTH)
    prog_m = _days(prog["date"], start) / MONTH if prog is not None else None
    for k in range(1, 6):
        lo, hi = 12 * (k - 1), 12 * k
        if potential < hi or end_m <= lo or (prog_m is not None and prog_m < lo):
            continue
        acc.add(f"apbc_y{k}", prog_m is not None and prog_m < hi)
    # overall survival from the first TKI
    if death is not None:
        acc.os_t.append(_days(death["date"], start) / MONTH)
        acc.os_e.append(1)
    else:
        acc.os_t.append(end_m)
        acc.os_e.append(0)
    # TFR: time from the stop to the first PCR > 0.1%
    if stop is not None:
        after = [(_days(o["date"], stop["date"]) / MONTH, o) for o in obs
                 if o["kind"] == "pcr" and o["date"] > stop["date"]]
        relapse = next((m for m, o in after if o.get("detected") is not False
                        and o["bcr_abl1_is"] > 0.1), None)
        if relapse is not None:
            acc.tfr_t.append(relapse)
            acc.tfr_e.append(1)
        elif after:
            acc.tfr_t.append(after[-1][0])
            acc.tfr_e.append(0)
    # grade 3-4 neutropenia within a year of starting 400 mg (first line) / 800 mg
    blood = [o for o in obs if o["kind"] == "blood" and o.get("anc") is not None]
    for dose, key in ((400, "neutropenia_400"), (800, "neutropenia_800")):
        line = next((t for t in rec.get("therapy", ()) if t["drug"] == "imatinib"
                     and t.get("dose_mg_per_day") == dose), None)
        if line is None or (dose == 400 and line is not first):
            continue
        if _days(as_of, line["start"]) < YEAR:
            continue
        acc.add(key, any(0 <= _days(o["date"], line["start"]) <= YEAR and o["anc"] < 1.0
                         for o in blood))


def measure(records: Iterable[dict[str, Any]], as_of: dt.date) -> list[Measured]:
    """Every calibration target measured on ``records`` (contract JSON dicts)."""
    acc = _Acc()
    iso = as_of.isoformat()
    for rec in records:
        _measure_one(rec, iso, acc)
    os_t, os_e = np.array(acc.os_t), np.array(acc.os_e)
    tfr_t, tfr_e = np.array(acc.tfr_t), np.array(acc.tfr_e)
    special = {
        "os_5y": (_km(os_t, os_e, 60.0), len(os_t)),
        "os_10y": (_km(os_t, os_e, 120.0), len(os_t)),
        "tfr_6m": (_km(tfr_t, tfr_e, 6.0), len(tfr_t)),
        "tfr_24m": (_km(tfr_t, tfr_e, 24.0), len(tfr_t)),
    }
    out = []
    for t in TARGETS:
        if t.key in special:
            value, n = special[t.key]
        else:
            hit, n = acc.count.get(t.key, [0, 0])
            value = 100.0 * hit / n if n else None
        out.append(Measured(t, None if value is None else round(value, 2), n))
    return out


def format_table(rows: list[Measured]) -> str:
    """A plain-text table: quantity, target, measured, tolerance, n, pass/fail."""
    head = f"{'quantity':<46} {'target':>8} {'measured':>9} {'tolerance':>13} {'n':>6}  result"
    lines = [head, "-" * len(head)]
    for r in rows:
        t = r.target
        val = "-" if r.value is None else f"{r.value:.1f}%"
        tol = f"{t.low:g}-{t.high:g}%"
        lines.append(f"{t.label:<46} {t.target:>8} {val:>9} {tol:>13} {r.n:>6}  "
                     f"{'pass' if r.passed else 'FAIL'}")
    passed = sum(r.passed for r in rows)
    lines.append(f"{passed} of {len(rows)} targets within tolerance")
    return "\n".join(lines)


def calibration_profile(name: str = "first-line") -> Profile:
    """The profile with its accrual moved back so that all follow-up reaches 12 years."""
    return dataclasses.replace(get_profile(name), dx_start=CALIBRATION_DX[0],
                               dx_end=CALIBRATION_DX[1])


def run_calibration(n: int = CALIBRATION_N, seed: int = 2025, *,
                    as_of: dt.date = DEFAULT_AS_OF) -> list[Measured]:
    """Generate ``n`` first-line patients (calibration accrual) and measure every target."""
    records = generate_cohort_dicts(n, seed, calibration_profile(), as_of=as_of)
    return measure(records, as_of)
