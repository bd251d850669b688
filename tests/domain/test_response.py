"""Worked examples on both sides of every response threshold.

Every expected value below was derived by hand from the clinical rules reference (sections 1-3,
13 and 14), not by running the code: the comment beside each case gives the arithmetic.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pytest

from cmltrack.domain.enums import CytogeneticResponse as CyR
from cmltrack.domain.enums import CytogeneticScheme as Scheme
from cmltrack.domain.enums import HematologicResponse as HR
from cmltrack.domain.enums import MolecularResponse as MR
from cmltrack.domain.records import BloodCount, Cytogenetics, Diagnosis, Fish, Pcr
from cmltrack.domain.response import (
    SOURCES,
    classify_cytogenetic,
    classify_hematologic,
    classify_molecular,
    cytogenetic_band,
    is_chr,
    is_mcyr,
    molecular_band,
)

DAY = dt.date(2020, 4, 21)

# The spec's example count: every CHR component met.
NORMAL: dict[str, Any] = {
    "wbc": 6.1, "platelets": 210, "blasts_pb": 0, "promyelocytes_pb": 0, "myelocytes_pb": 0,
    "metamyelocytes_pb": 0, "basophils_pb": 1, "spleen_cm": 0,
}


def blood(**changes: Any) -> BloodCount:
    return BloodCount(date=DAY, **{**NORMAL, **changes})


def dx(**kw: Any) -> Diagnosis:
    return Diagnosis(**kw)


# --- hematologic --------------------------------------------------------------------------------


def test_chr_example_from_spec_names_every_value() -> None:
    c = classify_hematologic(blood(), baseline=None)
    assert c.value is HR.CHR
    assert c.rule == "ELN2006.CHR"
    assert c.basis == (
        "WBC 6.1 < 10, platelets 210 < 450, no immature cells, basophils 1% < 5%, "
        "spleen not palpable"
    )


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"wbc": 9.99}, HR.CHR),  # 9.99 < 10
        ({"wbc": 10.0}, HR.NONE),  # 10 is not < 10, and a high WBC is not excused by PHR
        ({"basophils_pb": 4.9}, HR.CHR),  # 4.9 < 5
        ({"basophils_pb": 5.0}, HR.NONE),  # 5 is not < 5; PHR excuses no basophilia
        ({"platelets": 449.9}, HR.CHR),  # 449.9 < 450
        ({"myelocytes_pb": 2}, HR.PHR),  # immature cells persist, all else met
        ({"blasts_pb": 1, "wbc": 12}, HR.NONE),  # immature cells excused, WBC 12 is not
    ],
)
def test_eln_chr_thresholds(changes: dict[str, Any], expected: HR) -> None:
    assert classify_hematologic(blood(**changes), baseline=None).value is expected


def test_who2016_has_no_basophil_clause() -> None:
    # basophils 5% fails ELN (not < 5) but WHO 2016 does not look at basophils.
    assert classify_hematologic(blood(basophils_pb=5), baseline=None).value is HR.NONE
    c = classify_hematologic(blood(basophils_pb=5), baseline=None, definition="who2016")
    assert (c.value, c.rule) == (HR.CHR, "WHO2016.CHR")


def test_mdacc_ignores_metamyelocytes() -> None:
    # MDACC names blasts, promyelocytes and myelocytes only; ELN excludes all immature cells.
    c = classify_hematologic(blood(metamyelocytes_pb=1), baseline=None, definition="mdacc")
    assert (c.value, c.rule) == (HR.CHR, "MDACC.CHR")
    c = classify_hematologic(blood(metamyelocytes_pb=1), baseline=None)
    assert (c.value, c.rule) == (HR.PHR, "MDACC.PHR")
    assert "metamyelocytes 1%" in c.basis


def test_platelets_450_without_baseline_is_not_chr_but_phr_is_open() -> None:
    c = classify_hematologic(blood(platelets=450), baseline=None)
    assert c.value is None
    assert c.rule == "MDACC.PHR"
    assert "platelets 450 >= 450" in c.basis and "not CHR" in c.basis


@pytest.mark.parametrize(
    ("now", "at_dx", "basis", "expected"),
    [
        # excess: (480-450)=30 vs (510-450)=60: exactly 50% better, not > 50%
        (480, 510, "excess", HR.NONE),
        # excess: 29.9 vs 60: 50.2% better
        (479.9, 510, "excess", HR.PHR),
        # excess: 50 vs 550: 90.9% better
        (500, 1000, "excess", HR.PHR),
        # count: 500 vs 1000: exactly 50%, not > 50%
        (500, 1000, "count", HR.NONE),
        # count: 499 vs 1000: 50.1%
        (499, 1000, "count", HR.PHR),
        # no thrombocytosis at diagnosis (440 < 450): nothing improved
        (460, 440, "excess", HR.NONE),
    ],
)
def test_phr_thrombocytosis_improvement(
    now: float, at_dx: float, basis: Any, expected: HR
) -> None:
    c = classify_hematologic(
        blood(platelets=now), baseline=dx(platelets=at_dx), thrombocytosis_basis=basis
    )
    assert c.value is expected, c.basis


@pytest.mark.parametrize(
    ("now", "at_dx", "expected"),
    [
        (3.9, 8, HR.PHR),  # 51.25% smaller, > 50%
        (4, 8, HR.NONE),  # exactly 50% smaller, not > 50%
        (2, 0, HR.NONE),  # not palpable at diagnosis: nothing improved
        (9, 8, HR.NONE),  # larger
    ],
)
def test_phr_spleen_reduction(now: float, at_dx: float, expected: HR) -> None:
    c = classify_hematologic(blood(spleen_cm=now), baseline=dx(spleen_cm=at_dx))
    assert c.value is expected, c.basis


def test_phr_spleen_basis_states_reduction() -> None:
    c = classify_hematologic(blood(spleen_cm=3), baseline=dx(spleen_cm=8))
    # (8 - 3) / 8 = 62.5%
    assert "spleen 3 cm (8 cm at diagnosis, 62.5% lower: > 50%)" in c.basis


def test_palpable_spleen_without_baseline_leaves_phr_open() -> None:
    c = classify_hematologic(blood(spleen_cm=2), baseline=dx(platelets=500))
    assert c.value is None and "size at diagnosis not given" in c.basis


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"platelets": None}, None),  # the only gap: CHR cannot be judged
        ({"platelets": None, "wbc": 12}, HR.NONE),  # WBC 12 already rules out CHR and PHR
        ({"platelets": None, "myelocytes_pb": 2}, None),  # PHR hinges on the platelets
        ({"spleen_cm": None}, None),
        ({"basophils_pb": None}, None),
        ({"wbc": None}, None),
    ],
)
def test_missing_component(changes: dict[str, Any], expected: HR | None) -> None:
    assert classify_hematologic(blood(**changes), baseline=None).value is expected


def test_missing_component_is_named() -> None:
    c = classify_hematologic(blood(platelets=None), baseline=None)
    assert c.rule == "ELN2006.CHR"
    assert "platelets not given" in c.basis and "CHR cannot be judged" in c.basis


def test_differential_not_given_at_all_is_missing() -> None:
    b = blood(blasts_pb=None, promyelocytes_pb=None, myelocytes_pb=None, metamyelocytes_pb=None)
    c = classify_hematologic(b, baseline=None)
    assert c.value is None and "differential (immature cells) not given" in c.basis


def test_partial_differential_uses_what_is_given() -> None:
    b = blood(promyelocytes_pb=None, myelocytes_pb=None, metamyelocytes_pb=None)
    c = classify_hematologic(b, baseline=None)
    assert c.value is HR.CHR
    assert "no immature cells (promyelocytes, myelocytes, metamyelocytes not given)" in c.basis


def test_is_chr_answers_chr_alone() -> None:
    assert is_chr(blood()) is True
    assert is_chr(blood(platelets=450)) is False
    assert is_chr(blood(platelets=None)) is None
    assert is_chr(blood(basophils_pb=7), definition="who2016") is True


# --- cytogenetic --------------------------------------------------------------------------------


def cyto(ph_pos: int | None = None, metaphases: int | None = None, **kw: Any) -> Cytogenetics:
    return Cytogenetics(date=DAY, ph_pos=ph_pos, metaphases=metaphases, **kw)


def fish(pos: int | None = None, nuclei: int | None = None, **kw: Any) -> Fish:
    return Fish(date=DAY, pos_nuclei=pos, nuclei=nuclei, **kw)


@pytest.mark.parametrize(
    ("pct", "eln", "mdacc"),
    [
        (0.0, CyR.CCYR, CyR.CCYR),
        (0.5, CyR.PCYR, CyR.PCYR),  # any Ph+ > 0 is not complete
        (34.9, CyR.PCYR, CyR.PCYR),
        (35.0, CyR.PCYR, CyR.MINOR),  # ELN PCyR 1-35 (<= 35); MDACC PCyR 1-34, minor 35-90
        (35.1, CyR.MINOR, CyR.MINOR),
        (65.0, CyR.MINOR, CyR.MINOR),  # ELN minor 36-65 (<= 65)
        (65.1, CyR.MINIMAL, CyR.MINOR),  # ELN minimal 66-95
        (90.0, CyR.MINIMAL, CyR.MINOR),  # MDACC minor up to 90
        (90.1, CyR.MINIMAL, CyR.NONE),  # MDACC none > 90
        (95.0, CyR.MINIMAL, CyR.NONE),  # ELN minimal up to 95
        (95.1, CyR.NONE, CyR.NONE),  # ELN none > 95
        (100.0, CyR.NONE, CyR.NONE),
    ],
)
def test_cytogenetic_bands(pct: float, eln: CyR, mdacc: CyR) -> None:
    assert cytogenetic_band(pct, Scheme.ELN) is eln
    assert cytogenetic_band(pct, Scheme.MDACC) is mdacc


def test_mcyr_boundary_differs_between_schemes() -> None:
    # ELN MCyR is Ph+ <= 35%, MDACC "Ph below 35%".
    assert is_mcyr(35.0, Scheme.ELN) and not is_mcyr(35.0, Scheme.MDACC)
    assert is_mcyr(34.99, Scheme.MDACC)
    assert not is_mcyr(35.01, Scheme.ELN)


def test_seven_of_twenty_is_pcyr_eln_minor_mdacc() -> None:
    # 7/20 = 35% exactly (section 2 implementation note).
    c = classify_cytogenetic(cyto(7, 20), None, scheme=Scheme.ELN)
    assert (c.value, c.rule) == (CyR.PCYR, "ELN2006.CyR")
    assert c.basis == "Ph+ 7/20 metaphases = 35%: 35 <= 35, PCyR (ELN 1-35%)"
    c = classify_cytogenetic(cyto(7, 20), None, scheme=Scheme.MDACC)
    assert (c.value, c.rule) == (CyR.MINOR, "MDACC2003.CyR")
    assert c.basis == "Ph+ 7/20 metaphases = 35%: 35 <= 90, minor (MDACC 35-90%)"


def test_none_band_basis() -> None:
    # 20/20 = 100% > 95 (ELN none)
    c = classify_cytogenetic(cyto(20, 20), None, scheme=Scheme.ELN)
    assert c.value is CyR.NONE and "100 > 95" in c.basis


def test_nineteen_metaphases_are_inadequate_twenty_are_not() -> None:
    assert classify_cytogenetic(cyto(0, 19), None, scheme=Scheme.ELN).value is CyR.INADEQUATE
    assert classify_cytogenetic(cyto(0, 20), None, scheme=Scheme.ELN).value is CyR.CCYR


@pytest.mark.parametrize(
    ("f", "expected"),
    [
        (fish(1, 250), CyR.CCYR),  # 0.4% < 1% of 250 >= 200 nuclei
        (fish(0, 200), CyR.CCYR),  # 0% of exactly 200 nuclei
        (fish(2, 200), CyR.INADEQUATE),  # 1% is not < 1%
        (fish(0, 199), CyR.INADEQUATE),  # fewer than 200 nuclei
    ],
)
def test_few_metaphases_rescued_only_by_fish_ccyr(f: Fish, expected: CyR) -> None:
    c = classify_cytogenetic(cyto(0, 12), f, scheme=Scheme.ELN)
    assert c.value is expected
    if expected is CyR.CCYR:
        assert c.rule == "ELN2013.FISH" and "only 12 metaphases analysed (< 20)" in c.basis


def test_ph_positive_metaphase_contradicts_fish_ccyr() -> None:
    c = classify_cytogenetic(cyto(3, 12), fish(0, 400), scheme=Scheme.ELN)
    assert c.value is CyR.INADEQUATE


def test_ph_pct_without_counts_is_classified_with_note() -> None:
    c = classify_cytogenetic(cyto(ph_pct=35.5), None, scheme=Scheme.ELN)
    assert c.value is CyR.MINOR  # 35 < 35.5 <= 65
    assert "metaphase count not given" in c.basis


def test_banding_wins_over_fish_same_day() -> None:
    # 2/20 = 10%: PCyR, although FISH 0/200 would say CCyR
    c = classify_cytogenetic(cyto(2, 20), fish(0, 200), scheme=Scheme.ELN)
    assert (c.value, c.rule) == (CyR.PCYR, "ELN2006.CyR")


@pytest.mark.parametrize(
    ("f", "scheme", "expected", "rule"),
    [
        (fish(1, 250), Scheme.ELN, CyR.CCYR, "ELN2013.FISH"),  # 0.4% < 1%, 250 >= 200
        (fish(2, 200), Scheme.ELN, CyR.PCYR, "ELN2006.CyR.FISH"),  # 1%: band 0 < 1 <= 35
        (fish(0, 199), Scheme.ELN, CyR.INADEQUATE, "ELN2013.FISH"),  # too few nuclei for CCyR
        (fish(70, 200), Scheme.MDACC, CyR.MINOR, "MDACC2003.CyR.FISH"),  # 35%: MDACC minor
        (fish(70, 200), Scheme.ELN, CyR.PCYR, "ELN2006.CyR.FISH"),  # 35%: ELN PCyR
        (fish(fish_pct=0.5), Scheme.ELN, CyR.CCYR, "ELN2013.FISH"),  # count unknown, noted
    ],
)
def test_fish_alone(f: Fish, scheme: Scheme, expected: CyR, rule: str) -> None:
    c = classify_cytogenetic(None, f, scheme=scheme)
    assert (c.value, c.rule) == (expected, rule), c.basis


def test_fish_bands_are_labelled_and_small_counts_noted() -> None:
    c = classify_cytogenetic(None, fish(30, 100), scheme=Scheme.ELN)
    assert c.value is CyR.PCYR  # 30% <= 35
    assert c.basis.startswith("FISH-based") and "fewer than 200 nuclei" in c.basis
    c = classify_cytogenetic(None, fish(fish_pct=0.5), scheme=Scheme.ELN)
    assert "nuclei count not given" in c.basis


def test_nothing_to_classify() -> None:
    c = classify_cytogenetic(None, None, scheme=Scheme.ELN)
    assert c.value is None and c.basis == "no cytogenetic or FISH result"


def test_band_functions_refuse_impossible_values() -> None:
    for bad in (-0.1, 100.1, math.nan):
        with pytest.raises(ValueError):
            cytogenetic_band(bad, Scheme.ELN)
    for bad in (-1e-9, math.nan):
        with pytest.raises(ValueError):
            molecular_band(bad)


# --- molecular ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.001, MR.MR5),  # <= 0.001
        (0.0011, MR.MR4_5),
        (0.0032, MR.MR4_5),  # <= 0.0032
        (0.0033, MR.MR4),
        (0.01, MR.MR4),  # <= 0.01
        (0.0101, MR.MMR),
        (0.1, MR.MMR),  # <= 0.1
        (0.1001, MR.MR2),
        (1.0, MR.MR2),  # <= 1
        (1.01, MR.MR1),
        (10.0, MR.MR1),  # <= 10
        (10.01, MR.NONE),  # > 10
        (250.0, MR.NONE),
    ],
)
def test_detected_levels(value: float, expected: MR) -> None:
    assert molecular_band(value) is expected
    c = classify_molecular(Pcr(date=DAY, bcr_abl1_is=value))
    assert (c.value, c.rule) == (expected, "CROSS15.detected")


def test_detected_basis() -> None:
    c = classify_molecular(Pcr(date=DAY, bcr_abl1_is=0.1))
    assert c.basis == "BCR::ABL1 0.1% IS: 0.1 <= 0.1, MMR"
    c = classify_molecular(Pcr(date=DAY, bcr_abl1_is=12))
    assert c.basis == "BCR::ABL1 12% IS: 12 > 10, none"
    c = classify_molecular(Pcr(date=DAY, bcr_abl1_is=0.00001))
    assert c.basis == "BCR::ABL1 0.00001% IS: 0.00001 <= 0.001, MR5"


@pytest.mark.parametrize(
    ("gene", "copies", "expected"),
    [
        ("ABL1", 9_999, MR.INADEQUATE),
        ("ABL1", 10_000, MR.MR4),
        ("ABL1", 31_999, MR.MR4),
        ("ABL1", 32_000, MR.MR4_5),
        ("ABL1", 99_999, MR.MR4_5),
        ("ABL1", 100_000, MR.MR5),
        ("GUSB", 23_999, MR.INADEQUATE),
        ("GUSB", 24_000, MR.MR4),
        ("GUSB", 76_999, MR.MR4),
        ("GUSB", 77_000, MR.MR4_5),
        ("GUSB", 239_999, MR.MR4_5),
        ("GUSB", 240_000, MR.MR5),
    ],
)
def test_undetected_levels_by_control_copies(gene: str, copies: float, expected: MR) -> None:
    pcr = Pcr.model_validate(
        {"date": DAY, "detected": False, "control_gene": gene, "control_copies": copies}
    )
    c = classify_molecular(pcr)
    assert (c.value, c.rule) == (expected, "CROSS15.undetected")


def test_undetected_basis() -> None:
    c = classify_molecular(
        Pcr(date=DAY, detected=False, control_gene="ABL1", control_copies=61_000)
    )
    assert c.basis == "BCR::ABL1 undetected; ABL1 61,000 copies >= 32,000, MR4.5"
    c = classify_molecular(Pcr(date=DAY, detected=False, control_gene="ABL1", control_copies=9_999))
    assert c.basis == "BCR::ABL1 undetected; ABL1 9999 copies < 10,000: insufficient sensitivity"


def test_undetected_without_copies_is_inadequate() -> None:
    c = classify_molecular(Pcr(date=DAY, detected=False))
    assert c.value is MR.INADEQUATE and "control-gene copies not given" in c.basis
    c = classify_molecular(Pcr(date=DAY, detected=False, control_gene="GUSB"))
    assert c.value is MR.INADEQUATE


def test_zero_percent_is_read_as_undetected() -> None:
    # 0% IS with ABL1 50,000: undetected with 32,000 <= 50,000 < 100,000 copies -> MR4.5,
    # not MR5 as the number 0 would suggest.
    c = classify_molecular(Pcr(date=DAY, bcr_abl1_is=0, control_gene="ABL1", control_copies=5e4))
    assert (c.value, c.rule) == (MR.MR4_5, "CROSS15.undetected")
    assert "0% IS, read as undetected" in c.basis
    assert classify_molecular(Pcr(date=DAY, bcr_abl1_is=0)).value is MR.INADEQUATE


def test_detected_value_decides_even_with_few_copies() -> None:
    # Detected results are scored on the IS value (CROSS15 rule 1): 0.0005 <= 0.001 -> MR5.
    pcr = Pcr(date=DAY, bcr_abl1_is=0.0005, control_gene="ABL1", control_copies=5_000)
    assert classify_molecular(pcr).value is MR.MR5


def test_every_rule_id_is_cited() -> None:
    results = [
        classify_hematologic(blood(), baseline=None, definition=d)
        for d in ("eln", "who2016", "mdacc")
    ]
    results += [classify_hematologic(blood(myelocytes_pb=1), baseline=None)]
    results += [classify_cytogenetic(cyto(0, 20), None, scheme=s) for s in Scheme]
    results += [classify_cytogenetic(None, fish(10, 200), scheme=s) for s in Scheme]
    results += [classify_cytogenetic(None, fish(0, 200), scheme=Scheme.ELN)]
    results += [classify_molecular(Pcr(date=DAY, bcr_abl1_is=v)) for v in (0, 1)]
    assert {r.rule for r in results} == set(SOURCES)
