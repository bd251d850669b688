"""Per-patient analysis tables derived from records: ADTTE endpoints and a baseline table."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import pandas as pd

from cmltrack.domain.assess import Assessment, assess
from cmltrack.domain.endpoints import COLUMNS, derive_endpoints
from cmltrack.domain.enums import TKIS
from cmltrack.domain.options import AssessOptions
from cmltrack.domain.records import PatientRecord
from cmltrack.domain.timeline import first_tki_start

BASELINE_COLUMNS = (
    "USUBJID",
    "sex",
    "age",
    "phase",
    "transcript",
    "first_drug",
    "start_dose",
    "sokal_score",
    "sokal_group",
    "hasford_group",
    "eutos_group",
    "elts_score",
    "elts_group",
)


def baseline_row(record: PatientRecord, a: Assessment) -> dict[str, object]:
    """One patient's baseline covariates (at diagnosis and at the start of the first TKI)."""
    start = first_tki_start(record)
    first = next(
        (
            t
            for t in sorted(record.therapy, key=lambda t: t.start)
            if t.drug in TKIS and t.start == start
        ),
        None,
    )
    dx = record.diagnosis
    return {
        "USUBJID": record.id,
        "sex": record.sex,
        "age": record.age_at_diagnosis,
        "phase": dx.phase if dx else None,
        "transcript": dx.transcript if dx else None,
        "first_drug": first.drug if first else None,
        "start_dose": first.dose_mg_per_day if first else None,
        # An AML record has no CML risk scores (its ELN genetic risk is in the assessment).
        "sokal_score": _risk(a, "sokal", "score"),
        "sokal_group": _risk(a, "sokal", "group"),
        "hasford_group": _risk(a, "hasford", "group"),
        "eutos_group": _risk(a, "eutos", "group"),
        "elts_score": _risk(a, "elts", "score"),
        "elts_group": _risk(a, "elts", "group"),
    }


def _risk(a: Assessment, name: str, attr: str) -> object:
    score = a.risk.get(name)
    return None if score is None else getattr(score, attr)


def derive_cohort_tables(
    records: Iterable[PatientRecord], options: AssessOptions | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(endpoints, baseline) for a cohort: every record is assessed once."""
    ends: list[dict[str, object]] = []
    base: list[dict[str, object]] = []
    for rec in records:
        a = assess(rec, options=options)
        ends += [r.to_dict() for r in derive_endpoints(rec, a)]
        base.append(baseline_row(rec, a))
    return (
        pd.DataFrame(ends, columns=list(COLUMNS)),
        pd.DataFrame(base, columns=list(BASELINE_COLUMNS)),
    )



def patient_tables(
    records: Iterable[PatientRecord], options: AssessOptions | None = None, *,
    baseline: bool = True,
) -> Iterator[tuple[list[dict[str, object]], dict[str, object] | None]]:
    """Each patient's endpoint rows (empty without TKI therapy) and baseline row (None when
    not asked for), one patient at a time: what ``derive_cohort_tables`` holds, streamed."""
    for rec in records:
        a = assess(rec, options=options)
        ends = [r.to_dict() for r in derive_endpoints(rec, a)]
        yield ends, baseline_row(rec, a) if baseline else None


def patient_endpoint_rows(
    records: Iterable[PatientRecord], options: AssessOptions | None = None
) -> Iterator[list[dict[str, object]]]:
    """Each patient's endpoint rows in turn (a list, empty without TKI therapy); streams."""
    for ends, _ in patient_tables(records, options, baseline=False):
        yield ends
