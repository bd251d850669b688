"""Second-line TKIs: label doses by phase and line, the next-TKI options with the mutation
table, advanced phase, relapse after transplant, WHO 5th edition phase (clinical-rules-2
sections 1, 3, 5, 8). Every expected value was read BY HAND off the reference's tables."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from cmltrack.domain.assess import assess
from cmltrack.domain.enums import Action, EventKind, Phase, PhaseCriteria
from cmltrack.domain.guidelines.choice import label_dose, next_tki_options
from cmltrack.domain.options import AssessOptions
from cmltrack.domain.phase import classify_phase
from cmltrack.domain.records import BloodCount, PatientRecord

D = dt.date
CP, AP, BP = Phase.CHRONIC, Phase.ACCELERATED, Phase.BLAST


@pytest.mark.parametrize(
    ("drug", "phase", "later", "t315i", "dose"),
    [
        ("imatinib", CP, False, False, 400), ("imatinib", AP, False, False, 600),
        ("imatinib", BP, True, False, 600),
        ("dasatinib", CP, False, False, 100), ("dasatinib", CP, True, False, 100),
        ("dasatinib", AP, True, False, 140), ("dasatinib", BP, True, False, 140),
        ("nilotinib", CP, False, False, 600), ("nilotinib", CP, True, False, 800),
        ("nilotinib", AP, True, False, 800), ("nilotinib", BP, True, False, None),
        ("bosutinib", CP, False, False, 400), ("bosutinib", CP, True, False, 500),
        ("bosutinib", AP, True, False, 500), ("bosutinib", BP, True, False, 500),
        ("ponatinib", CP, False, False, None), ("ponatinib", CP, True, False, 45),
        ("ponatinib", BP, True, False, 45), ("ponatinib", CP, False, True, 45),
        ("asciminib", CP, False, False, 80), ("asciminib", CP, True, False, 80),
        ("asciminib", CP, True, True, 400), ("asciminib", AP, True, False, None),
        ("asciminib", BP, True, True, None),
    ],
)
def test_label_dose_table(drug: str, phase: Phase, later: bool, t315i: bool,
                          dose: float | None) -> None:
    found = label_dose(drug, phase, later_line=later, t315i=t315i)
    assert (None if found is None else found[0]) == dose


@pytest.mark.parametrize(
    ("tried", "phase", "mutations", "options", "avoid", "doses"),
    [
        # The reference's example: T315I on imatinib, chronic phase.
        ([("imatinib", None)], CP, ["T315I"], ("asciminib", "ponatinib"),
         ("bosutinib", "dasatinib", "nilotinib"), {"asciminib": 400, "ponatinib": 45}),
        # E255K on imatinib: nilotinib avoided; ponatinib needs T315I or two prior TKIs.
        ([("imatinib", None)], CP, ["E255K"], ("asciminib", "bosutinib", "dasatinib"),
         ("nilotinib",), {"asciminib": 80, "bosutinib": 500, "dasatinib": 100}),
        # F317L on dasatinib after imatinib resistance: dasatinib is failing (rule 1, not in
        # avoid), bosutinib avoided, two TKIs given so ponatinib is offered.
        ([("imatinib", "resistance"), ("dasatinib", None)], CP, ["F317L"],
         ("asciminib", "nilotinib", "ponatinib"), ("bosutinib",),
         {"asciminib": 80, "nilotinib": 800, "ponatinib": 45}),
        # Accelerated phase: asciminib is chronic phase only.
        ([("imatinib", None)], AP, [], ("bosutinib", "dasatinib", "nilotinib"), (),
         {"bosutinib": 500, "dasatinib": 140, "nilotinib": 800}),
        # Blast phase: nilotinib is not indicated either.
        ([("imatinib", None)], BP, [], ("bosutinib", "dasatinib"), (),
         {"bosutinib": 500, "dasatinib": 140}),
        # Ponatinib failing in blast phase with T315I: nothing is left.
        ([("imatinib", "resistance"), ("nilotinib", "progression"), ("ponatinib", None)], BP,
         ["T315I"], (), ("bosutinib", "dasatinib"), {}),
    ],
)
def test_next_tki_options(tried: list[tuple[str, str | None]], phase: Phase,
                          mutations: list[str], options: tuple[str, ...],
                          avoid: tuple[str, ...], doses: dict[str, float]) -> None:
    got = next_tki_options(tried=tried, current_failing=True, phase=phase, mutations=mutations)
    assert got.options == options and got.avoid == avoid and dict(got.start_doses) == doses


def _rec(**data: Any) -> PatientRecord:
    base: dict[str, Any] = {"id": "S", "diagnosis": {"date": "2020-12-20", "phase": "chronic",
                                                    "transcript": "e14a2"}}
    return PatientRecord.model_validate({**base, **data})


def test_switch_tki_names_options_doses_and_avoid_in_the_contract() -> None:
    # 6 months on imatinib BCR::ABL1 12% > 10%: ELN 2020 failure; E255K found that day.
    rec = _rec(therapy=[{"drug": "imatinib", "dose_mg_per_day": 400, "start": "2021-01-04"}],
               observations=[{"date": "2021-07-05", "kind": "pcr", "bcr_abl1_is": 12.0,
                              "control_gene": "ABL1", "control_copies": 40000},
                             {"date": "2021-07-05", "kind": "mutation", "mutations": ["E255K"]}])
    a = assess(rec, as_of=D(2021, 7, 5))
    switch = next(r.to_dict() for r in a.recommendations if r.action is Action.SWITCH_TKI)
    assert switch["drug"] == "asciminib|bosutinib|dasatinib"
    assert switch["options"] == ["asciminib", "bosutinib", "dasatinib"]
    assert switch["avoid"] == ["nilotinib"]
    assert switch["start_dose_mg_per_day"] == {"asciminib": 80, "bosutinib": 500, "dasatinib": 100}
    assert "nilotinib (mutation E255K)" in switch["because"]
    assert a.current.label_dose_mg_per_day == 400


def test_tki_naive_accelerated_phase_gets_ap_doses() -> None:
    rec = _rec(diagnosis={"date": "2021-01-04", "phase": "accelerated", "transcript": "e13a2"})
    a = assess(rec, as_of=D(2021, 1, 5))
    start = next(r for r in a.recommendations if r.action is Action.START_TKI)
    assert dict(start.start_dose_mg_per_day or {}) == {
        "bosutinib": 500, "dasatinib": 140, "imatinib": 600, "nilotinib": 800}


BP_RECORD: dict[str, Any] = {
    "therapy": [{"drug": "imatinib", "dose_mg_per_day": 400, "start": "2020-01-06"}],
    "observations": [{"date": "2021-03-01", "kind": "blood", "wbc": 40.0, "platelets": 90,
                      "blasts_pb": 35}],
}


@pytest.mark.parametrize(
    ("lineage", "action", "regimen"),
    [(None, Action.IMMUNOPHENOTYPING, None), ("myeloid", Action.COMBINE_CHEMOTHERAPY, "AML-type"),
     ("lymphoid", Action.COMBINE_CHEMOTHERAPY, "ALL-type"),
     ("mixed", Action.COMBINE_CHEMOTHERAPY, "ALL-type")],
)
def test_blast_phase_therapy_by_lineage(lineage: str | None, action: Action,
                                        regimen: str | None) -> None:
    obs = list(BP_RECORD["observations"])
    if lineage is not None:
        obs.append({"date": "2021-03-01", "kind": "marrow", "blasts_bm": 40,
                    "blast_lineage": lineage})
    a = assess(_rec(therapy=BP_RECORD["therapy"], observations=obs), as_of=D(2021, 3, 2))
    got = [r for r in a.recommendations if r.action is action]
    assert got and got[0].regimen == regimen
    assert a.current.blast_lineage == lineage
    assert Action.HSCT_EVALUATION in {r.action for r in a.recommendations}
    # Asciminib and nilotinib are not offered in blast phase.
    switch = next(r for r in a.recommendations if r.action is Action.SWITCH_TKI)
    assert switch.options == ("bosutinib", "dasatinib")
    assert dict(switch.start_dose_mg_per_day or {}) == {"bosutinib": 500, "dasatinib": 140}


def test_chemotherapy_given_after_blast_phase_answers_the_call() -> None:
    therapy = [*BP_RECORD["therapy"],
               {"drug": "cytarabine", "start": "2021-03-05", "end": "2021-03-12"}]
    a = assess(_rec(therapy=therapy, observations=BP_RECORD["observations"]),
               as_of=D(2021, 3, 20))
    assert not {Action.COMBINE_CHEMOTHERAPY, Action.IMMUNOPHENOTYPING} & {
        r.action for r in a.recommendations}


def _pcr(day: str, detected: bool) -> dict[str, Any]:
    if detected:
        return {"date": day, "kind": "pcr", "bcr_abl1_is": 0.05, "control_gene": "ABL1",
                "control_copies": 50000}
    return {"date": day, "kind": "pcr", "detected": False, "control_gene": "ABL1",
            "control_copies": 100000}


def _hsct(*pcrs: dict[str, Any]) -> PatientRecord:
    return _rec(therapy=[{"drug": "imatinib", "dose_mg_per_day": 400, "start": "2018-01-08",
                          "end": "2019-12-01", "reason_end": "transplant"}],
                observations=list(pcrs), events=[{"date": "2020-01-15", "kind": "transplant"}])


def test_molecular_relapse_after_transplant() -> None:
    # 2020-04-14 is day 90 after 2020-01-15 (not > 90): the pair 04-14/06-01 does not count;
    # 06-01 and 07-01 are both > 90 days, after the undetected 03-01: relapse dated 07-01.
    rec = _hsct(_pcr("2020-03-01", False), _pcr("2020-04-14", True), _pcr("2020-06-01", True),
                _pcr("2020-07-01", True))
    a = assess(rec, as_of=D(2020, 7, 1))
    ev = [e for e in a.events if e.kind is EventKind.POST_TRANSPLANT_RELAPSE]
    assert [(e.date, e.level) for e in ev] == [(D(2020, 7, 1), "molecular")]
    assert a.to_dict()["events"][-1]["level"] == "molecular"
    actions = {r.action for r in a.recommendations}
    assert {Action.DONOR_LYMPHOCYTE_INFUSION, Action.START_TKI} <= actions
    assert Action.HSCT_EVALUATION not in actions  # molecular, not hematologic
    start = next(r for r in a.recommendations if r.action is Action.START_TKI)
    # PDQ names imatinib for imatinib-naive patients only; this one had it. The second-line
    # candidates at their later-line chronic-phase doses; ponatinib needs T315I or two TKIs.
    assert start.options == ("asciminib", "bosutinib", "dasatinib", "nilotinib")
    assert dict(start.start_dose_mg_per_day or {}) == {
        "asciminib": 80, "bosutinib": 500, "dasatinib": 100, "nilotinib": 800}
    early = assess(rec, as_of=D(2020, 6, 1))
    assert not any(e.kind is EventKind.POST_TRANSPLANT_RELAPSE for e in early.events)


@pytest.mark.parametrize(
    ("blasts", "who2016", "who2022"),
    [(9, CP, CP), (10, AP, CP), (19, AP, CP), (20, BP, BP)],
)
def test_who_5th_edition_is_biphasic(blasts: float, who2016: Phase, who2022: Phase) -> None:
    blood = BloodCount(date=D(2021, 1, 1), blasts_pb=blasts, basophils_pb=25.0)
    # Basophils 25% (>= 20%) are AP by WHO 2016 but no phase criterion in the 5th edition.
    got16 = classify_phase(blood=blood, marrow=None, cyto=None,
                           criteria=PhaseCriteria.WHO2016, on_therapy=True).value
    got22 = classify_phase(blood=blood, marrow=None, cyto=None,
                           criteria=PhaseCriteria.WHO2022, on_therapy=True).value
    assert got22 == who2022
    assert got16 == (AP if who2016 is CP else who2016)  # the basophils alone make WHO16 AP


def test_who2022_is_an_assess_option() -> None:
    rec = _rec(**BP_RECORD)
    opts = AssessOptions(phase_criteria=PhaseCriteria.WHO2022)
    assert assess(rec, options=opts, as_of=D(2021, 3, 2)).timepoints[-1].phase is BP
