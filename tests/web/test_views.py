"""The pages' view-models and sessions, without a browser (worked examples by hand)."""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path
from typing import Any

import pytest

from cmltrack.domain.assess import assess
from cmltrack.io import read_records
from cmltrack.web import session as sessions
from cmltrack.web import views

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "src/cmltrack/examples"


def example(pid: str) -> tuple[Any, dict[str, Any]]:
    rec = next(r for r in read_records(EXAMPLES / "patients.jsonl") if r.id == pid)
    data = next(r for r in json.loads((EXAMPLES / "patients.json").read_text()) if r["id"] == pid)
    return rec, data


def test_last_pcr_reads_value_undetected_and_units() -> None:
    rec = {"observations": [
        {"date": "2020-01-01", "kind": "pcr", "bcr_abl1_is": 0.5},
        {"date": "2020-04-01", "kind": "pcr", "detected": False, "control_gene": "ABL1",
         "control_copies": 85000},
        {"date": "2020-04-01", "kind": "blood", "wbc": 5.0},
    ]}
    assert views.last_pcr(rec) == ("2020-04-01", "undetected, 85,000 ABL1 copies")
    rec["observations"].append({"date": "2020-04-01", "kind": "pcr", "bcr_abl1_is": 0.012})
    assert views.last_pcr(rec) == ("2020-04-01", "0.012% IS")  # the later row of a day wins
    assert views.last_pcr({"observations": []}) == (None, "no PCR")


def test_row_takes_urgency_from_the_service_item_and_ranks_the_rest() -> None:
    a = {"patient_id": "X", "as_of": "2024-07-01", "therapy_start": "2023-07-01",
         "current": {"status": "warning", "drug": "imatinib", "dose_mg_per_day": 400.0,
                     "phase": "chronic"},
         "recommendations": [{"action": "continue", "rule": "r0", "source": "s"}],
         "next_due": {"pcr": "2024-06-01", "blood": "2024-07-10", "marrow": None,
                      "overdue": ["pcr"], "basis": {}}}
    item = {"urgency": 3, "reasons": ["warning", "pcr_overdue"],
            "top_recommendation": {"action": "repeat_pcr", "rule": "r1", "source": "s1"}}
    row = views.worklist_row({"observations": []}, a, item)
    assert (row.urgency, row.top_action, row.top_rule) == (3, "repeat_pcr", "r1")
    # 2023-07-01 to 2024-07-01 is 366 days = 12.02 months of 30.4375 days.
    assert row.months_on_therapy == 12.0
    # 2024-06-01 is 30 days before 2024-07-01; the blood count is due, not overdue.
    assert [(d.test, d.days_overdue) for d in row.due or ()] == [("pcr", 30), ("blood", None)]
    assert row.days_overdue == 30
    quiet = views.worklist_row({"observations": []}, a | {"next_due": None}, None)
    assert (quiet.urgency, quiet.due) == (6, None)
    dead = views.worklist_row(
        {"events": [{"date": "2024-05-01", "kind": "death"}]}, a, None)
    assert (dead.urgency, dead.died) == (7, "2024-05-01")
    rows = views.sort_worklist([dead, quiet, row])
    assert [r.urgency for r in rows] == [3, 6, 7]


def test_chart_data_p01_undetected_at_sensitivity_and_zones() -> None:
    rec, data = example("P01")
    a = assess(rec)
    chart = views.chart_data(rec, a)
    pcrs = [o for o in data["observations"] if o["kind"] == "pcr"]
    assert len(chart["points"]) == len(pcrs)
    for p in chart["points"]:
        obs = next(o for o in pcrs if o["date"] == p["date"])
        if obs.get("detected") is False:
            # 1 copy in c ABL1 copies = 100/c % IS (MR4: 10,000 copies = 0.01%).
            assert p["value"] == pytest.approx(100 / obs["control_copies"])
            assert p["detected"] is False
        else:
            assert p["value"] == obs["bcr_abl1_is"] and p["detected"] is True
    # ELN 2020 windows from the imatinib start (2016-03-21): 3 mo 2.0-4.5, 6 mo 4.5-8.0,
    # 12 mo 10.0-15.0, "any time" from 15 months.
    assert [(z["label"], z["start"]) for z in chart["zones"]] == [
        ("3 mo", 2.0), ("6 mo", 4.5), ("12 mo", 10.0), ("any time", 15.0)]
    assert [(z["status"], z["text"]) for z in chart["zones"][2]["bands"]] == [
        ("optimal", "<= 0.1%"), ("warning", "> 0.1-1%"), ("failure", "> 1%")]
    assert [(m["label"], m["value"]) for m in chart["lines"]] == [
        ("MMR", 0.1), ("MR4", 0.01), ("MR4.5", 0.0032)]
    assert chart["therapy"][0]["label"] == "IM 400"


def test_session_cookie_round_trip_and_tampering() -> None:
    key = b"k" * 32
    s = sessions.Session.signed_in("dr-lee", "clinician", "ab" * 32)
    value = sessions.encode(s, key)
    assert sessions.decode(value, key) == s
    assert sessions.decode(value, b"other" * 8) is None
    _, _, sig = value.partition(".")
    forged = sessions.encode(sessions.Session("dr-lee", "admin", "ab" * 32, s.csrf, s.expires),
                             b"attacker-key").partition(".")[0]
    assert sessions.decode(f"{forged}.{sig}", key) is None
    assert sessions.decode(value, key, now=time.time() + sessions.MAX_AGE_S + 1) is None
    assert sessions.csrf_ok(s, s.csrf) and not sessions.csrf_ok(s, "") \
        and not sessions.csrf_ok(s, s.csrf + "x")


def test_survival_curves_match_the_stats_module() -> None:
    from cmltrack.stats import kaplan_meier
    from cmltrack.stats.tables import derive_cohort_tables

    records = list(read_records(EXAMPLES / "patients.jsonl"))
    table, _ = derive_cohort_tables(records)
    curves = views.survival_curves(table, [0, 12, 24])
    os_rows = table[table.PARAMCD == "OS"]
    km = kaplan_meier(os_rows.AVAL, 1 - os_rows.CNSR, at=[0, 12, 24]).groups[0]
    os_curve = next(k for k in curves["km"] if k["endpoint"] == "OS")
    assert os_curve["at_risk"] == [x.at_risk for x in km.at]
    # One death among the twelve (P11, README): OS has exactly one step below 1.
    assert os_curve["events"] == 1 and len(os_curve["steps"]) == 2
    assert [c["response"] for c in curves["cif"]] == ["MMR", "MR4.5"]


def test_no_zone_after_death_p11() -> None:
    # P11 started imatinib 2016-09-05 and died 2018-10-03 (README); its current line,
    # ponatinib, started 2018-06-22. ELN 2020's 3-month window of that line opens at 2.0
    # months after 2018-06-22, i.e. 2018-08-22, before the death: drawn, and cut at the death.
    # The 6-month window opens 4.5 months after the start, 2018-11-06, after it: not drawn.
    rec, _ = example("P11")
    chart = views.chart_data(rec, assess(rec, as_of=dt.date(2024, 1, 1)))
    death = (dt.date(2018, 10, 3) - dt.date(2016, 9, 5)).days / 30.4375
    assert [z["label"] for z in chart["zones"]] == ["3 mo"]
    assert chart["zones"][0]["end"] == pytest.approx(death, abs=1e-3)


def test_explain_items_in_a_clinicians_words() -> None:
    rec, _data = example("P04")
    items = views.explain_items(assess(rec))
    texts = [i.text for i in items]
    # P04 lost MMR on 2018-03-08 and had T315I on 2018-05-08: events by name, not by field.
    assert any(t.startswith("event: Loss of MMR: BCR::ABL1 0.35% IS") for t in texts)
    assert any(t.startswith("event: New BCR::ABL1 mutation") for t in texts)
    assert not any("loss_of_mmr" in t or "new_mutation" in t for t in texts)
    assert not any("(≤10%)" in t or "<=" in t for t in texts)  # a bound stated once
