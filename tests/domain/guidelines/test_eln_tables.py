"""The ELN milestone tables load, validate, and refuse broken rows."""

from __future__ import annotations

import copy
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cmltrack.domain.enums import Guideline, MilestoneStatus
from cmltrack.errors import RuleTableError
from cmltrack.rules.guideline_tables import (
    NUMERIC_MEASURES,
    load_guideline_table,
    parse_guideline_table,
)
from cmltrack.rules.loader import load_table

EDITIONS = list(Guideline)


@pytest.mark.parametrize("edition", EDITIONS)
def test_every_edition_loads_with_unique_cited_rows(edition: Guideline) -> None:
    table = load_guideline_table(edition)
    ids = [r.id for r in table.rows]
    assert len(ids) == len(set(ids))
    assert all(r.id.startswith(edition.value + ".") for r in table.rows)
    assert all(r.source.strip() and r.wording.strip() for r in table.rows)
    assert table.citation


def test_windows_are_the_section_14_convention() -> None:
    # clinical-rules section 14: 3 mo 2.0-4.5; 6 mo 4.5-8.0; 12 mo 10.0-15.0; 18 mo 15.0-21.0.
    expected = {3: (2.0, 4.5), 6: (4.5, 8.0), 12: (10.0, 15.0), 18: (15.0, 21.0)}
    for edition in EDITIONS:
        for lm in load_guideline_table(edition).landmarks:
            assert (lm.start, lm.end) == expected[lm.month]
    assert [lm.month for lm in load_guideline_table(Guideline.ELN2020).landmarks] == [3, 6, 12]
    assert [lm.month for lm in load_guideline_table(Guideline.ELN2006).landmarks] == [3, 6, 12, 18]


def test_loss_of_mmr_confirmation_differs_by_edition() -> None:
    t13 = load_guideline_table(Guideline.ELN2013)
    t20 = load_guideline_table(Guideline.ELN2020)
    assert (t13.loss_of_mmr_consecutive, t13.loss_of_mmr_one_at_least) == (2, 1.0)
    assert (t20.loss_of_mmr_consecutive, t20.loss_of_mmr_one_at_least) == (1, None)


def _raw(edition: str) -> dict[str, Any]:
    return copy.deepcopy(load_table(edition.lower()))


def _row(data: dict[str, Any], rid: str) -> dict[str, Any]:
    return next(r for r in data["rows"] if r["id"] == rid)


def test_duplicate_id_refused() -> None:
    data = _raw("ELN2020")
    data["rows"].append(copy.deepcopy(data["rows"][0]))
    with pytest.raises(RuleTableError, match="duplicate"):
        parse_guideline_table("ELN2020", data)


def test_uncited_row_refused() -> None:
    data = _raw("ELN2020")
    del _row(data, "ELN2020.6mo.warning")["source"]
    with pytest.raises(RuleTableError, match="source"):
        parse_guideline_table("ELN2020", data)


def test_gap_between_bands_refused() -> None:
    data = _raw("ELN2020")
    # 6 mo warning ">1-10%" shrunk to ">1-9%": 9-10% would fall in no cell.
    _row(data, "ELN2020.6mo.warning")["conditions"][0]["range"] = [">", 1, "<=", 9]
    with pytest.raises(RuleTableError, match="gap"):
        parse_guideline_table("ELN2020", data)


def test_overlapping_bands_refused() -> None:
    data = _raw("ELN2013")
    # 6 mo optimal "<1%" widened to "<=1%": 1.0% would be both optimal and warning.
    _row(data, "ELN2013.6mo.optimal")["conditions"][0]["op"] = "<="
    with pytest.raises(RuleTableError, match="overlap"):
        parse_guideline_table("ELN2013", data)


def test_overlapping_categories_refused() -> None:
    data = _raw("ELN2006")
    _row(data, "ELN2006.3mo.suboptimal")["conditions"][0]["in"] = ["PHR", "none"]
    with pytest.raises(RuleTableError, match="both"):
        parse_guideline_table("ELN2006", data)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"fact": "loss_of_everything"}, "unknown fact"),
        ({"measure": "bcr_abl1_is", "op": "~", "value": 1}, "op"),
        ({"measure": "hematologic", "in": ["CCyR"]}, "hematologic"),
        ({"measure": "bcr_abl1_is", "op": "<=", "value": 10, "colour": "red"}, "unknown"),
        ({"fact": "mutation", "list": "no_such_list"}, "no list"),
    ],
)
def test_malformed_condition_refused(change: dict[str, Any], message: str) -> None:
    data = _raw("ELN2020")
    _row(data, "ELN2020.any_time.failure.mutation")["conditions"] = [change]
    with pytest.raises(RuleTableError, match=message):
        parse_guideline_table("ELN2020", data)


def test_unknown_time_and_status_refused() -> None:
    data = _raw("ELN2020")
    _row(data, "ELN2020.6mo.warning")["time"] = 9
    with pytest.raises(RuleTableError, match="time"):
        parse_guideline_table("ELN2020", data)
    data = _raw("ELN2020")
    _row(data, "ELN2020.6mo.warning")["status"] = "pending"
    with pytest.raises(RuleTableError, match="judgement"):
        parse_guideline_table("ELN2020", data)


def _band_statuses(edition: Guideline, time: Any, measure: str, x: float) -> list[str]:
    table = load_guideline_table(edition)
    hits = []
    for row in table.rows_at(time):
        if row.confirm_within_months is not None:
            continue
        for c in row.conditions:
            if c.measure == measure and c.interval is not None and c.interval.contains(x):
                hits.append(row.id)
    return hits


_BANDED = [
    (ed, time, measure)
    for ed in EDITIONS
    for time in {r.time for r in load_guideline_table(ed).rows}
    for measure in NUMERIC_MEASURES
    if any(c.measure == measure and c.interval is not None
           for r in load_guideline_table(ed).rows_at(time) for c in r.conditions)
]


@given(
    case=st.sampled_from(_BANDED),
    x=st.one_of(
        st.floats(min_value=0, max_value=100, allow_nan=False),
        st.sampled_from([0.0, 0.1, 0.1001, 1.0, 1.01, 10.0, 10.01, 35.0, 35.5, 65.0, 95.0, 96.0]),
    ),
)
def test_every_value_falls_in_exactly_one_band(case: tuple[Guideline, Any, str], x: float) -> None:
    edition, time, measure = case
    assert len(_band_statuses(edition, time, measure, x)) == 1


def test_band_contains_respects_strictness() -> None:
    t = load_guideline_table(Guideline.ELN2013)
    opt6 = next(r for r in t.rows if r.id == "ELN2013.6mo.optimal").conditions[0].interval
    assert opt6 is not None
    assert opt6.contains(0.99) and not opt6.contains(1.0)  # ELN 2013 6 mo optimal is "<1%"
    opt3 = next(r for r in t.rows if r.id == "ELN2013.3mo.optimal").conditions[0].interval
    assert opt3 is not None
    assert opt3.contains(10.0) and not opt3.contains(10.01)  # 3 mo optimal is "<=10%"
    assert math.isinf(opt3.hi) is False


def test_statuses_are_judgements_only() -> None:
    for edition in EDITIONS:
        for row in load_guideline_table(edition).rows:
            assert row.status not in (MilestoneStatus.PENDING, MilestoneStatus.NOT_EVALUABLE)


def test_mutation_table_loads_and_judges_resistance_by_drug() -> None:
    from cmltrack.rules.guideline_tables import load_mutation_table

    table = load_mutation_table()
    assert "NCCN" in table.citation and table.verification.startswith("V2")
    # Every kinase-domain mutation counts against imatinib; T315I against every 2G TKI only.
    assert table.resists("M351T", "imatinib") and table.resists("M351T", None)
    assert table.resists("T315I", "nilotinib") and not table.resists("T315I", "ponatinib")
    assert table.resists("E255K", "nilotinib") and not table.resists("E255K", "dasatinib")
    assert table.resists("F317L", "dasatinib") and not table.resists("F317L", "nilotinib")
    # clinical-rules-2 section 3: later NCCN lists add F317L and G250E against bosutinib, and
    # bosutinib stays an option for E255K/V; nothing is listed against ponatinib or asciminib.
    assert table.resists("F317L", "bosutinib") and table.resists("G250E", "bosutinib")
    assert not table.resists("E255V", "bosutinib")
    assert table.insensitive["ponatinib"] == table.insensitive["asciminib"] == frozenset()
    assert table.avoid(["T315I", "Y253H"]) == {
        "bosutinib": ("T315I",), "dasatinib": ("T315I",), "nilotinib": ("T315I", "Y253H")}
