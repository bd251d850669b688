"""summarize from counts equals summarize from the full per-patient tables (same numbers)."""

from __future__ import annotations

import json

import pytest

from cmltrack.domain.records import PatientRecord
from cmltrack.stats.cohort_summary import SummarySpec, summarize_tally, tally
from cmltrack.stats.summary import (
    best_response_rates,
    compare_groups,
    landmark_survival,
    response_incidence,
    response_predictors,
)
from cmltrack.stats.tables import derive_cohort_tables
from cmltrack.synth import generate_cohort


@pytest.fixture(scope="module")
def records() -> list[PatientRecord]:
    rescue = [
        r.model_copy(update={"id": f"HD{i}"})
        for i, r in enumerate(generate_cohort(50, 22, "high-dose-rescue"))
    ]
    return [*generate_cohort(150, 21), *rescue]


@pytest.mark.parametrize(
    "spec",
    [
        SummarySpec(),
        SummarySpec(landmark=18.0, by="sokal_group"),
        SummarySpec(landmark=6.0, by="age", covariates=("age", "start_dose")),
    ],
)
def test_tally_gives_the_frame_functions_numbers(
    records: list[PatientRecord], spec: SummarySpec
) -> None:
    ends, base = derive_cohort_tables(records)
    want = {
        "n": len(base),
        "best_response": best_response_rates(ends).to_dict(),
        "cumulative_incidence": {k: v.to_dict() for k, v in response_incidence(ends).items()},
        "landmark": landmark_survival(ends, landmark=spec.landmark).to_dict(),
        "predictors": response_predictors(
            ends, base, spec.covariates, landmark=spec.landmark
        ).to_dict(),
    }
    if spec.by:
        want["groups"] = compare_groups(ends, base, spec.by).to_dict()
    got, _, _ = summarize_tally(tally(iter(records), spec), spec, file="x")
    got.pop("disclaimer")
    # Serialised as the CLI serialises it: every digit of every float is the same.
    assert json.dumps(got) == json.dumps(want)


def test_tally_holds_counts_not_rows(records: list[PatientRecord]) -> None:
    t = tally(iter(records * 3), SummarySpec())
    once = tally(iter(records), SummarySpec())
    # Three copies of a cohort: the same keys, three times the counts.
    assert t.ends.keys() == once.ends.keys()
    assert all(t.ends[k] == 3 * once.ends[k] for k in once.ends)
