"""Trial protocols as data: eligibility (met / not met / not evaluable, each with its basis) and
endpoints for clag-im (seed 003, AML) and actim (seed 000, CML) -- aml spec section 5."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cmltrack.domain.aml.response import RESPONSE_ORDER, AmlCourse
from cmltrack.domain.dates import add_months, age_in_years
from cmltrack.domain.enums import Phase
from cmltrack.domain.records import Marrow, PatientRecord, Pcr, TherapyLine
from cmltrack.rules.loader import load_table

PROTOCOLS = ("clag-im", "actim")
_TABLES = {"clag-im": "protocol_clag_im", "actim": "protocol_actim"}


@functools.cache
def protocol_table(protocol: str) -> Mapping[str, Any]:
    table: Mapping[str, Any] = load_table(_TABLES[protocol])
    return table


@dataclass(frozen=True, slots=True)
class Criterion:
    id: str
    met: bool | None
    basis: str

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "met": self.met, "basis": self.basis}


@dataclass(frozen=True, slots=True)
class ProtocolResult:
    """The ``protocol`` block of the assessment contract."""

    id: str
    inclusion: dt.date | None
    criteria: tuple[Criterion, ...]
    endpoints: Mapping[str, Any] = field(default_factory=dict)

    @property
    def eligible(self) -> bool | None:
        mets = [c.met for c in self.criteria]
        if any(m is False for m in mets):
            return False
        if mets and all(m is True for m in mets):
            return True
        return None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "inclusion_date": _iso(self.inclusion), "eligible": self.eligible,
                "criteria": [c.to_dict() for c in self.criteria],
                "endpoints": dict(self.endpoints)}


def _iso(d: dt.date | None) -> str | None:
    return d.isoformat() if d is not None else None


def _criteria(protocol: str) -> dict[str, Mapping[str, Any]]:
    return {row["id"].rsplit(".", 1)[1]: row for row in protocol_table(protocol)["criteria"]}


def inclusion_date(record: PatientRecord, protocol: str) -> dt.date | None:
    """The start of the protocol's first drug (clag-im: the CLAG course's cytarabine)."""
    spec = protocol_table(protocol)["inclusion"]
    rows = sorted((t for t in record.therapy if t.drug == spec["drug"]), key=lambda t: t.start)
    if not rows:
        return None
    partner = spec.get("paired_with")
    if partner is not None:
        within = dt.timedelta(days=int(spec["paired_within_days"]))
        for row in rows:
            if any(t.drug == partner and row.start <= t.start <= row.start + within
                   for t in record.therapy):
                return row.start
    return rows[0].start


def _age_at(record: PatientRecord, day: dt.date) -> float | None:
    if record.birth_date is not None:
        return age_in_years(record.birth_date, day)
    dx = record.diagnosis
    if dx is not None and dx.age is not None and dx.date is not None:
        return dx.age + (day - dx.date).days / 365.25
    return None


# ------------------------------------------------------------------------------- clag-im


def relapse_timing(course: AmlCourse, record: PatientRecord,
                   inclusion: dt.date | None) -> tuple[str | None, str]:
    """early / late relapse (< 12 or >= 12 months from the first CR-class response to the
    relapse, by calendar months), from the record's own history before inclusion."""
    crit = _criteria("clag-im")["refractory_or_relapsed"]["condition"]
    limit = int(crit["early_relapse_lt_months"])
    before = [d for d in course.days if inclusion is None or d.date <= inclusion]
    cr = next((d.date for d in before if d.response in ("CR_MRD_neg", "CR", "CRh", "CRi")), None)
    relapse = next((e.date for e in course.events if e.kind == "aml_relapse"
                    and (inclusion is None or e.date <= inclusion)
                    and (cr is None or e.date > cr)), None)
    if cr is None or relapse is None:
        return None, "no CR and relapse dated in the record before inclusion"
    early = relapse < add_months(cr, limit)
    return ("early" if early else "late"), (
        f"first CR {cr}, relapse {relapse}: {'<' if early else '>='} {limit} months")


def assess_clag_im(record: PatientRecord, course: AmlCourse, as_of: dt.date) -> ProtocolResult:
    table = protocol_table("clag-im")
    crit = _criteria("clag-im")
    incl = inclusion_date(record, "clag-im")
    dx = record.diagnosis
    out: list[Criterion] = []

    # Age.
    cond = crit["age"]
    if incl is None:
        out.append(Criterion(cond["id"], None, "no cytarabine row: inclusion date unknown"))
    else:
        age = _age_at(record, incl)
        limit = cond["condition"]["age_ge"]
        out.append(Criterion(cond["id"], None if age is None else age >= limit,
                             "birth_date and diagnosis.age missing" if age is None
                             else f"age {age:.1f} at inclusion {incl} "
                                  f"{'>=' if age >= limit else '<'} {limit}"))
    # Disease.
    cond = crit["disease"]
    disease = dx.disease if dx is not None else None
    if disease == "AML":
        out.append(Criterion(cond["id"], True,
                             "AML (APL cannot be recorded: PML::RARA is not a listed finding)"))
    elif disease == "CML":
        blast = (dx is not None and dx.phase == "blast") or any(
            e.kind == "progression" and e.phase == "blast" and (incl is None or e.date <= incl)
            for e in record.events)
        out.append(Criterion(cond["id"], blast,
                             "CML in blast phase" if blast else "CML not in blast phase"))
    else:
        out.append(Criterion(cond["id"], None if disease is None else False,
                             f"disease {disease!r}"))
    # Refractory or relapsed.
    cond = crit["refractory_or_relapsed"]
    status = dx.status if dx is not None else None
    timing, why = relapse_timing(course, record, incl)
    if status is None:
        out.append(Criterion(cond["id"], None, "diagnosis.status missing"))
    else:
        ok = status in cond["condition"]["status"]
        extra = f"; {timing} relapse ({why})" if status == "relapsed" and timing else ""
        out.append(Criterion(cond["id"], ok, f"status {status}{extra}"))
    # A marrow documenting relapse within 28 days before inclusion.
    cond = crit["relapse_marrow"]
    c = cond["condition"]
    if incl is None:
        out.append(Criterion(cond["id"], None, "inclusion date unknown"))
    else:
        lo = incl - dt.timedelta(days=int(c["within_days_before"]))
        marrows = [o for o in record.observations if isinstance(o, Marrow)
                   and lo <= o.date <= incl and o.blasts_bm is not None]
        if not marrows:
            out.append(Criterion(cond["id"], None, f"no marrow between {lo} and {incl}"))
        else:
            last = max(marrows, key=lambda m: m.date)
            assert last.blasts_bm is not None
            ok = last.blasts_bm > c["marrow_blasts_gt"]
            out.append(Criterion(cond["id"], ok,
                                 f"marrow {last.date}: blasts {last.blasts_bm:g}% "
                                 f"{'>' if ok else '<='} {c['marrow_blasts_gt']}%"))
    # ECOG.
    cond = crit["ecog"]
    ecog = dx.ecog if dx is not None else None
    limit = cond["condition"]["ecog_le"]
    out.append(Criterion(cond["id"], None if ecog is None else ecog <= limit,
                         "diagnosis.ecog missing" if ecog is None
                         else f"ECOG {ecog} {'<=' if ecog <= limit else '>'} {limit}"))

    endpoints = clag_im_endpoints(record, course, incl, as_of, table["endpoints"])
    endpoints["relapse_timing"] = timing
    endpoints["status"] = status
    return ProtocolResult("clag-im", incl, tuple(out), endpoints)


def clag_im_endpoints(record: PatientRecord, course: AmlCourse, incl: dt.date | None,
                      as_of: dt.date, spec: Mapping[str, Any]) -> dict[str, Any]:
    """best_response, responder, OS and PFS from inclusion, allo-HCT after a response."""
    if incl is None:
        return {"best_response": None, "responder": None, "os_months": None,
                "os_event": None, "pfs_months": None, "pfs_event": None, "allo_hct": None}
    days_per_month = float(spec["days_per_month"])
    after = [d for d in course.days if d.date > incl and d.response in RESPONSE_ORDER]
    best = min(after, key=lambda d: RESPONSE_ORDER.index(d.response or "")) if after else None
    responders = set(spec["responder_categories"])
    first_response = next((d.date for d in after if d.response in responders), None)
    death = next((e.date for e in record.events if e.kind == "death"), None)
    os_end = death or as_of
    pfs_hits = [e.date for e in course.events
                if e.kind in spec["pfs_events"] and e.date > incl]
    if death is not None and "death" in spec["pfs_events"]:
        pfs_hits.append(death)
    pfs_end = min(pfs_hits) if pfs_hits else as_of
    transplant = next((e for e in sorted(record.events, key=lambda e: e.date)
                       if e.kind == "transplant" and (e.detail or "") != "autologous"
                       and first_response is not None and e.date > first_response), None)
    return {
        "best_response": best.response if best else None,
        "best_response_date": _iso(best.date) if best else None,
        "responder": first_response is not None,
        "first_response_date": _iso(first_response),
        "os_months": round((os_end - incl).days / days_per_month, 4),
        "os_event": death is not None,
        "pfs_months": round((pfs_end - incl).days / days_per_month, 4),
        "pfs_event": bool(pfs_hits),
        "allo_hct": transplant is not None,
        "allo_hct_date": _iso(transplant.date) if transplant else None,
    }


# --------------------------------------------------------------------------------- actim


def _imatinib_rows(record: PatientRecord) -> list[TherapyLine]:
    return sorted((t for t in record.therapy if t.drug == "imatinib"), key=lambda t: t.start)


def _pcr_text(p: Pcr) -> str:
    if p.is_detected:
        return f"BCR::ABL1 {p.bcr_abl1_is:g}% IS on {p.date}"
    copies = f", {p.control_gene} {p.control_copies:g} copies" if p.control_copies else ""
    return f"BCR::ABL1 undetected on {p.date}{copies}"


def _mr45(p: Pcr, spec: Mapping[str, Any]) -> bool | None:
    """MR4.5 shown: <= 0.0032% IS, or undetected with ABL1 >= 32,000 (None: cannot tell)."""
    if p.is_detected:
        assert p.bcr_abl1_is is not None
        return bool(p.bcr_abl1_is <= float(spec["mr45_le"]))
    if p.control_gene == "ABL1" and p.control_copies is not None:
        return bool(p.control_copies >= float(spec["mr45_undetected_abl1_ge"]))
    return None


def assess_actim(record: PatientRecord, phases: Iterable[tuple[dt.date, Phase | None]],
                 as_of: dt.date) -> ProtocolResult:
    table = protocol_table("actim")
    crit = _criteria("actim")
    spec = table["endpoints"]
    incl = inclusion_date(record, "actim")
    dx = record.diagnosis
    out: list[Criterion] = []
    # Chronic phase at inclusion.
    cond = crit["chronic_phase"]
    disease = dx.disease if dx is not None else None
    if incl is None:
        out.append(Criterion(cond["id"], None, "no pioglitazone row: inclusion date unknown"))
    elif disease != "CML":
        out.append(Criterion(cond["id"], False, f"disease {disease!r}, not CML"))
    else:
        shown = [p for d, p in phases if d <= incl and p is not None]
        progressed = [e for e in record.events if e.kind == "progression" and e.date <= incl]
        phase = (Phase(progressed[-1].phase) if progressed and progressed[-1].phase
                 else shown[-1] if shown
                 else Phase(dx.phase) if dx is not None and dx.phase else None)
        if phase is None:
            out.append(Criterion(cond["id"], None, "no phase known on or before inclusion"))
        else:
            out.append(Criterion(cond["id"], phase == Phase.CHRONIC,
                                 f"phase {phase} on or before inclusion {incl}"))
    rows = _imatinib_rows(record)
    # Imatinib >= 24 months.
    cond = crit["imatinib_24_months"]
    months = int(cond["condition"]["months_ge"])
    if incl is None or not rows:
        out.append(Criterion(cond["id"], None if incl is None else False,
                             "inclusion date unknown" if incl is None else "no imatinib row"))
    else:
        first = rows[0].start
        due = add_months(first, months)
        on = any(t.start <= incl and (t.end is None or t.end >= incl) for t in rows)
        ok = incl >= due and on
        out.append(Criterion(cond["id"], ok,
                             f"imatinib from {first}; {months} months reached on {due}; "
                             f"inclusion {incl}{'' if on else ' (no imatinib at inclusion)'}"))
    # Stable dose.
    cond = crit["stable_dose"]
    n = int(cond["condition"]["no_change_months"])
    if incl is None or not rows:
        out.append(Criterion(cond["id"], None if incl is None else False,
                             "inclusion date unknown" if incl is None else "no imatinib row"))
    else:
        lo = add_months(incl, -n)
        active = [t for t in rows if t.start <= incl and (t.end is None or t.end >= lo)]
        doses = [t.dose_mg_per_day for t in active]
        if not active:
            out.append(Criterion(cond["id"], False, f"no imatinib between {lo} and {incl}"))
        elif any(d is None for d in doses):
            out.append(Criterion(cond["id"], None, "an imatinib dose is missing"))
        else:
            stable = len(set(doses)) == 1
            out.append(Criterion(cond["id"], stable,
                                 f"imatinib doses from {lo} to {incl}: "
                                 f"{', '.join(f'{d:g}' for d in doses if d is not None)} mg/day"))
    # MMR but not MR4.5 on the latest PCR on or before inclusion.
    cond = crit["mmr_not_mr45"]
    c = cond["condition"]
    pcrs = sorted((o for o in record.observations if isinstance(o, Pcr)), key=lambda o: o.date)
    base = [p for p in pcrs if incl is not None and p.date <= incl]
    if incl is None or not base:
        out.append(Criterion(cond["id"], None, "no PCR on or before inclusion"))
    else:
        p = base[-1]
        if p.is_detected:
            assert p.bcr_abl1_is is not None
            ok = c["pcr_gt"] < p.bcr_abl1_is <= c["pcr_le"]
            out.append(Criterion(cond["id"], ok, f"{_pcr_text(p)}: "
                                 f"{'in MMR, not MR4.5' if ok else 'not within (0.0032, 0.1]'}"))
        else:
            deep = _mr45(p, spec)
            out.append(Criterion(cond["id"], False if deep else None,
                                 f"{_pcr_text(p)}: "
                                 + ("MR4.5 already" if deep else "depth cannot be told")))
    # Endpoint: MR4.5 within the 12 months (days 1-365 after inclusion).
    endpoints: dict[str, Any] = {"mr45_by_12m": None, "mr45_date": None}
    if incl is not None:
        end = incl + dt.timedelta(days=int(spec["window_days"]))
        window = [p for p in pcrs if incl < p.date <= end]
        hit = next((p for p in window if _mr45(p, spec)), None)
        if hit is not None:
            endpoints = {"mr45_by_12m": True, "mr45_date": hit.date.isoformat()}
        elif any(p.date >= end for p in pcrs) or as_of >= end:
            endpoints = {"mr45_by_12m": False, "mr45_date": None}
        endpoints["window_end"] = end.isoformat()
    return ProtocolResult("actim", incl, tuple(out), endpoints)


