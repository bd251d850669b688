"""AML time-to-event endpoints in the ADTTE shape (``cmltrack endpoints``; aml spec section 3).

Origin: the protocol's inclusion date when the assessment has one (``--protocol clag-im``),
else the earliest therapy row. Months are days / 30.4375. Definitions after ELN 2022 (Döhner H
et al. Blood 2022, outcome measures):
- OS: death from any cause; censored at the last follow-up.
- EFS: primary refractory disease (no CR, CRh or CRi on any evaluable marrow after the origin:
  an event on day 1, AVAL 0), relapse, or death; censored at the last follow-up.
- RFS: for patients reaching CR, CRh or CRi: from that date to relapse or death.
- PFS (protocol, aml spec section 5): progression (PD), relapse or death.
- DOR: for responders (the protocol's set: CR_MRD_neg, CR, CRh, CRi, PR): from the first
  response to relapse, progression or death.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING

from cmltrack.domain.aml.response import CR_CLASS, AmlCourse
from cmltrack.domain.records import PatientRecord
from cmltrack.domain.timeline import months_between

if TYPE_CHECKING:
    from cmltrack.domain.endpoints import EndpointRow

AML_PARAMS: dict[str, str] = {
    "OS": "Overall survival (months)",
    "EFS": "Event-free survival, ELN 2022: refractory, relapse or death (months)",
    "RFS": "Relapse-free survival from CR/CRh/CRi (months)",
    "PFS": "Progression-free survival: PD, relapse or death (months)",
    "DOR": "Duration of response (months)",
}
RESPONDERS = frozenset({"CR_MRD_neg", "CR", "CRh", "CRi", "PR"})


def derive_aml_endpoints(record: PatientRecord, course: AmlCourse, origin: dt.date | None,
                         as_of: dt.date) -> list[EndpointRow]:
    from cmltrack.domain.endpoints import EndpointRow

    if origin is None:
        return []
    rows: list[EndpointRow] = []
    death = next(((e.date, i) for i, e in enumerate(record.events) if e.kind == "death"), None)
    days = [d for d in course.days if d.date > origin]
    events = [e for e in course.events if e.date > origin]

    def first(kinds: Iterable[str]) -> tuple[dt.date, str] | None:
        wanted = set(kinds)
        hit = next((e for e in events if e.kind in wanted), None)
        return (hit.date, f"{hit.kind}: {hit.basis}") if hit else None

    def add(code: str, start: dt.date, hits: list[tuple[dt.date, str, str, str] | None]) -> None:
        present = [h for h in hits if h is not None]
        if present:
            day, desc, dom, var = min(present, key=lambda h: h[0])
            rows.append(EndpointRow(record.id, code, AML_PARAMS[code],
                                    round(months_between(start, day), 4), 0, start.isoformat(),
                                    day.isoformat(), desc, dom, var, 0))
        else:
            rows.append(EndpointRow(record.id, code, AML_PARAMS[code],
                                    round(months_between(start, as_of), 4), 1,
                                    start.isoformat(), as_of.isoformat(),
                                    "censored at last follow-up", "ADRESP", "last assessment", 0))

    dead = None if death is None else (death[0], "death", "DS", f"events[{death[1]}]")
    relapse = first(["aml_relapse"])
    rel = None if relapse is None else (*relapse, "ADRESP", "aml_relapse")
    progression = first(["progression"])
    prog = None if progression is None else (*progression, "ADRESP", "progression")
    add("OS", origin, [dead])
    cr = next((d for d in days if d.response in CR_CLASS), None)
    evaluable = [d for d in days if d.response is not None]
    refractory = None
    if cr is None and evaluable:
        refractory = (origin, f"primary refractory: no CR/CRh/CRi (best of "
                              f"{len(evaluable)} evaluable marrows)", "ADRESP", "aml_response")
    add("EFS", origin, [refractory, rel, dead])
    add("PFS", origin, [prog, rel, dead])
    if cr is not None:
        add("RFS", cr.date, [rel, dead])
    response = next((d for d in days if d.response in RESPONDERS), None)
    if response is not None:
        add("DOR", response.date, [rel, prog, dead])
    return rows
