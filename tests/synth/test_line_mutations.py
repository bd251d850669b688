"""Per-line mutations in the synthetic clinic: a resistant clone arising on dasatinib, nilotinib
or bosutinib carries a mutation the mutation table lists against that drug (clinical-rules-2
section 3). V299L is never drawn at baseline, so every V299L reported must follow a dasatinib
or bosutinib start; and the baseline draws are unchanged by the separate stream."""

from __future__ import annotations

from cmltrack.synth.cohort import generate_cohort_dicts
from cmltrack.synth.model import LINE_MUTATIONS, MUTATION_P, MUTATIONS


def test_line_mutations_follow_the_table() -> None:
    listed = {"dasatinib": {"T315I", "F317L", "V299L"},
              "nilotinib": {"T315I", "Y253H", "E255K", "F359V"},
              "bosutinib": {"T315I", "F317L", "V299L", "G250E"}}
    from cmltrack.synth.model import DRUGS
    assert {DRUGS[k]: {MUTATIONS[i] for i in v} for k, v in LINE_MUTATIONS.items()} == listed
    assert len(MUTATION_P) == len(MUTATIONS) - 1  # V299L has no baseline frequency


def test_v299l_only_after_dasatinib_or_bosutinib() -> None:
    found = 0
    for d in generate_cohort_dicts(3000, 5, "first-line"):
        starts = {t["drug"]: t["start"] for t in sorted(d.get("therapy", []),
                                                         key=lambda t: t["start"], reverse=True)}
        for o in d.get("observations", []):
            if o["kind"] == "mutation" and "V299L" in o["mutations"]:
                found += 1
                assert any(drug in starts and starts[drug] <= o["date"]
                           for drug in ("dasatinib", "bosutinib")), (d["id"], o)
    assert found > 0
