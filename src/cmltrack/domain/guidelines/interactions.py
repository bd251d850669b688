"""Co-medication that changes a TKI's dose, and pregnancy (clinical-rules-2 section 6; rows in
``rules/data/interactions.yaml``).

A co-medication is a therapy row of any drug name that runs at ``as_of`` (started on or before
it, not ended before it) beside the running TKI. For each row of the TKI whose class lists the
co-medication: ``avoid_comedication`` naming the co-medication; where the row gives a reduction
(a strong CYP3A4 inhibitor with dasatinib, nilotinib or ponatinib), the adjusted label dose
replaces the plain one in ``current.label_dose_mg_per_day`` and ``reduce_dose`` to it is
recommended when the recorded dose is higher.

Pregnancy: a ``pregnancy`` event in the 280 days up to ``as_of`` while a TKI runs gives
``hold`` (TKIs are contraindicated in pregnancy).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping
from dataclasses import dataclass

from cmltrack.domain.enums import Action
from cmltrack.domain.guidelines.label import RuleRow, RuleTable, load_rule_table
from cmltrack.domain.records import PatientRecord, TherapyLine
from cmltrack.domain.results import Recommendation
from cmltrack.errors import RuleTableError


@functools.cache
def _table() -> RuleTable:
    t = load_rule_table("interactions")
    classes = t.extra.get("classes")
    if not isinstance(classes, Mapping) or not classes:
        raise RuleTableError("interactions: 'classes' must map a class to drug names")
    return t


@functools.cache
def _class_of() -> dict[str, frozenset[str]]:
    """Each class's drug names, lower case."""
    return {str(k): frozenset(str(d).lower() for d in v)
            for k, v in _table().extra["classes"].items()}


@dataclass(frozen=True, slots=True)
class InteractionResult:
    recommendations: tuple[Recommendation, ...]
    #: The label dose after a reduction for a strong CYP3A4 inhibitor (None: no change).
    adjusted_dose: float | None


def _reduction(row: RuleRow, dose: float | None) -> float | None:
    table = row.condition.get("reduce")
    if not isinstance(table, Mapping) or dose is None:
        return None
    for k, v in table.items():
        if float(k) == float(dose):
            return float(v)
    return None


def recommend_interactions(
    record: PatientRecord,
    *,
    as_of: dt.date,
    line: TherapyLine | None,
    label_dose: float | None,
) -> InteractionResult:
    """The section 6 recommendations for the running TKI ``line`` at ``as_of``."""
    recs: list[Recommendation] = []
    adjusted: float | None = None
    t = _table()
    if line is None:
        return InteractionResult((), None)
    running = [r for r in record.therapy
               if r is not line and r.drug != line.drug and r.start <= as_of
               and (r.end is None or r.end > as_of)]
    classes = _class_of()
    for row in t.rows.values():
        if row.condition.get("drug") != line.drug:
            continue
        wanted = row.condition.get("comedication") or []
        names = frozenset().union(*(classes.get(str(c), frozenset()) for c in wanted))
        hits = sorted({r.drug for r in running if r.drug.lower() in names})
        for co in hits:
            recs.append(Recommendation(
                Action.AVOID_COMEDICATION, row.id, row.source,
                f"{co} (running since {_start(record, co)}) with {line.drug}: {row.wording}",
                co))
        if not hits:
            continue
        target = _reduction(row, label_dose)
        if target is not None:
            adjusted = target
            recorded = line.dose_mg_per_day
            if recorded is not None and recorded > target:
                recs.append(Recommendation(
                    Action.REDUCE_DOSE, row.id, row.source,
                    f"{', '.join(hits)} (strong CYP3A4 inhibitor) with {line.drug} "
                    f"{recorded:g} mg/day: if the inhibitor cannot be avoided, reduce to "
                    f"{target:g} mg/day", line.drug, target))
    recs += _pregnancy(record, as_of=as_of, line=line)
    return InteractionResult(tuple(recs), adjusted)


def _start(record: PatientRecord, drug: str) -> dt.date:
    return min(r.start for r in record.therapy if r.drug == drug)


def _pregnancy(
    record: PatientRecord, *, as_of: dt.date, line: TherapyLine
) -> list[Recommendation]:
    row = _table().row("PREGNANCY.hold_tki")
    window = row.condition.get("within_days")
    if isinstance(window, bool) or not isinstance(window, int):
        raise RuleTableError("interactions: PREGNANCY.hold_tki needs a whole within_days")
    recent = [e.date for e in record.events
              if e.kind == "pregnancy" and e.date <= as_of and (as_of - e.date).days < window]
    if not recent:
        return []
    day = max(recent)
    return [Recommendation(
        Action.HOLD, row.id, row.source,
        f"pregnancy recorded on {day} while {line.drug} runs: TKIs are contraindicated in "
        "pregnancy; stop the TKI (interferon if treatment is needed)", line.drug)]
