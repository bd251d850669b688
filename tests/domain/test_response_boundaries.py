"""Boundaries the mutation runs found untested (issue 18), each worked by hand from the source.

FISH CCyR: "< 1% BCR-ABL1-positive of >= 200 nuclei" (ELN 2013 Table 9 footnote, clinical-rules
section 2). PHR (Kantarjian 2003): platelets still >= 450 are excused only if they fell by more
than 50% from diagnosis, under every CHR definition.
"""

from __future__ import annotations

import datetime as dt

import pytest

from cmltrack.domain.enums import CytogeneticResponse as CyR
from cmltrack.domain.enums import CytogeneticScheme as Scheme
from cmltrack.domain.enums import HematologicResponse as HR
from cmltrack.domain.records import BloodCount, Diagnosis, Fish
from cmltrack.domain.response import classify_cytogenetic, classify_hematologic

DAY = dt.date(2020, 4, 21)


@pytest.mark.parametrize("scheme", list(Scheme))
def test_fish_alone_on_exactly_200_nuclei_below_1_percent_is_ccyr(scheme: Scheme) -> None:
    # 1/200 = 0.5% < 1% on 200 nuclei (>= 200): CCyR by FISH.
    c = classify_cytogenetic(None, Fish(date=DAY, pos_nuclei=1, nuclei=200), scheme=scheme)
    assert c.value is CyR.CCYR and c.rule == "ELN2013.FISH"


def test_fish_on_199_nuclei_below_1_percent_is_inadequate() -> None:
    # 1/199 = 0.50% < 1%, but 199 < 200 nuclei: cannot show CCyR.
    c = classify_cytogenetic(None, Fish(date=DAY, pos_nuclei=1, nuclei=199), scheme=Scheme.ELN)
    assert c.value is CyR.INADEQUATE


@pytest.mark.parametrize(("pos", "nuclei", "want"), [
    (19, 2000, CyR.CCYR),   # 0.95% < 1%: a cut-off moved to 0.9% would call it PCyR
    (9, 1000, CyR.CCYR),    # 0.9%
    (2, 200, CyR.PCYR),     # exactly 1.0%: not < 1%, so banded: ELN 0 < 1 <= 35 is PCyR
])
def test_fish_ccyr_cut_off_is_1_percent(pos: int, nuclei: int, want: CyR) -> None:
    c = classify_cytogenetic(None, Fish(date=DAY, pos_nuclei=pos, nuclei=nuclei),
                             scheme=Scheme.ELN)
    assert c.value is want


def _count(**kw: float) -> BloodCount:
    base = {"wbc": 6.0, "platelets": 210.0, "blasts_pb": 0.0, "promyelocytes_pb": 0.0,
            "myelocytes_pb": 0.0, "metamyelocytes_pb": 0.0, "basophils_pb": 1.0,
            "spleen_cm": 0.0}
    return BloodCount(date=DAY, **{**base, **kw})


@pytest.mark.parametrize("definition", ["eln", "who2016", "mdacc"])
def test_phr_on_platelets_reads_the_diagnosis_count_under_every_definition(
    definition: str,
) -> None:
    # Excess over 450: now 700 - 450 = 250, at diagnosis 1450 - 450 = 1000; 250 < 1000 / 2:
    # more than 50% lower, PHR.
    c = classify_hematologic(_count(platelets=700), baseline=Diagnosis(platelets=1450),
                             definition=definition)  # type: ignore[arg-type]
    assert c.value is HR.PHR and c.rule == "MDACC.PHR"
    # Without the diagnosis count PHR cannot be judged.
    c = classify_hematologic(_count(platelets=700), baseline=Diagnosis(),
                             definition=definition)  # type: ignore[arg-type]
    assert c.value is None
    # Excess now 550 - 450 = 100, at diagnosis 600 - 450 = 150: 100 is not < 75, so not more
    # than 50% lower: neither CHR nor PHR.
    c = classify_hematologic(_count(platelets=550), baseline=Diagnosis(platelets=600),
                             definition=definition)  # type: ignore[arg-type]
    assert c.value is HR.NONE


def test_thrombocytosis_on_the_count_is_worded_on_the_count() -> None:
    # basis "count": 700 vs 1450 at diagnosis: (1450 - 700) / 1450 = 51.7% lower, > 50%.
    c = classify_hematologic(_count(platelets=700), baseline=Diagnosis(platelets=1450),
                             thrombocytosis_basis="count")
    assert c.value is HR.PHR
    assert "platelets 700 >= 450 (1450 at diagnosis, 51.7% lower: > 50%)" in c.basis
    # The excess basis words the excess: (1000 - 250) / 1000 = 75% lower.
    c = classify_hematologic(_count(platelets=700), baseline=Diagnosis(platelets=1450))
    assert "(excess over 450: 250 vs 1000 at diagnosis, 75% lower: > 50%)" in c.basis
    # Where the two bases disagree: 900 vs 1700. Count: 47.1% lower, not PHR; excess: 450 vs
    # 1250, 64% lower, PHR.
    by_count = classify_hematologic(_count(platelets=900), baseline=Diagnosis(platelets=1700),
                                    thrombocytosis_basis="count")
    by_excess = classify_hematologic(_count(platelets=900), baseline=Diagnosis(platelets=1700))
    assert (by_count.value, by_excess.value) == (HR.NONE, HR.PHR)
