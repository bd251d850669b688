"""The shared pieces of the guideline engines' performance pass: observations by kind, PCR
levels found once, a trail written on demand, and the record checks' cheaper hooks."""

from __future__ import annotations

import datetime as dt
import pickle
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from cmltrack.domain.enums import MolecularResponse as MR
from cmltrack.domain.guidelines.events import pcr_values
from cmltrack.domain.records import ObservationIndex, PatientRecord
from cmltrack.domain.results import LazyLines, Timepoint

_KINDS = ("blood", "cytogenetics", "mutation", "chemistry", "pcr", "marrow")


def _obs(kind: str, day: str, n: int) -> dict[str, Any]:
    """A valid observation of ``kind``; ``n`` tells apart two of one kind on one day."""
    base: dict[str, Any] = {"date": day, "kind": kind}
    extra: dict[str, Any] = {
        "blood": {"wbc": 5.0 + n},
        "cytogenetics": {"ph_pos": n % 20, "metaphases": 20},
        "mutation": {"mutations": ["T315I"] if n % 2 else []},
        "chemistry": {"alt": 10.0 + n},
        "pcr": {"bcr_abl1_is": 0.1 * n},
        "marrow": {"blasts_bm": 1.0},
    }[kind]
    return base | extra


def test_index_sorts_each_kind_by_date_ties_in_record_order() -> None:
    record = PatientRecord.model_validate({"id": "X", "observations": [
        _obs("blood", "2021-03-01", 1),
        _obs("pcr", "2021-01-01", 1),
        _obs("blood", "2021-01-01", 2),
        _obs("blood", "2021-03-01", 3),  # same day as the first: stays after it
        _obs("mutation", "2021-02-01", 1),
    ]})
    index = ObservationIndex.of(record)
    assert [(str(b.date), b.wbc) for b in index.blood] == [
        ("2021-01-01", 7.0), ("2021-03-01", 6.0), ("2021-03-01", 8.0)]
    assert [str(m.date) for m in index.mutation] == ["2021-02-01"]
    assert index.cytogenetics == () and index.chemistry == ()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(_KINDS), st.integers(0, 5)), max_size=25))
def test_index_is_the_stable_date_sort_of_each_kind(items: list[tuple[str, int]]) -> None:
    obs = [_obs(kind, f"2020-01-0{1 + day}", n) for n, (kind, day) in enumerate(items)]
    record = PatientRecord.model_validate({"id": "X", "observations": obs})
    index = ObservationIndex.of(record)
    in_order = sorted(record.observations, key=lambda o: o.date)  # stable
    for kind in ("blood", "cytogenetics", "mutation", "chemistry"):
        assert list(getattr(index, kind)) == [o for o in in_order if o.kind == kind]


def _tp(day: int, bcr: float | None, mol: MR | None) -> Timepoint:
    return Timepoint(date=dt.date(2021, 1, day), months=None, molecular=mol, bcr_abl1_is=bcr)


def test_pcr_values_keep_measured_and_adequate_undetected_results() -> None:
    # By hand (events.bcr_value): a measured level is itself, an undetected result with
    # adequate sensitivity is 0, an inadequate one and a day without PCR have no level.
    tps = [_tp(1, 0.5, MR.MR2), _tp(2, None, MR.MR4_5), _tp(3, None, MR.INADEQUATE),
           _tp(4, None, None), _tp(5, 0.01, MR.MR4)]
    assert [(tp.date.day, v) for tp, v in pcr_values(tps)] == [(1, 0.5), (2, 0.0), (5, 0.01)]


def test_lazy_lines_are_written_once_when_first_read() -> None:
    calls: list[int] = []

    def write() -> list[str]:
        calls.append(1)
        return ["a", "b"]

    lines = LazyLines(write)
    assert calls == []
    assert list(lines) == ["a", "b"] and lines[-1] == "b" and len(lines) == 2
    assert lines == ("a", "b") and lines != ("a",) and calls == [1]
    joined = LazyLines.join(lines, ("c",), [])
    assert tuple(joined) == ("a", "b", "c") and joined[1:] == ("b", "c")
    back = pickle.loads(pickle.dumps(LazyLines.join(("x",), LazyLines(lambda: ["y"]))))
    assert back == ("x", "y")


def test_units_converted_by_the_record_level_pass() -> None:
    # By hand: 112 g/L is 11.2 g/dL; an ANC of 1500 /uL is 1.5 x10^9/L.
    record = PatientRecord.model_validate({"id": "X", "observations": [
        {"date": "2021-01-01", "kind": "blood", "wbc": 4.0,
         "hemoglobin": {"value": 112, "unit": "g/L"}, "anc": {"value": 1500, "unit": "/uL"}},
        {"date": "2021-01-02", "kind": "blood", "wbc": 4.0, "hemoglobin": 11.2, "anc": 1.5},
    ]})
    a, b = record.observations
    assert a.model_dump(exclude={"date"}) == pytest.approx(b.model_dump(exclude={"date"}))


def test_first_date_before_birth_is_named() -> None:
    with pytest.raises(ValidationError) as exc:
        PatientRecord.model_validate({"id": "X", "birth_date": "1970-01-01", "observations": [
            _obs("pcr", "1971-01-01", 1), _obs("pcr", "1969-01-01", 1),
            _obs("pcr", "1968-01-01", 1)]})
    err = exc.value.errors()[0]
    assert (err["type"], err["msg"]) == (
        "impossible_value", "observations[1].date 1969-01-01 is before birth_date 1970-01-01")
    with pytest.raises(ValidationError) as exc:
        PatientRecord.model_validate({"id": "X", "birth_date": "1970-01-01",
                                      "diagnosis": {"date": "1969-12-31"}})
    assert exc.value.errors()[0]["msg"] == (
        "diagnosis.date 1969-12-31 is before birth_date 1970-01-01")


def test_differential_over_100_is_refused() -> None:
    # By hand: 40 + 30 + 31 = 101% > 100%; 40 + 30 + 30 = 100% is allowed.
    day = {"date": "2021-01-01", "kind": "blood", "blasts_pb": 40, "myelocytes_pb": 30}
    with pytest.raises(ValidationError) as exc:
        PatientRecord.model_validate({"id": "X", "observations": [day | {"basophils_pb": 31}]})
    assert exc.value.errors()[0]["msg"] == "differential percentages add up to 101% (> 100%)"
    PatientRecord.model_validate({"id": "X", "observations": [day | {"basophils_pb": 30}]})


def test_an_assessment_with_an_unread_trail_pickles_whole() -> None:
    # Reports assess in forked workers: the trail, not yet written, travels as its lines.
    from cmltrack.cli.demo import example_path
    from cmltrack.domain.assess import assess
    from cmltrack.io import load_records

    record = next(r for r in load_records(example_path("json")) if r.id == "P02")
    a = assess(record)
    back = pickle.loads(pickle.dumps(a))
    assert back.to_dict() == a.to_dict()
    assert tuple(back.trail) == tuple(assess(record).trail)
    assert any(": standing ELN2020 status: " in line for line in back.trail)


_PAIRS = st.sampled_from([
    {"value": 112, "unit": "g/L"}, {"value": 5}, {"value": None, "unit": "g/L"},  # convertible
    {"value": 5, "unit": "mg"}, {"value": "x", "unit": "g/L"}, {"value": True},  # not
    {"unit": "g/L"}, 7.5, -1, "abc",
])


@st.composite
def _raw_records(draw: st.DrawFn) -> dict[str, Any]:
    def blood() -> dict[str, Any]:
        kind = draw(st.sampled_from(["blood", "chemistry", "bogus", None, {"value": 1}]))
        o: dict[str, Any] = {"date": draw(st.sampled_from(["2020-01-01", "2031-01-01", "x"]))}
        if kind is not None:  # an unknown kind: the model (and its hook) is never reached
            o["kind"] = kind
        for f in ("wbc", "hemoglobin", "alt"):
            if draw(st.booleans()):
                o[f] = draw(_PAIRS)
        return o

    raw: dict[str, Any] = {"id": draw(st.sampled_from(["P1", ""])),
                           "diagnosis": {"hemoglobin": draw(_PAIRS)},
                           "therapy": [{"drug": "imatinib", "start": "2020-01-01",
                                        "dose_mg_per_day": draw(_PAIRS)}],
                           "observations": [blood() for _ in range(draw(st.integers(0, 3)))]}
    if draw(st.booleans()):
        raw["sex"] = draw(st.sampled_from(["F", "Q"]))
    return raw


def _outcome(model: Any, raw: dict[str, Any]) -> Any:
    try:
        return model.model_validate(raw, context={"today": dt.date(2026, 1, 1)}).model_dump()
    except ValidationError as exc:
        return [(e["type"], e["loc"], e["msg"]) for e in exc.errors()]


@settings(max_examples=150, deadline=None)
@given(_raw_records())
def test_record_level_units_give_the_per_model_hooks_outcome(raw: dict[str, Any]) -> None:
    # The per-model hooks' reading (every model converting its own pairs) is the contract: the
    # same record or the same errors, at the same locations, in the same order.
    from cmltrack.domain.records import _hooked_record

    assert _outcome(PatientRecord, raw) == _outcome(_hooked_record(), raw)


def test_a_failed_conversion_is_located_in_its_model() -> None:
    raw = {"id": "X", "sex": "Q", "observations": [
        {"date": "2020-01-01", "kind": "blood", "hemoglobin": {"value": 112, "unit": "g/L"}},
        {"date": "2020-01-02", "kind": "blood", "hemoglobin": {"value": 5, "unit": "mg"},
         "wbc": -1}]}
    with pytest.raises(ValidationError) as exc:
        PatientRecord.model_validate(raw)
    # The sex error first (fields in order), then the one unit error of observations[1]
    # (its model refused whole, so no second error for its wbc).
    assert [(e["type"], e["loc"]) for e in exc.value.errors()] == [
        ("literal_error", ("sex",)), ("bad_unit", ("observations", 1, "blood"))]
