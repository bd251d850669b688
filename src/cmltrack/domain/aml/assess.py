"""The AML side of an assessment: genetic risk, per-marrow responses, MRD and AML events."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from cmltrack.domain.aml.response import AmlCourse, AmlCriteria, classify_aml
from cmltrack.domain.aml.risk import AmlRisk, eln_risk
from cmltrack.domain.records import PatientRecord
from cmltrack.domain.results import Timepoint
from cmltrack.domain.timeline import months_since_each


@dataclass(frozen=True, slots=True)
class AmlAssessment:
    """What an AML record adds to the assessment contract (aml spec sections 2-3)."""

    criteria: AmlCriteria
    eln2022_risk: AmlRisk
    eln2017_risk: AmlRisk | None
    course: AmlCourse

    def timepoint_dict(self, tp: Timepoint) -> dict[str, Any]:
        """A timepoint with the CML fields null and the AML ones added."""
        day = self.course.day(tp.date)
        return {
            "date": tp.date.isoformat(), "months": tp.months, "hematologic": None,
            "cytogenetic": None, "molecular": None, "phase": None, "toxicity": {},
            "aml_response": day.response if day else None,
            "aml_mrd": day.mrd if day else None,
            "aml_basis": day.basis if day else None,
        }

    def risk_dict(self) -> dict[str, Any]:
        out = {"eln2022_risk": self.eln2022_risk.to_dict()}
        if self.eln2017_risk is not None:
            out["eln2017_risk"] = self.eln2017_risk.to_dict()
        return out

    @property
    def best_response(self) -> str | None:
        from cmltrack.domain.aml.response import RESPONSE_ORDER

        found = [d.response for d in self.course.days if d.response in RESPONSE_ORDER]
        return min(found, key=RESPONSE_ORDER.index) if found else None

    @property
    def latest_response(self) -> str | None:
        found = [d.response for d in self.course.days if d.response is not None]
        return found[-1] if found else None


def assess_aml(record: PatientRecord, criteria: AmlCriteria) -> AmlAssessment:
    return AmlAssessment(
        criteria=criteria,
        eln2022_risk=eln_risk(record, "ELN2022"),
        eln2017_risk=eln_risk(record, "ELN2017") if criteria == "ELN2017" else None,
        course=classify_aml(record, criteria),
    )


_AML_DAY_KINDS = frozenset({"blood", "marrow", "mrd", "extramedullary"})


def aml_timepoints(record: PatientRecord, start: dt.date | None) -> tuple[Timepoint, ...]:
    """One timepoint per date holding an AML result (blood, marrow, MRD, extramedullary)."""
    days = sorted({o.date for o in record.observations if o.kind in _AML_DAY_KINDS})
    return tuple(Timepoint(day, months) for day, months in
                 zip(days, months_since_each(start, days), strict=True))
