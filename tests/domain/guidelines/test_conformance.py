"""Runs the clinician-reviewable ELN conformance tables in tests/cases/eln20xx.yaml.

Each case is a short history (months from the first TKI start), the expected judgements, and
the source cell the expectation comes from. Expected values were derived by hand from the
milestone tables in clinical-rules.md section 5 and the conventions of section 14.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from cmltrack.domain.enums import Guideline
from cmltrack.domain.guidelines import assess_eln
from cmltrack.domain.options import AssessOptions

# The history builder lives beside the tests (pytest runs with --import-mode=importlib).
sys.path.insert(0, str(Path(__file__).resolve().parent))
from eln_history import build_history, day_of

CASES = Path(__file__).resolve().parents[2] / "cases"
EDITIONS = [p.stem for p in sorted(CASES.glob("eln20*.yaml"))]
EXPECT_KEYS = {
    "milestones", "milestone_dates", "rules", "status", "events", "no_events", "actions", "drug",
}


def _load() -> list[Any]:
    params = []
    for name in EDITIONS:
        data = yaml.safe_load((CASES / f"{name}.yaml").read_text(encoding="utf-8"))
        assert data["edition"] == name.upper()
        for case in data["cases"]:
            params.append(pytest.param(data["edition"], case, id=f"{name}: {case['name']}"))
    return params


@pytest.mark.parametrize(("edition", "case"), _load())
def test_conformance(edition: str, case: dict[str, Any]) -> None:
    assert case.get("cell"), "every case names the source cell it comes from"
    expect = case["expect"]
    assert set(expect) <= EXPECT_KEYS, set(expect) - EXPECT_KEYS
    record, tps, as_of = build_history(case)
    options = AssessOptions(guideline=Guideline(edition), **case.get("options", {}))
    result = assess_eln(record, tps, options=options, as_of=as_of)
    got = {m.month: str(m.status) for m in result.milestones}
    for month, status in (expect.get("milestones") or {}).items():
        assert got.get(int(month)) == status, (month, result.milestones)
    for month, when in (expect.get("milestone_dates") or {}).items():
        ms = next(m for m in result.milestones if m.month == int(month))
        assert ms.date == (None if when is None else day_of(when)), ms
    for month, rule in (expect.get("rules") or {}).items():
        assert next(m.rule for m in result.milestones if m.month == int(month)) == rule
    if "status" in expect:
        assert (None if result.status is None else str(result.status)) == expect["status"], (
            result.trail
        )
    events = [(str(e.kind), e.date) for e in result.events]
    for ev in expect.get("events") or []:
        assert (ev["kind"], day_of(ev)) in events, events
    for kind in expect.get("no_events") or []:
        assert kind not in {k for k, _ in events}, events
    if "actions" in expect:
        assert sorted({str(r.action) for r in result.recommendations}) == sorted(
            expect["actions"]
        ), result.recommendations
    if "drug" in expect:
        switch = next(r for r in result.recommendations if str(r.action) == "switch_tki")
        assert switch.drug == expect["drug"]
