"""Second- and third-generation TKI label dose modifications (clinical-rules-2 section 2; the
tables ``rules/data/<drug>_label.yaml``). Every expected action and dose below is read by hand
from the label wording quoted in the table rows, on both sides of each threshold."""

from __future__ import annotations

from typing import Any

import pytest

from cmltrack.domain.assess import assess
from cmltrack.domain.enums import Action, Phase
from cmltrack.domain.guidelines.tki_label import DRUGS, recommend_tki_label, table
from cmltrack.domain.records import PatientRecord
from cmltrack.domain.results import Recommendation

START = "2022-01-01"


def _record(drug: str, dose: float, *, end: str | None = None, prior: bool = False,
            obs: list[dict[str, Any]] | None = None, events: list[dict[str, Any]] | None = None,
            extra_therapy: list[dict[str, Any]] | None = None) -> PatientRecord:
    therapy: list[dict[str, Any]] = []
    if prior:  # an earlier TKI: this drug is second line
        therapy.append({"drug": "imatinib", "dose_mg_per_day": 400, "start": "2020-01-01",
                        "end": "2021-12-31", "reason_end": "resistance"})
    row: dict[str, Any] = {"drug": drug, "dose_mg_per_day": dose, "start": START}
    if end is not None:  # the row ends on the hold: the drug is withheld at as_of
        row |= {"end": end, "reason_end": "toxicity"}
    therapy.append(row)
    therapy += extra_therapy or []
    return PatientRecord.model_validate({
        "id": "T", "diagnosis": {"date": "2019-12-01", "phase": "chronic"},
        "therapy": therapy, "observations": obs or [], "events": events or []})


def _blood(date: str, anc: float, plt: float) -> dict[str, Any]:
    return {"date": date, "kind": "blood", "anc": anc, "platelets": plt}


def _recs(record: PatientRecord, as_of: str, phase: Phase = Phase.CHRONIC) -> list[Recommendation]:
    import datetime as dt
    return list(recommend_tki_label(record, as_of=dt.date.fromisoformat(as_of), phase=phase))


def _one(recs: list[Recommendation]) -> tuple[str, float | None, str]:
    assert len(recs) == 1, [r.because for r in recs]
    r = recs[0]
    assert r.source and r.because and r.rule.startswith("LABEL.")
    return str(r.action), r.dose_mg_per_day, r.rule


# --- dasatinib, chronic phase: ANC < 0.5 or platelets < 50; restart ANC >= 1.0 and plt >= 50 ---

@pytest.mark.parametrize(("anc", "plt", "expect"), [
    (0.4, 120, "hold"), (0.5, 120, None),  # 0.5 is not < 0.5
    (1.2, 49, "hold"), (1.2, 50, None),  # 50 is not < 50
])
def test_dasatinib_cp_trigger(anc: float, plt: float, expect: str | None) -> None:
    rec = _record("dasatinib", 100, obs=[_blood("2022-03-01", anc, plt)])
    recs = _recs(rec, "2022-03-01")
    assert [str(r.action) for r in recs] == ([expect] if expect else [])


@pytest.mark.parametrize(("anc", "plt", "expect"), [
    (1.0, 50, ("resume", 100.0)),  # both on the restart line: restart
    (0.99, 60, ("hold", None)), (1.2, 49, ("hold", None)),
])
def test_dasatinib_cp_restart(anc: float, plt: float, expect: tuple[str, float | None]) -> None:
    rec = _record("dasatinib", 100, end="2022-03-01",
                  obs=[_blood("2022-03-01", 0.4, 120), _blood("2022-03-06", anc, plt)])
    action, dose, _ = _one(_recs(rec, "2022-03-06"))
    assert (action, dose) == expect


@pytest.mark.parametrize(("recovered", "nadir", "dose", "rule"), [
    ("2022-03-08", 120, 100.0, "LABEL.dasatinib.cp.cytopenia.resume"),  # 7 days: <= 7
    ("2022-03-09", 120, 80.0, "LABEL.dasatinib.cp.cytopenia.resume_reduced"),  # 8 days
    ("2022-03-05", 25, 100.0, "LABEL.dasatinib.cp.cytopenia.resume"),  # 25 is not < 25
    ("2022-03-05", 24, 80.0, "LABEL.dasatinib.cp.cytopenia.resume_reduced"),
])
def test_dasatinib_cp_first_episode(recovered: str, nadir: float, dose: float, rule: str) -> None:
    rec = _record("dasatinib", 100, end="2022-03-01",
                  obs=[_blood("2022-03-01", 0.4, 120), _blood("2022-03-03", 0.6, nadir),
                       _blood(recovered, 1.5, 150)])
    assert _one(_recs(rec, recovered)) == ("resume", dose, rule)


def _three_episodes(prior: bool, *, recover_third: bool) -> PatientRecord:
    obs = [_blood("2022-03-01", 0.4, 120), _blood("2022-03-05", 1.5, 150),
           _blood("2022-05-01", 0.4, 120), _blood("2022-05-05", 1.5, 150),
           _blood("2022-07-01", 0.4, 120)]
    if recover_third:
        obs.append(_blood("2022-07-05", 1.5, 150))
    return _record("dasatinib", 100, prior=prior, obs=obs)


def test_dasatinib_third_episode_first_line_resumes_at_50() -> None:
    # episodes 1 (4 days, plt 120: step 1), 2 (step 2), 3 (step 3): newly diagnosed -> 50 mg
    rec = _three_episodes(False, recover_third=True)
    assert _one(_recs(rec, "2022-07-05")) == (
        "resume", 50.0, "LABEL.dasatinib.cp.cytopenia.third_episode")
    # second episode alone: 80 mg
    assert _one(_recs(rec, "2022-05-05"))[1] == 80.0


def test_dasatinib_third_episode_after_imatinib_discontinues() -> None:
    rec = _three_episodes(True, recover_third=False)
    assert _one(_recs(rec, "2022-07-01")) == (
        "discontinue", None, "LABEL.dasatinib.cp.cytopenia.discontinue")
    # the second episode (step 2) is still a hold, not a stop
    assert _one(_recs(rec, "2022-05-01"))[0] == "hold"


@pytest.mark.parametrize(("anc", "plt", "expect"), [
    (0.4, 100, "hold"), (0.5, 100, None), (1.5, 9, "hold"), (1.5, 10, None)])
def test_dasatinib_advanced_trigger(anc: float, plt: float, expect: str | None) -> None:
    rec = _record("dasatinib", 140, obs=[_blood("2022-03-01", anc, plt)])
    recs = _recs(rec, "2022-03-01", Phase.ACCELERATED)
    assert [str(r.action) for r in recs] == ([expect] if expect else [])


@pytest.mark.parametrize(("plt", "expect"), [(20, ("resume", 140.0)), (19, ("hold", None))])
def test_dasatinib_advanced_restart(plt: float, expect: tuple[str, float | None]) -> None:
    rec = _record("dasatinib", 140, end="2022-03-01",
                  obs=[_blood("2022-03-01", 0.4, 100), _blood("2022-03-20", 1.0, plt)])
    action, dose, _ = _one(_recs(rec, "2022-03-20", Phase.BLAST))
    assert (action, dose) == expect
    if action == "hold":
        assert "marrow" in _recs(rec, "2022-03-20", Phase.BLAST)[0].because


# --- nilotinib: ANC < 1.0 and/or plt < 50; restart ANC > 1.0 and plt > 50 (strict) ------------

@pytest.mark.parametrize(("anc", "plt", "expect"), [
    (0.99, 100, "hold"), (1.0, 100, None), (2.0, 49, "hold"), (2.0, 50, None)])
def test_nilotinib_cytopenia_trigger(anc: float, plt: float, expect: str | None) -> None:
    rec = _record("nilotinib", 800, prior=True, obs=[_blood("2022-03-01", anc, plt)])
    assert [str(r.action) for r in _recs(rec, "2022-03-01")] == ([expect] if expect else [])


@pytest.mark.parametrize(("day", "anc", "plt", "expect"), [
    ("2022-03-15", 1.1, 51, ("resume", 800.0)),  # 14 days: within 2 weeks, prior dose
    ("2022-03-16", 1.1, 51, ("resume", 400.0)),  # 15 days: > 2 weeks, 400 mg once daily
    ("2022-03-10", 1.0, 60, ("hold", None)),  # 1.0 is not > 1.0
    ("2022-03-10", 1.5, 50, ("hold", None)),  # 50 is not > 50
])
def test_nilotinib_cytopenia_restart(day: str, anc: float, plt: float,
                                     expect: tuple[str, float | None]) -> None:
    rec = _record("nilotinib", 800, prior=True, end="2022-03-01",
                  obs=[_blood("2022-03-01", 0.5, 100), _blood(day, anc, plt)])
    action, dose, _ = _one(_recs(rec, day))
    assert (action, dose) == expect


def _ecg(date: str, q: float) -> dict[str, Any]:
    return {"date": date, "kind": "ecg", "qtcf_ms": q}


@pytest.mark.parametrize(("q", "expect"), [(481, "hold"), (480, None)])
def test_nilotinib_qtc_trigger(q: float, expect: str | None) -> None:
    rec = _record("nilotinib", 600, obs=[_ecg("2021-12-30", 420), _ecg("2022-02-01", q)])
    assert [str(r.action) for r in _recs(rec, "2022-02-01")] == ([expect] if expect else [])


@pytest.mark.parametrize(("day", "q", "expect"), [
    ("2022-02-10", 440, ("resume", 600.0, "LABEL.nilotinib.qtc.resume")),  # < 450, 20 above 420
    ("2022-02-10", 441, ("hold", None, "LABEL.nilotinib.qtc.hold")),  # 21 ms above baseline
    ("2022-02-10", 450, ("hold", None, "LABEL.nilotinib.qtc.hold")),  # 450 in the first 2 weeks
    ("2022-02-15", 450, ("hold", None, "LABEL.nilotinib.qtc.hold")),  # day 14: not after 2 weeks
    ("2022-02-16", 450, ("resume", 400.0, "LABEL.nilotinib.qtc.resume_reduced")),  # day 15
    ("2022-02-16", 480, ("resume", 400.0, "LABEL.nilotinib.qtc.resume_reduced")),
    ("2022-02-16", 481, ("hold", None, "LABEL.nilotinib.qtc.hold")),
])
def test_nilotinib_qtc_restart(day: str, q: float, expect: tuple[str, float | None, str]) -> None:
    rec = _record("nilotinib", 600, end="2022-02-01",
                  obs=[_ecg("2021-12-30", 420), _ecg("2022-02-01", 490), _ecg(day, q)])
    assert _one(_recs(rec, day)) == expect


def test_nilotinib_qtc_without_baseline_keeps_the_hold() -> None:
    rec = _record("nilotinib", 600, end="2022-02-01",
                  obs=[_ecg("2022-02-01", 490), _ecg("2022-02-10", 430)])
    (r,) = _recs(rec, "2022-02-10")
    assert r.action == Action.HOLD and "no baseline ECG" in r.because


def test_nilotinib_qtc_after_the_reduction_discontinues() -> None:
    reduced = {"drug": "nilotinib", "dose_mg_per_day": 400, "start": "2022-02-17"}
    rec = _record("nilotinib", 600, end="2022-02-01", extra_therapy=[reduced],
                  obs=[_ecg("2021-12-30", 420), _ecg("2022-02-01", 490), _ecg("2022-02-16", 460),
                       _ecg("2022-03-01", 485)])
    assert _one(_recs(rec, "2022-03-01")) == (
        "discontinue", None, "LABEL.nilotinib.qtc.discontinue")
    # 480 after the reduction is not > 480: nothing
    rec2 = _record("nilotinib", 600, end="2022-02-01", extra_therapy=[reduced],
                   obs=[_ecg("2021-12-30", 420), _ecg("2022-02-01", 490),
                        _ecg("2022-02-16", 460), _ecg("2022-03-01", 480)])
    assert _recs(rec2, "2022-03-01") == []


# --- bosutinib ------------------------------------------------------------------------------

def _chem(date: str, **values: float) -> dict[str, Any]:
    return {"date": date, "kind": "chemistry", **values}


@pytest.mark.parametrize(("alt", "expect"), [(201, "hold"), (200, None)])  # 201/40 = 5.025
def test_bosutinib_liver_trigger(alt: float, expect: str | None) -> None:
    rec = _record("bosutinib", 500, prior=True, obs=[_chem("2022-03-01", alt=alt, alt_uln=40)])
    assert [str(r.action) for r in _recs(rec, "2022-03-01")] == ([expect] if expect else [])


@pytest.mark.parametrize(("day", "alt", "expect"), [
    ("2022-03-20", 100, ("resume", 400.0)),  # 2.5 x ULN: <= 2.5, 19 days
    ("2022-03-20", 101, ("hold", None)),  # 2.525 x ULN
    ("2022-03-29", 100, ("resume", 400.0)),  # 28 days: not longer than 4 weeks
    ("2022-03-30", 100, ("discontinue", None)),  # 29 days
    ("2022-03-30", 150, ("discontinue", None)),  # still high after 29 days
])
def test_bosutinib_liver_restart(day: str, alt: float, expect: tuple[str, float | None]) -> None:
    rec = _record("bosutinib", 500, prior=True, end="2022-03-01",
                  obs=[_chem("2022-03-01", alt=240, alt_uln=40), _chem(day, alt=alt, alt_uln=40)])
    action, dose, _ = _one(_recs(rec, day))
    assert (action, dose) == expect


@pytest.mark.parametrize(("alt", "bili", "alp", "hy"), [
    (120, 2.5, 100, True),  # ALT 3.0 x, bilirubin 2.5 x, ALP 0.83 x
    (119, 2.5, 100, False),  # ALT 2.975 x
    (120, 2.0, 100, False),  # bilirubin 2.0 x is not > 2
    (120, 2.5, 240, False),  # ALP 2.0 x is not < 2
    (120, 2.5, None, False),  # ALP not measured: not evaluable
])
def test_bosutinib_hys_law(alt: float, bili: float, alp: float | None, hy: bool) -> None:
    panel: dict[str, float] = {"alt": alt, "alt_uln": 40, "bilirubin": bili, "bilirubin_uln": 1.0}
    if alp is not None:
        panel |= {"alp": alp, "alp_uln": 120}
    rec = _record("bosutinib", 500, prior=True, obs=[_chem("2022-03-01", **panel)])
    recs = _recs(rec, "2022-03-01")
    assert ([r.rule for r in recs] == ["LABEL.bosutinib.hys_law.discontinue"]) is hy
    if not hy:
        assert recs == []


def _ae(date: str, term: str, grade: int) -> dict[str, Any]:
    return {"date": date, "kind": "adverse_event", "term": term, "grade": grade}


@pytest.mark.parametrize(("grades", "expect"), [
    ([3], ("hold", None)), ([2], None), ([4, 2], ("hold", None)), ([3, 1], ("resume", 400.0))])
def test_bosutinib_diarrhea(grades: list[int], expect: tuple[str, float | None] | None) -> None:
    days = ["2022-03-01", "2022-03-08"]
    rec = _record("bosutinib", 500, prior=True, end="2022-03-01",
                  events=[_ae(d, "diarrhea", g) for d, g in zip(days, grades, strict=False)])
    recs = _recs(rec, days[len(grades) - 1])
    assert (_one(recs)[:2] if expect else recs) == (expect if expect else [])


@pytest.mark.parametrize(("day", "dose"), [("2022-03-15", 500.0), ("2022-03-16", 400.0)])
def test_bosutinib_cytopenia(day: str, dose: float) -> None:
    # withheld 2022-03-01 (ANC 0.9 < 1.0); recovery 14 days: same dose; 15 days: 100 mg less
    rec = _record("bosutinib", 500, prior=True, end="2022-03-01",
                  obs=[_blood("2022-03-01", 0.9, 100), _blood(day, 1.0, 50)])
    assert _one(_recs(rec, day))[:2] == ("resume", dose)


def test_bosutinib_cytopenia_recurrence_reduces_by_100() -> None:
    # episode 1: 03-01 to 03-05 (4 days, same dose); episode 2 (platelets 49 < 50) from 05-01,
    # recovered 05-06: a further 100 mg less than the 500 mg taken -> 400 mg
    rec = _record("bosutinib", 500, prior=True, end="2022-05-01",
                  obs=[_blood("2022-03-01", 0.9, 100), _blood("2022-03-05", 1.5, 100),
                       _blood("2022-05-01", 1.5, 49), _blood("2022-05-06", 1.2, 60)])
    assert _one(_recs(rec, "2022-05-06")) == (
        "resume", 400.0, "LABEL.bosutinib.cytopenia.resume_recurrence")


# --- ponatinib ------------------------------------------------------------------------------

@pytest.mark.parametrize(("anc", "plt", "expect"), [
    (1.5, 75, ("resume", 45.0)), (1.49, 80, ("hold", None)), (2.0, 74, ("hold", None))])
def test_ponatinib_cytopenia_restart(anc: float, plt: float,
                                     expect: tuple[str, float | None]) -> None:
    rec = _record("ponatinib", 45, prior=True, end="2022-03-01",
                  obs=[_blood("2022-03-01", 0.9, 100), _blood("2022-03-10", anc, plt)])
    assert _one(_recs(rec, "2022-03-10"))[:2] == expect


@pytest.mark.parametrize(("anc", "plt", "expect"), [
    (0.99, 100, "hold"), (1.0, 100, None), (2.0, 49, "hold"), (2.0, 50, None)])
def test_ponatinib_cytopenia_trigger(anc: float, plt: float, expect: str | None) -> None:
    rec = _record("ponatinib", 45, prior=True, obs=[_blood("2022-03-01", anc, plt)])
    assert [str(r.action) for r in _recs(rec, "2022-03-01")] == ([expect] if expect else [])


def test_ponatinib_second_occurrence_resumes_at_30() -> None:
    rec = _record("ponatinib", 45, prior=True, end="2022-05-01",
                  obs=[_blood("2022-03-01", 0.9, 100), _blood("2022-03-10", 1.6, 100),
                       _blood("2022-05-01", 0.9, 100), _blood("2022-05-10", 1.6, 100)])
    assert _one(_recs(rec, "2022-05-10")) == (
        "resume", 30.0, "LABEL.ponatinib.cytopenia.resume_recurrence")


@pytest.mark.parametrize(("grades", "expect"), [
    ([1], ("hold", None, "LABEL.ponatinib.aoe_cardiac.grade1")),
    ([1, 0], ("resume", 45.0, "LABEL.ponatinib.aoe_cardiac.grade1")),
    ([1, 1], ("hold", None, "LABEL.ponatinib.aoe_cardiac.grade1")),  # not yet resolved
    ([2, 1], ("resume", 30.0, "LABEL.ponatinib.aoe_cardiac.grade2")),
    ([2, 2], ("hold", None, "LABEL.ponatinib.aoe_cardiac.grade2")),
    ([3], ("discontinue", None, "LABEL.ponatinib.aoe_cardiac.grade3")),
    ([2, 1, 1], ("discontinue", None, "LABEL.ponatinib.aoe_cardiac.recurrence")),
])
def test_ponatinib_cardiac_aoe(grades: list[int], expect: tuple[str, float | None, str]) -> None:
    days = ["2022-03-01", "2022-03-20", "2022-06-01"]
    rec = _record("ponatinib", 45, prior=True, end="2022-03-01",
                  events=[_ae(d, "arterial_occlusion_cardiac", g)
                          for d, g in zip(days, grades, strict=False)])
    # the third event (a recurrence) is on a restarted row at 30 mg
    if len(grades) == 3:
        rec = rec.model_copy(update={"therapy": (*rec.therapy, *PatientRecord.model_validate({
            "id": "x", "therapy": [{"drug": "ponatinib", "dose_mg_per_day": 30,
                                    "start": "2022-03-21"}]}).therapy)})
    assert _one(_recs(rec, days[len(grades) - 1])) == expect


@pytest.mark.parametrize(("grades", "expect"), [
    ([2, 1], ("resume", 45.0, "LABEL.ponatinib.aoe_peripheral.grade2")),  # same dose
    ([1, 0], ("resume", 45.0, "LABEL.ponatinib.aoe_peripheral.grade1")),
    ([2, 1, 2, 1], ("resume", 30.0, "LABEL.ponatinib.aoe_peripheral.recurrence")),
])
def test_ponatinib_peripheral_aoe(grades: list[int],
                                  expect: tuple[str, float | None, str]) -> None:
    days = ["2022-03-01", "2022-03-10", "2022-05-01", "2022-05-10"]
    rec = _record("ponatinib", 45, prior=True, end=days[len(grades) - 2],
                  events=[_ae(d, "arterial_occlusion_peripheral", g)
                          for d, g in zip(days, grades, strict=False)])
    assert _one(_recs(rec, days[len(grades) - 1])) == expect


# --- asciminib ------------------------------------------------------------------------------

@pytest.mark.parametrize(("dose", "day", "expect"), [
    (80, "2022-03-15", ("resume", 80.0, "LABEL.asciminib.cytopenia.resume")),  # 14 days
    (80, "2022-03-16", ("resume", 40.0, "LABEL.asciminib.cytopenia.resume_reduced")),  # 15 days
    (400, "2022-03-16", ("resume", 320.0, "LABEL.asciminib.cytopenia.resume_reduced")),  # T315I
    (40, "2022-03-16", ("discontinue", None, "LABEL.asciminib.minimum_dose")),
])
def test_asciminib_cytopenia(dose: float, day: str,
                             expect: tuple[str, float | None, str]) -> None:
    rec = _record("asciminib", dose, prior=True, end="2022-03-01",
                  obs=[_blood("2022-03-01", 0.9, 100), _blood(day, 1.0, 50)])
    assert _one(_recs(rec, day)) == expect


@pytest.mark.parametrize(("lipase", "expect"), [(121, "hold"), (120, None)])  # 121/60 = 2.017
def test_asciminib_pancreas_trigger(lipase: float, expect: str | None) -> None:
    rec = _record("asciminib", 80, prior=True,
                  obs=[_chem("2022-03-01", lipase=lipase, lipase_uln=60)])
    assert [str(r.action) for r in _recs(rec, "2022-03-01")] == ([expect] if expect else [])


def test_asciminib_pancreas_needs_the_panel_uln() -> None:
    rec = _record("asciminib", 80, prior=True, obs=[_chem("2022-03-01", lipase=500)])
    assert _recs(rec, "2022-03-01") == []  # no ULN: not evaluable, never a default


@pytest.mark.parametrize(("lipase", "expect"), [(89, ("resume", 40.0)), (90, ("hold", None))])
def test_asciminib_pancreas_restart(lipase: float, expect: tuple[str, float | None]) -> None:
    # 89/60 = 1.483 < 1.5: resolved; 90/60 = 1.5 is not < 1.5
    rec = _record("asciminib", 80, prior=True, end="2022-03-01",
                  obs=[_chem("2022-03-01", lipase=150, lipase_uln=60),
                       _chem("2022-03-08", lipase=lipase, lipase_uln=60)])
    assert _one(_recs(rec, "2022-03-08"))[:2] == expect


def test_asciminib_pancreas_recurrence_at_the_reduced_dose_discontinues() -> None:
    reduced = {"drug": "asciminib", "dose_mg_per_day": 40, "start": "2022-03-09"}
    rec = _record("asciminib", 80, prior=True, end="2022-03-01", extra_therapy=[reduced],
                  obs=[_chem("2022-03-01", lipase=150, lipase_uln=60),
                       _chem("2022-03-08", lipase=60, lipase_uln=60),
                       _chem("2022-05-01", amylase=250, amylase_uln=100)])
    assert _one(_recs(rec, "2022-05-01")) == (
        "discontinue", None, "LABEL.asciminib.pancreas.discontinue")


# --- scope, tables, the assessment ----------------------------------------------------------

def test_rules_apply_only_to_the_most_recent_tki() -> None:
    later = {"drug": "imatinib", "dose_mg_per_day": 400, "start": "2022-04-01"}
    rec = _record("dasatinib", 100, end="2022-03-31", extra_therapy=[later],
                  obs=[_blood("2022-03-01", 0.4, 120), _blood("2022-04-02", 0.4, 120)])
    assert _recs(rec, "2022-04-02") == []  # imatinib's own label judges 04-02
    assert _one(_recs(rec, "2022-03-01"))[0] == "hold"  # while dasatinib was the latest TKI


def test_every_table_cites_its_label() -> None:
    names = {"dasatinib": "SPRYCEL", "nilotinib": "TASIGNA", "bosutinib": "BOSULIF",
             "ponatinib": "ICLUSIG", "asciminib": "SCEMBLIX"}
    for drug in DRUGS:
        t = table(drug)
        assert t.rows and all(names[drug] in r.source for r in t.rows.values())
        assert all(r.id.startswith(f"LABEL.{drug}.") for r in t.rows.values())


def test_assessment_carries_the_discontinue_and_the_explanation() -> None:
    rec = _record("ponatinib", 45, prior=True,
                  events=[_ae("2022-03-01", "arterial_occlusion_cardiac", 3)])
    a = assess(rec)
    stop = [r for r in a.recommendations if r.action == Action.DISCONTINUE]
    assert [r.rule for r in stop] == ["LABEL.ponatinib.aoe_cardiac.grade3"]
    assert "grade 3" in stop[0].because and "ponatinib 45 mg/day" in stop[0].because
    assert all(r.action != Action.CONTINUE for r in a.recommendations)
