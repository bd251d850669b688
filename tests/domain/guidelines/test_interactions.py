"""Co-medication (CYP3A4, acid suppression) and pregnancy (clinical-rules-2 section 6).
Expected doses read BY HAND off the section's table."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from cmltrack.domain.assess import assess
from cmltrack.domain.enums import Action
from cmltrack.domain.records import PatientRecord

D = dt.date
AS_OF = D(2022, 6, 1)


def _assess(tki: str, dose: float, comed: str | None, *, phase: str = "chronic",
            earlier: bool = False, comed_end: str | None = None,
            events: list[dict[str, Any]] | None = None, as_of: dt.date = AS_OF) -> Any:
    therapy: list[dict[str, Any]] = []
    start = "2021-01-04"
    if earlier:
        therapy.append({"drug": "imatinib", "dose_mg_per_day": 400, "start": "2020-01-06",
                        "end": start, "reason_end": "intolerance"})
    therapy.append({"drug": tki, "dose_mg_per_day": dose, "start": start})
    if comed is not None:
        therapy.append({"drug": comed, "start": "2022-05-01", "end": comed_end})
    rec = PatientRecord.model_validate({
        "id": "I", "diagnosis": {"date": "2019-12-20", "phase": phase, "transcript": "e14a2"},
        "therapy": therapy, "events": events or []})
    return assess(rec, as_of=as_of)


def _acts(a: Any) -> list[tuple[str, str | None, float | None, str]]:
    return sorted((str(r.action), r.drug, r.dose_mg_per_day, r.rule) for r in a.recommendations
                  if r.action in (Action.AVOID_COMEDICATION, Action.REDUCE_DOSE, Action.HOLD))


@pytest.mark.parametrize(
    ("tki", "dose", "comed", "phase", "earlier", "label", "expected"),
    [
        ("dasatinib", 100, "ketoconazole", "chronic", True, 20,
         [("avoid_comedication", "ketoconazole", None, "LABEL.dasatinib.cyp3a4_inhibitor"),
          ("reduce_dose", "dasatinib", 20, "LABEL.dasatinib.cyp3a4_inhibitor")]),
        ("dasatinib", 140, "Ketoconazole", "accelerated", True, 40,
         [("avoid_comedication", "ketoconazole", None, "LABEL.dasatinib.cyp3a4_inhibitor"),
          ("reduce_dose", "dasatinib", 40, "LABEL.dasatinib.cyp3a4_inhibitor")]),
        ("dasatinib", 100, "omeprazole", "chronic", True, 100,
         [("avoid_comedication", "omeprazole", None, "LABEL.dasatinib.acid_suppression")]),
        ("dasatinib", 100, "famotidine", "chronic", True, 100,
         [("avoid_comedication", "famotidine", None, "LABEL.dasatinib.acid_suppression")]),
        ("nilotinib", 800, "clarithromycin", "chronic", True, 300,
         [("avoid_comedication", "clarithromycin", None, "LABEL.nilotinib.cyp3a4_inhibitor"),
          ("reduce_dose", "nilotinib", 300, "LABEL.nilotinib.cyp3a4_inhibitor")]),
        ("nilotinib", 600, "clarithromycin", "chronic", False, 200,
         [("avoid_comedication", "clarithromycin", None, "LABEL.nilotinib.cyp3a4_inhibitor"),
          ("reduce_dose", "nilotinib", 200, "LABEL.nilotinib.cyp3a4_inhibitor")]),
        # already at the adjusted dose: nothing to reduce
        ("nilotinib", 300, "clarithromycin", "chronic", True, 300,
         [("avoid_comedication", "clarithromycin", None, "LABEL.nilotinib.cyp3a4_inhibitor")]),
        ("ponatinib", 45, "itraconazole", "chronic", True, 30,
         [("avoid_comedication", "itraconazole", None, "LABEL.ponatinib.cyp3a4_inhibitor"),
          ("reduce_dose", "ponatinib", 30, "LABEL.ponatinib.cyp3a4_inhibitor")]),
        ("bosutinib", 500, "omeprazole", "chronic", True, 500,
         [("avoid_comedication", "omeprazole", None, "LABEL.bosutinib.acid_suppression")]),
        ("bosutinib", 500, "famotidine", "chronic", True, 500, []),
        ("bosutinib", 500, "rifampicin", "chronic", True, 500,
         [("avoid_comedication", "rifampicin", None, "LABEL.bosutinib.cyp3a4_inducer")]),
        ("imatinib", 400, "ketoconazole", "chronic", False, 400, []),
    ],
)
def test_interaction_table(tki: str, dose: float, comed: str, phase: str, earlier: bool,
                           label: float, expected: list[Any]) -> None:
    a = _assess(tki, dose, comed, phase=phase, earlier=earlier)
    assert _acts(a) == sorted(expected)
    assert a.current.label_dose_mg_per_day == label


def test_a_comedication_that_has_ended_is_no_interaction() -> None:
    a = _assess("dasatinib", 100, "ketoconazole", earlier=True, comed_end="2022-05-20")
    assert _acts(a) == [] and a.current.label_dose_mg_per_day == 100


@pytest.mark.parametrize(("days_ago", "held"), [(0, True), (279, True), (280, False)])
def test_pregnancy_holds_the_tki(days_ago: int, held: bool) -> None:
    as_of = D(2022, 6, 1)
    day = (as_of - dt.timedelta(days=days_ago)).isoformat()
    a = _assess("imatinib", 400, None, events=[{"date": day, "kind": "pregnancy"}], as_of=as_of)
    holds = [r for r in a.recommendations if r.rule == "PREGNANCY.hold_tki"]
    assert bool(holds) is held
    if held:
        assert holds[0].action is Action.HOLD and holds[0].drug == "imatinib"
        assert "contraindicated" in holds[0].because
