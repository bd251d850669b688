"""The fourth performance pass: the assessment's hot loop asks the value-only classifiers
(``hematologic_response``, ``molecular_response``, ``phase_of_day``), and each timepoint's
evidence is classified when first read. These tests hold the two paths to one answer."""

from __future__ import annotations

import datetime as dt
import pickle
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cmltrack.domain.assess import _day_evidence, build_timepoints
from cmltrack.domain.enums import HematologicResponse as HR
from cmltrack.domain.enums import MolecularResponse as MR
from cmltrack.domain.enums import Phase, PhaseCriteria
from cmltrack.domain.options import AssessOptions
from cmltrack.domain.phase import classify_phase, phase_of_day
from cmltrack.domain.records import BloodCount, Diagnosis, PatientRecord, Pcr
from cmltrack.domain.response import (
    classify_hematologic,
    classify_molecular,
    hematologic_response,
    molecular_response,
)
from cmltrack.domain.results import LazyEvidence, Timepoint

DAY = dt.date(2021, 3, 4)
DX = Diagnosis.model_validate({"date": "2020-01-02", "platelets": 1200, "spleen_cm": 10})

_maybe = st.one_of(st.none(), st.floats(min_value=0, max_value=1000, allow_nan=False))
_pct = st.one_of(st.none(), st.floats(min_value=0, max_value=30, allow_nan=False))


@settings(max_examples=300, deadline=None)
@given(
    wbc=_maybe, platelets=_maybe, blasts=_pct, promyelocytes=_pct, basophils=_pct,
    spleen=st.one_of(st.none(), st.floats(min_value=0, max_value=25, allow_nan=False)),
    definition=st.sampled_from(["eln", "who2016", "mdacc"]),
    basis=st.sampled_from(["excess", "count"]),
    criteria=st.sampled_from(list(PhaseCriteria)),
    on_therapy=st.booleans(),
)
def test_value_only_classifiers_agree_with_the_full_ones(
    wbc: float | None, platelets: float | None, blasts: float | None,
    promyelocytes: float | None, basophils: float | None, spleen: float | None,
    definition: Any, basis: Any, criteria: PhaseCriteria, on_therapy: bool,
) -> None:
    blood = BloodCount.model_validate({
        "date": DAY.isoformat(), "kind": "blood", "wbc": wbc, "platelets": platelets,
        "blasts_pb": blasts, "promyelocytes_pb": promyelocytes, "basophils_pb": basophils,
        "spleen_cm": spleen,
    })
    full = classify_hematologic(blood, baseline=DX, definition=definition,
                                thrombocytosis_basis=basis)
    assert hematologic_response(blood, DX, definition, basis) is full.value
    ph = classify_phase(blood=blood, marrow=None, cyto=None, criteria=criteria,
                        on_therapy=on_therapy)
    assert phase_of_day(blood, None, None, criteria, on_therapy) is ph.value


@settings(max_examples=200, deadline=None)
@given(
    value=st.one_of(st.none(), st.floats(min_value=0, max_value=200, allow_nan=False)),
    copies=st.one_of(st.none(), st.integers(min_value=0, max_value=300_000)),
    gene=st.sampled_from(["ABL1", "GUSB"]),
)
def test_molecular_response_agrees_with_classify_molecular(
    value: float | None, copies: int | None, gene: str
) -> None:
    pcr = Pcr.model_validate({
        "date": DAY.isoformat(), "kind": "pcr", "bcr_abl1_is": value,
        "detected": value is not None and value > 0, "control_gene": gene,
        "control_copies": copies,
    })
    assert molecular_response(pcr) is classify_molecular(pcr).value


def test_unknown_chr_definition_is_refused_by_both_paths() -> None:
    blood = BloodCount.model_validate({"date": DAY.isoformat(), "kind": "blood", "wbc": 5})
    with pytest.raises(ValueError, match="unknown CHR definition"):
        hematologic_response(blood, DX, "nccn", "excess")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown CHR definition"):
        classify_hematologic(blood, baseline=DX, definition="nccn")  # type: ignore[arg-type]


def _record() -> PatientRecord:
    return PatientRecord.model_validate({
        "id": "E1", "sex": "F",
        "diagnosis": {"date": "2020-01-02", "phase": "chronic", "platelets": 1200,
                      "spleen_cm": 10},
        "therapy": [{"drug": "imatinib", "dose_mg_per_day": 400, "start": "2020-01-10"}],
        "observations": [
            # 2020-04-10: PHR (platelets 700: excess 250 vs 750, 66.7% lower), MMR (0.05 <=
            # 0.1), chronic phase (blasts 0 < 15, basophils 2 < 20); Ph+ 0/20 is CCyR.
            {"kind": "blood", "date": "2020-04-10", "wbc": 6, "platelets": 700,
             "blasts_pb": 0, "basophils_pb": 2, "spleen_cm": 0},
            {"kind": "pcr", "date": "2020-04-10", "bcr_abl1_is": 0.05},
            {"kind": "cytogenetics", "date": "2020-04-10", "ph_pos": 0, "metaphases": 20},
            # 2020-07-10: PCR alone, undetected with 54,000 ABL1 copies >= 32,000: MR4.5.
            {"kind": "pcr", "date": "2020-07-10", "detected": False, "control_gene": "ABL1",
             "control_copies": 54000},
        ],
    })


def test_evidence_is_made_when_read_and_equals_the_full_classifiers() -> None:
    tps = build_timepoints(_record(), AssessOptions())
    first, second = tps
    assert isinstance(first.evidence, LazyEvidence)
    assert [e.value for e in first.evidence] == [HR.PHR, "CCyR", MR.MMR, Phase.CHRONIC]
    assert [e.rule for e in second.evidence] == ["CROSS15.undetected"]
    assert second.evidence[0].value is MR.MR4_5
    # the same classifications as the eager path, compared as tuples both ways
    rec = _record()
    day = [rec.observations[0], None, rec.observations[2], None, rec.observations[1], None]
    eager = _day_evidence(rec.diagnosis, AssessOptions(), frozenset(), day, True)
    assert first.evidence == eager and eager == tuple(first.evidence)
    assert len(first.evidence) == 4 and first.evidence[1:3] == eager[1:3]
    # pickles as what it made
    back = pickle.loads(pickle.dumps(first.evidence))
    assert back == eager


def test_timepoints_are_immutable() -> None:
    tp = build_timepoints(_record(), AssessOptions())[0]
    with pytest.raises(AttributeError):
        tp.molecular = None  # type: ignore[misc]
    changed = tp._replace(molecular=None)
    assert changed.molecular is None and tp.molecular is MR.MMR
    assert Timepoint(DAY, None).toxicity == {}


def test_timepoints_up_to_sorts_stably_and_keeps_as_of_itself() -> None:
    from cmltrack.domain.results import timepoints_up_to

    d1, d2, d3 = dt.date(2021, 1, 1), dt.date(2021, 2, 1), dt.date(2021, 3, 1)
    a, b = Timepoint(d2, 1.0, molecular=MR.MMR), Timepoint(d2, 1.0, molecular=MR.MR4)
    given_ = [Timepoint(d3, 2.0), a, Timepoint(d1, 0.0), b]
    # as_of is inclusive (on or before); the two results of 1 Feb keep their order
    assert timepoints_up_to(given_, d2) == [given_[2], a, b]
    assert timepoints_up_to(given_, d3)[-1] == given_[0]
    assert timepoints_up_to(given_, dt.date(2020, 12, 31)) == []
