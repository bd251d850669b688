"""Vital and follow-up status (clinical-rules-2 section 10).

The record's ``death``, ``lost_to_follow_up``, ``transplant``, ``tki_stop`` and ``off_study``
events are echoed in the assessment's events (same kind and date, and the cause of a death).
From a death on or before ``as_of`` the patient's status is ``deceased``: milestones not reached
with a result by the date of death are ``not_evaluable`` ("patient died on ..."), nothing is
recommended and no test is due. From a loss to follow-up on or before ``as_of`` with no later
result the status is ``lost_to_follow_up``, milestones not reached by then are
``not_evaluable`` ("lost to follow-up on ...") and no test is due; a later result reopens
follow-up. The rows are ``FOLLOWUP.*`` in ``rules/data/monitoring.yaml``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from cmltrack.domain.enums import EventKind, FollowUpStatus, MilestoneStatus
from cmltrack.domain.records import PatientRecord
from cmltrack.domain.results import ClinicalEvent, Milestone

ECHOED = {
    "death": EventKind.DEATH,
    "lost_to_follow_up": EventKind.LOST_TO_FOLLOW_UP,
    "transplant": EventKind.TRANSPLANT,
    "tki_stop": EventKind.TKI_STOP,
    "off_study": EventKind.OFF_STUDY,
}
_BASIS = {
    "death": "the patient died",
    "lost_to_follow_up": "lost to follow-up",
    "transplant": "allogeneic stem cell transplant",
    "tki_stop": "TKI stopped (treatment-free remission attempt)",
    "off_study": "off study",
}


def echoed_events(record: PatientRecord, as_of: dt.date) -> list[ClinicalEvent]:
    """The record's vital and follow-up events up to ``as_of``, as assessment events."""
    out: list[ClinicalEvent] = []
    for e in record.events:
        kind = ECHOED.get(e.kind)
        if kind is None or e.date > as_of:
            continue
        basis = _BASIS[e.kind]
        if e.kind == "death" and e.cause:
            basis += f" (cause: {e.cause})"
        if e.note:
            basis += f"; {e.note}"
        out.append(ClinicalEvent(kind, e.date, f"recorded: {basis}", f"RECORD.{e.kind}",
                                 cause=e.cause if e.kind == "death" else None))
    return out


@dataclass(frozen=True, slots=True)
class FollowUp:
    """The patient's follow-up state at ``as_of``: ``status`` None while alive and followed."""

    status: FollowUpStatus | None
    date: dt.date | None
    cause: str | None = None

    @property
    def reason(self) -> str:
        if self.status is FollowUpStatus.DECEASED:
            return f"patient died on {self.date}"
        if self.status is FollowUpStatus.LOST_TO_FOLLOW_UP:
            return f"lost to follow-up on {self.date}"
        return ""

    @property
    def rule(self) -> str:
        if self.status is FollowUpStatus.DECEASED:
            return "FOLLOWUP.death"
        return "FOLLOWUP.lost_to_follow_up"


def follow_up(record: PatientRecord, as_of: dt.date) -> FollowUp:
    """Deceased (the first death on or before ``as_of``), lost to follow-up (the latest loss
    on or before ``as_of`` with no result dated after it), or neither."""
    deaths = sorted((e for e in record.events if e.kind == "death" and e.date <= as_of),
                    key=lambda e: e.date)
    if deaths:
        return FollowUp(FollowUpStatus.DECEASED, deaths[0].date, deaths[0].cause)
    lost = [e.date for e in record.events if e.kind == "lost_to_follow_up" and e.date <= as_of]
    if lost:
        day = max(lost)
        if not any(day < o.date <= as_of for o in record.observations):
            return FollowUp(FollowUpStatus.LOST_TO_FOLLOW_UP, day)
    return FollowUp(None, None)


def close_milestones(milestones: Sequence[Milestone], state: FollowUp) -> tuple[Milestone, ...]:
    """Milestones still waiting for a result (``pending`` when judged on the date of death or
    loss) become ``not_evaluable`` with the reason."""
    return tuple(
        Milestone(m.month, MilestoneStatus.NOT_EVALUABLE, None, state.reason, state.rule)
        if m.status is MilestoneStatus.PENDING else m
        for m in milestones
    )
