"""Build a patient record and its classified timepoints from a short, readable history.

Used by the ELN tests and the conformance tables (tests/cases/eln20xx.yaml). A history item::

    {month: 3, pcr: 8.2, hem: CHR, ph: 35, aca: ["+8"], aca_ph_neg: ["-7"],
     mutations: [T315I], phase: accelerated}

``day:`` (days since the first TKI start) may replace ``month:`` (month x 30.4375 days,
rounded) where a boundary needs an exact day. ``pcr`` is a % IS value, ``undetected`` (adequate
sensitivity, MR4.5) or ``inadequate``. Responses are classified with the project's own bands
(cmltrack.domain.response), as the assessment does upstream.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from cmltrack.domain.enums import (
    CytogeneticResponse,
    CytogeneticScheme,
    HematologicResponse,
    MolecularResponse,
    Phase,
)
from cmltrack.domain.records import PatientRecord
from cmltrack.domain.response import cytogenetic_band, molecular_band
from cmltrack.domain.results import Timepoint

START = dt.date(2020, 1, 1)
DAYS_PER_MONTH = 30.4375


def day_of(item: dict[str, Any], start: dt.date = START) -> dt.date:
    if "date" in item:
        return dt.date.fromisoformat(str(item["date"]))
    if "day" in item:
        return start + dt.timedelta(days=int(item["day"]))
    return start + dt.timedelta(days=round(float(item["month"]) * DAYS_PER_MONTH))


def build_history(spec: dict[str, Any]) -> tuple[PatientRecord, list[Timepoint], dt.date]:
    """(record, timepoints in date order, as_of) for a case specification."""
    scheme = CytogeneticScheme(spec.get("scheme", "eln"))
    therapy = []
    for line in spec.get("therapy") or [{"drug": "imatinib", "dose": 400, "month": 0}]:
        row: dict[str, Any] = {"drug": line["drug"], "dose_mg_per_day": line.get("dose"),
                               "start": day_of(line).isoformat()}
        if "end_month" in line or "end_day" in line:
            end = {"month": line["end_month"]} if "end_month" in line else {"day": line["end_day"]}
            row["end"] = day_of(end).isoformat()
            row["reason_end"] = line.get("reason_end")
        therapy.append(row)
    observations: list[dict[str, Any]] = []
    tps: list[Timepoint] = []
    for item in spec.get("history") or []:
        day = day_of(item)
        months = (day - START).days / DAYS_PER_MONTH
        hem = item.get("hem")
        ph = item.get("ph")
        cyto: CytogeneticResponse | None = None
        if item.get("cyto") == "inadequate":
            cyto = CytogeneticResponse.INADEQUATE
        elif ph is not None:
            cyto = cytogenetic_band(float(ph), scheme)
        pcr = item.get("pcr")
        bcr: float | None = None
        mol: MolecularResponse | None = None
        if pcr == "undetected":
            mol = MolecularResponse.MR4_5
        elif pcr == "inadequate":
            mol = MolecularResponse.INADEQUATE
        elif pcr is not None:
            bcr = float(pcr)
            mol = molecular_band(bcr)
        if ph is not None or item.get("aca") or item.get("aca_ph_neg"):
            observations.append({"kind": "cytogenetics", "date": day.isoformat(),
                                 "ph_pct": float(ph if ph is not None else 0),
                                 "aca": item.get("aca", []),
                                 "aca_ph_neg": item.get("aca_ph_neg", [])})
        if "mutations" in item:
            observations.append({"kind": "mutation", "date": day.isoformat(),
                                 "mutations": item["mutations"]})
        if any(k in item for k in ("hem", "ph", "pcr", "phase", "cyto")):
            tps.append(Timepoint(
                date=day, months=round(months, 2),
                hematologic=HematologicResponse(hem) if hem else None,
                cytogenetic=cyto,
                molecular=mol,
                phase=Phase(item["phase"]) if item.get("phase") else None,
                bcr_abl1_is=bcr,
                ph_pct=float(ph) if ph is not None else None,
            ))
    events = [{"kind": e.get("kind", "progression"), "date": day_of(e).isoformat(),
               **({"phase": e["phase"]} if "phase" in e else {})}
              for e in spec.get("events") or []]
    diagnosis = {"date": (START - dt.timedelta(days=7)).isoformat(), "phase": "chronic",
                 **(spec.get("diagnosis") or {})}
    record = PatientRecord.model_validate({
        "id": spec.get("id", "case"), "diagnosis": diagnosis, "therapy": therapy,
        "observations": observations, "events": events,
    })
    tps.sort(key=lambda t: t.date)
    if "as_of" in spec:
        as_of = day_of(spec["as_of"])
    else:
        dates = [t.date for t in tps] + [dt.date.fromisoformat(o["date"]) for o in observations]
        as_of = max(dates, default=START)
    return record, tps, as_of
