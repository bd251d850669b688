"""Per-patient time-to-event endpoints in the shape of a CDISC ADaM ADTTE table.

One row per patient and endpoint: ``USUBJID, PARAMCD, PARAM, AVAL`` (months from the start of
the first TKI, days / 30.4375), ``CNSR`` (0 event, 1 censored, as CDISC defines it),
``STARTDT, ADT, EVNTDESC``, the source of the date (``SRCDOM``/``SRCVAR``, in the manner of
pharmaverse admiral's ``derive_param_tte``) and ``CMPEVNT`` flagging a competing event (death
or progression before a response: 1 = the censoring is a competing event, for cumulative
incidence analyses).

Definitions (each documented in docs/endpoints.md):
- TTCHR, TTCCYR, TTMMR, TTMR4, TTMR45: first result at least that deep (CHR from a blood
  count; CCyR from banding or FISH; MMR/MR4/MR4.5 from PCR, undetected results counting at the
  depth their control-gene copies support). Censored at the last result of that kind.
- DURMMR: from the first MMR to loss of MMR (the chosen guideline's confirmation rule),
  progression or death; censored at the last PCR. Only for patients who reached MMR.
- PFS: progression to accelerated or blast phase (by the phase criteria or a reported
  event) or death from any cause; censored at the last follow-up.
- EFS as IRIS defined it (O'Brien SG et al., N Engl J Med 2003;348:994-1004): loss of CHR,
  loss of MCyR, progression to AP/BP, or death from any cause during treatment; censored at
  the last follow-up. (IRIS also counted a rising WBC in patients who never reached CHR;
  that item is not derived.)
- OS: death from any cause; censored at the last follow-up.
- TTF: time to treatment failure: the first ELN failure (milestone or any-time), the end of
  the first TKI for resistance, failure, intolerance, toxicity or progression, progression or
  death, whichever comes first; censored at the last follow-up.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from cmltrack.domain.assess import Assessment
from cmltrack.domain.enums import (
    CYTOGENETIC_DEPTH,
    MOLECULAR_DEPTH,
    TKIS,
    CytogeneticResponse,
    EventKind,
    HematologicResponse,
    MilestoneStatus,
    MolecularResponse,
    Phase,
)
from cmltrack.domain.records import PatientRecord
from cmltrack.domain.results import Timepoint
from cmltrack.domain.timeline import months_between

PARAMS: dict[str, str] = {
    "TTCHR": "Time to complete hematologic response (months)",
    "TTCCYR": "Time to complete cytogenetic response (months)",
    "TTMMR": "Time to major molecular response (months)",
    "TTMR4": "Time to MR4 (months)",
    "TTMR45": "Time to MR4.5 (months)",
    "DURMMR": "Duration of major molecular response (months)",
    "PFS": "Progression-free survival (months)",
    "EFS": "Event-free survival, IRIS definition (months)",
    "OS": "Overall survival (months)",
    "TTF": "Time to treatment failure (months)",
    # AML (domain/aml/endpoints.py)
    "RFS": "Relapse-free survival from CR/CRh/CRi (months)",
    "DOR": "Duration of response (months)",
}
COLUMNS = (
    "USUBJID", "PARAMCD", "PARAM", "AVAL", "CNSR", "STARTDT", "ADT", "EVNTDESC",
    "SRCDOM", "SRCVAR", "CMPEVNT",
)


@dataclass(frozen=True, slots=True)
class EndpointRow:
    """One ADTTE row."""

    USUBJID: str
    PARAMCD: str
    PARAM: str
    AVAL: float
    CNSR: int
    STARTDT: str
    ADT: str
    EVNTDESC: str
    SRCDOM: str
    SRCVAR: str
    CMPEVNT: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class _Hit:
    date: dt.date
    desc: str
    dom: str
    var: str


def _months(start: dt.date, day: dt.date) -> float:
    return round(months_between(start, day), 4)


def _first(tps: Sequence[Timepoint], pred: Callable[[Timepoint], bool]) -> Timepoint | None:
    return next((t for t in tps if pred(t)), None)


def _last(tps: Sequence[Timepoint], pred: Callable[[Timepoint], bool]) -> Timepoint | None:
    return next((t for t in reversed(tps) if pred(t)), None)


def _at_least(order: Sequence[Any], level: Any) -> frozenset[Any]:
    return frozenset(order[: order.index(level) + 1])


def _death(record: PatientRecord) -> _Hit | None:
    for i, e in enumerate(record.events):
        if e.kind == "death":
            cause = f" ({e.cause})" if e.cause else ""
            return _Hit(e.date, f"death{cause}", "DS", f"events[{i}]")
    return None


def _progression(record: PatientRecord, a: Assessment) -> _Hit | None:
    hits: list[_Hit] = []
    for i, e in enumerate(record.events):
        if e.kind == "progression":
            hits.append(_Hit(e.date, f"progression to {e.phase} phase (reported)", "DS",
                             f"events[{i}]"))
    start = a.therapy_start
    for t in a.timepoints:
        if t.phase in (Phase.ACCELERATED, Phase.BLAST) and start is not None and t.date > start:
            hits.append(_Hit(t.date, f"{t.phase} phase by the phase criteria", "LB",
                             f"timepoint {t.date}"))
            break
    return min(hits, key=lambda h: h.date) if hits else None


def earliest(*hits: _Hit | None) -> _Hit | None:
    present = [h for h in hits if h is not None]
    return min(present, key=lambda h: h.date) if present else None


def _reaches(levels: frozenset[Any]) -> Callable[[Timepoint], bool]:
    return lambda t: t.molecular in levels


def _event_hit(a: Assessment, kinds: set[EventKind]) -> _Hit | None:
    for e in a.events:
        if e.kind in kinds:
            return _Hit(e.date, f"{e.kind}: {e.basis}", "ADRESP", str(e.kind))
    return None


def derive_endpoints(record: PatientRecord, a: Assessment) -> list[EndpointRow]:
    """All endpoints of one patient; empty when the record has no TKI therapy."""
    if a.aml is not None:
        # AML: OS, EFS, RFS, PFS, DOR (domain/aml/endpoints.py), from the protocol's inclusion
        # when there is one, else the first therapy row.
        from cmltrack.domain.aml.endpoints import derive_aml_endpoints

        origin = a.therapy_start
        if a.protocol is not None and a.protocol.inclusion is not None:
            origin = a.protocol.inclusion
        return derive_aml_endpoints(record, a.aml.course, origin, a.as_of)
    start = a.therapy_start
    if start is None:
        return []
    tps = [t for t in a.timepoints if t.date >= start]
    last_fu = a.as_of
    death = _death(record)
    prog = _progression(record, a)
    rows: list[EndpointRow] = []

    def add(code: str, hit: _Hit | None, censor: dt.date, cdesc: str, competing: int = 0) -> None:
        if hit is not None:
            rows.append(EndpointRow(record.id, code, PARAMS[code], _months(start, hit.date), 0,
                                    start.isoformat(), hit.date.isoformat(), hit.desc,
                                    hit.dom, hit.var, 0))
        else:
            rows.append(EndpointRow(record.id, code, PARAMS[code], _months(start, censor), 1,
                                    start.isoformat(), censor.isoformat(), cdesc,
                                    "ADRESP", "last assessment", competing))

    def response(code: str, ok: Callable[[Timepoint], bool], has: Callable[[Timepoint], bool],
                 what: str) -> None:
        first = _first(tps, ok)
        hit = _Hit(first.date, f"first {what}", "LB", f"timepoint {first.date}") if first else None
        last = _last(tps, has)
        censor = last.date if last else start
        competing = 0
        cdesc = f"censored at last {what.split()[0]} assessment"
        comp = earliest(death, prog)
        if hit is None and comp is not None:
            competing, cdesc = 1, f"competing event before response: {comp.desc}"
            censor = comp.date
        add(code, hit, censor, cdesc, competing)

    mol_levels = {
        "TTMMR": _at_least(MOLECULAR_DEPTH, MolecularResponse.MMR),
        "TTMR4": _at_least(MOLECULAR_DEPTH, MolecularResponse.MR4),
        "TTMR45": _at_least(MOLECULAR_DEPTH, MolecularResponse.MR4_5),
    }
    ccyr = _at_least(CYTOGENETIC_DEPTH, CytogeneticResponse.CCYR)
    response("TTCHR", lambda t: t.hematologic == HematologicResponse.CHR,
             lambda t: t.hematologic is not None, "CHR")
    response("TTCCYR", lambda t: t.cytogenetic in ccyr,
             lambda t: t.cytogenetic is not None, "CCyR")
    for code, label in (("TTMMR", "MMR"), ("TTMR4", "MR4"), ("TTMR45", "MR4.5")):
        response(code, _reaches(mol_levels[code]), lambda t: t.molecular is not None,
                 f"{label} (PCR)")

    # Duration of MMR, only for patients who reached it.
    first_mmr = _first(tps, lambda t: t.molecular in mol_levels["TTMMR"])
    if first_mmr is not None:
        after = [h for h in (_event_hit(a, {EventKind.LOSS_OF_MMR}), prog, death)
                 if h is not None and h.date >= first_mmr.date]
        last_pcr = _last(tps, lambda t: t.molecular is not None)
        censor = last_pcr.date if last_pcr else first_mmr.date
        hit = min(after, key=lambda h: h.date) if after else None
        if hit is not None:
            rows.append(EndpointRow(record.id, "DURMMR", PARAMS["DURMMR"],
                                    _months(first_mmr.date, hit.date), 0,
                                    first_mmr.date.isoformat(), hit.date.isoformat(), hit.desc,
                                    hit.dom, hit.var, 0))
        else:
            rows.append(EndpointRow(record.id, "DURMMR", PARAMS["DURMMR"],
                                    _months(first_mmr.date, censor), 1,
                                    first_mmr.date.isoformat(), censor.isoformat(),
                                    "censored at last PCR", "ADRESP", "last assessment", 0))

    fu_desc = "censored at last follow-up"
    add("PFS", earliest(prog, death), last_fu, fu_desc)
    loss = _event_hit(a, {EventKind.LOSS_OF_CHR, EventKind.LOSS_OF_MCYR})
    add("EFS", earliest(loss, prog, death), last_fu, fu_desc)
    add("OS", death, last_fu, fu_desc)

    failure = None
    for m in a.milestones:
        if m.status == MilestoneStatus.FAILURE and m.date is not None:
            failure = _Hit(m.date, f"ELN failure at {m.month} months: {m.basis}", "ADRESP",
                           m.rule or f"{m.month} mo")
            break
    stop = None
    tki = sorted((t for t in record.therapy if t.drug in TKIS), key=lambda t: t.start)
    if tki and tki[0].end is not None and tki[0].reason_end in {
        "resistance", "failure", "intolerance", "toxicity", "progression"
    }:
        stop = _Hit(tki[0].end, f"{tki[0].drug} stopped for {tki[0].reason_end}", "EX",
                    "therapy[0].end")
    add("TTF", earliest(failure, stop, prog, death), last_fu, fu_desc)
    return rows
