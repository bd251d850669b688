"""Ponatinib's response-based dose rules (clinical-rules-2 section 2d; rows in
``rules/data/tki_labels.yaml``).

Chronic phase on 45 or 30 mg with the latest PCR on ponatinib at or below 1% IS: ``reduce_dose``
to 15 mg. On 15 mg after such a reduction, a latest PCR above 1%: ``escalate_dose`` to the
highest dose taken before the reduction. Accelerated phase with the latest karyotype on
ponatinib at Ph+ <= 35% (MCyR): ``reduce_dose`` with no dose ("consider reducing").
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence

from cmltrack.domain.enums import Action, Phase
from cmltrack.domain.guidelines.label import RuleRow, RuleTable, load_rule_table
from cmltrack.domain.records import PatientRecord, TherapyLine
from cmltrack.domain.results import Recommendation, Timepoint


@functools.cache
def _table() -> RuleTable:
    return load_rule_table("tki_labels")


def _number(row: RuleRow, key: str) -> float:
    value = row.condition[key]
    assert isinstance(value, int | float)
    return float(value)


def recommend_ponatinib(
    record: PatientRecord,
    timepoints: Sequence[Timepoint],
    *,
    as_of: dt.date,
    line: TherapyLine | None,
    phase: Phase | None,
) -> list[Recommendation]:
    if line is None or line.drug != "ponatinib":
        return []
    rows = sorted((t for t in record.therapy if t.drug == "ponatinib" and t.start <= as_of),
                  key=lambda t: t.start)
    first = rows[0].start
    on_drug = [tp for tp in timepoints if first < tp.date <= as_of]
    t = _table()
    dose = line.dose_mg_per_day
    out: list[Recommendation] = []
    if phase is Phase.CHRONIC:
        pcrs = [tp for tp in on_drug if tp.molecular is not None]
        if not pcrs:
            return []
        latest = pcrs[-1]
        value = latest.bcr_abl1_is  # None: undetected (<= 1%)
        le1 = value is None or value <= _number(t.row("LABEL.ponatinib.response_reduction"),
                                                "bcr_abl1_is_le")
        if dose in (45.0, 30.0) and le1 and latest.date >= line.start:
            row = t.row("LABEL.ponatinib.response_reduction")
            shown = "undetected" if value is None else f"{value:g}% IS"
            out.append(Recommendation(
                Action.REDUCE_DOSE, row.id, row.source,
                f"BCR::ABL1 {shown} <= 1% on {latest.date} on ponatinib {dose:g} mg/day",
                "ponatinib", float(row.dose)))
        earlier = [r.dose_mg_per_day for r in rows if r.start < line.start
                   and r.dose_mg_per_day is not None]
        if dose == 15.0 and earlier and max(earlier) > 15 and value is not None and value > 1.0:
            row = t.row("LABEL.ponatinib.response_loss")
            target = max(earlier)
            out.append(Recommendation(
                Action.ESCALATE_DOSE, row.id, row.source,
                f"BCR::ABL1 {value:g}% IS > 1% on {latest.date} on ponatinib 15 mg/day after a "
                f"reduction from {target:g} mg", "ponatinib", target))
    elif phase is Phase.ACCELERATED:
        cyto = [tp for tp in on_drug if tp.ph_pct is not None and not tp.fish_based]
        if cyto and cyto[-1].ph_pct is not None and cyto[-1].ph_pct <= 35:
            row = t.row("LABEL.ponatinib.ap_mcyr")
            out.append(Recommendation(
                Action.REDUCE_DOSE, row.id, row.source,
                f"accelerated phase, Ph+ {cyto[-1].ph_pct:g}% <= 35% (MCyR) on "
                f"{cyto[-1].date}: consider reducing ponatinib", "ponatinib", None))
    return out
