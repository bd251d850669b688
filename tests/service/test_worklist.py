"""Worklist urgency and the CDS card's indicator: progression is an event on therapy, not the
phase the patient presented in. Expected values worked by hand from the bundled example clinic
(src/cmltrack/examples/README.md)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("sqlalchemy")

from cmltrack.service import core
from cmltrack.service.cds_cards import indicator
from cmltrack.service.worklist import worklist_item

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = {r["id"]: r for r in json.loads(
    (ROOT / "src/cmltrack/examples/patients.json").read_text())}


def assessed(record: dict[str, Any], day: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The assessment as the API serves it and the patient's worklist item on ``day``."""
    req = core.assessment_request({"as_of": day})
    a: dict[str, Any] = json.loads(core.assessment_json(core.validate(record), req))
    return a, worklist_item(record, a, dt.date.fromisoformat(day))


def test_accelerated_phase_at_diagnosis_is_not_progression() -> None:
    # P10 presented in accelerated phase (blood blasts 18%, basophils 22%), imatinib 600 mg
    # from 2021-04-12, MMR on 2022-10-12: optimal, no progression since. Its last PCR was
    # 2022-10-12, so on 2023-02-01 the 3-monthly PCR (due 2023-01-11) is 21 days overdue:
    # urgency 4 (test overdue), not 1.
    a, item = assessed(EXAMPLES["P10"], "2023-02-01")
    assert a["current"]["phase"] == "accelerated" and a["current"]["status"] == "optimal"
    assert item is not None
    assert (item["urgency"], item["reasons"]) == (4, ["pcr_overdue"])
    assert item["due"][0]["days_overdue"] == 21
    assert indicator(a) != "critical"
    # Six weeks after that PCR nothing is due yet: P10 is not on the worklist at all.
    assert assessed(EXAMPLES["P10"], "2022-11-20")[1] is None


def test_a_progression_on_therapy_is_urgency_1() -> None:
    # P11 progressed to blast phase on 2018-06-18 while on nilotinib (README).
    a, item = assessed(EXAMPLES["P11"], "2018-08-01")
    assert item is not None and item["urgency"] == 1 and item["reasons"][0] == "progression"
    assert indicator(a) == "critical"
    # P10 with a reported progression to blast phase on 2022-11-01 (after MMR): urgency 1.
    p10 = dict(EXAMPLES["P10"], events=[
        {"date": "2022-11-01", "kind": "progression", "phase": "blast"}])
    a, item = assessed(p10, "2022-11-20")
    assert item is not None and item["urgency"] == 1 and item["reasons"][0] == "progression"
    assert indicator(a) == "critical"


def test_a_label_discontinuation_is_urgent_and_critical() -> None:
    # Ponatinib 45 mg after imatinib resistance; a grade 3 cardiovascular arterial occlusive
    # event on 2022-03-01: the ICLUSIG label discontinues ponatinib (grade 3 or 4).
    record = {
        "id": "AOE1", "diagnosis": {"date": "2019-12-01", "phase": "chronic"},
        "therapy": [
            {"drug": "imatinib", "dose_mg_per_day": 400, "start": "2020-01-01",
             "end": "2021-12-31", "reason_end": "resistance"},
            {"drug": "ponatinib", "dose_mg_per_day": 45, "start": "2022-01-01"}],
        "events": [{"date": "2022-03-01", "kind": "adverse_event",
                    "term": "arterial_occlusion_cardiac", "grade": 3}]}
    a, item = assessed(record, "2022-03-02")
    stop = [r for r in a["recommendations"] if r["action"] == "discontinue"]
    assert [r["rule"] for r in stop] == ["LABEL.ponatinib.aoe_cardiac.grade3"]
    assert item is not None and "discontinue" in item["reasons"] and item["urgency"] <= 2
    assert indicator(a) == "critical"


def test_order_sign_refuses_a_drug_the_label_discontinued() -> None:
    from cmltrack.service.cds_cards import order_sign_card

    a = {"current": {"status": "warning", "drug": "ponatinib"}, "recommendations": [
        {"action": "discontinue", "drug": "ponatinib", "dose_mg_per_day": None,
         "rule": "LABEL.ponatinib.aoe_cardiac.grade3", "source": "ICLUSIG USPI 2.2",
         "because": "arterial occlusion cardiac grade 3"}]}
    order = {"id": "mr-p1"}
    card = order_sign_card(order, "ponatinib", 45.0, a, "chronic", "Patient/X")
    assert card is not None and card["indicator"] == "critical"
    (s,) = card["suggestions"]
    assert s["label"].startswith("Discontinue")
    assert [x["type"] for x in s["actions"]] == ["delete"]  # no blood count for an AOE
