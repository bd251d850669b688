"""What each response rule writes in its basis, and the branches the mutation run of response.py
found unchecked (issue 18). Every expected text and value is worked by hand from the rule:

- ELN cytogenetic bands (ELN 2006/2013): CCyR 0, PCyR 0 < Ph+ <= 35, ...; M.D. Anderson
  (Kantarjian 2003): PCyR 0 < Ph+ < 35. At least 20 metaphases; FISH CCyR < 1% of >= 200 nuclei.
- Molecular bands ``<=`` at every threshold (MMR 0.1%, MR2 1%); undetected depth from ABL1
  copies (Cross 2015: MR4 >= 10,000, MR4.5 >= 32,000, MR5 >= 100,000).
- CHR (ELN 2006): WBC < 10, platelets < 450, no immature cells, basophils < 5%, spleen not
  palpable; PHR (Kantarjian 2003) excuses platelets or spleen improved by more than 50% since
  diagnosis (platelets on the excess over 450 by default, or on the count itself).

The basis is what ``explain`` and the reports show a clinician, so its wording is asserted whole.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cmltrack.domain.enums import CytogeneticResponse as CyR
from cmltrack.domain.enums import CytogeneticScheme as Scheme
from cmltrack.domain.enums import HematologicResponse as HR
from cmltrack.domain.enums import MolecularResponse as MR
from cmltrack.domain.records import BloodCount, Cytogenetics, Diagnosis, Fish, Pcr
from cmltrack.domain.response import (
    classify_cytogenetic,
    classify_hematologic,
    classify_molecular,
    cytogenetic_band,
    hematologic_response,
    molecular_band,
    molecular_response,
)

DAY = dt.date(2021, 3, 9)
Definition = Literal["eln", "who2016", "mdacc"]


def _count(**kw: float | None) -> BloodCount:
    """A count meeting every CHR component, with the given values changed."""
    base: dict[str, float | None] = {
        "wbc": 6.0, "platelets": 210.0, "blasts_pb": 0.0, "promyelocytes_pb": 0.0,
        "myelocytes_pb": 0.0, "metamyelocytes_pb": 0.0, "basophils_pb": 1.0, "spleen_cm": 0.0,
    }
    return BloodCount(date=DAY, **{**base, **kw})


# --- Cytogenetic wording ----------------------------------------------------------------------


def test_ccyr_basis_reads_zero_ph_positive() -> None:
    c = classify_cytogenetic(Cytogenetics(date=DAY, ph_pos=0, metaphases=20), None,
                             scheme=Scheme.ELN)
    assert c.value is CyR.CCYR
    assert c.basis == "Ph+ 0/20 metaphases = 0%: 0 = 0, CCyR (ELN 0%)"


def test_mdacc_pcyr_basis_uses_the_strict_upper_limit() -> None:
    # 7/20 = 35% is not < 35 under M.D. Anderson: minor, "35 <= 90"; 6/20 = 30% < 35: PCyR.
    pcyr = classify_cytogenetic(Cytogenetics(date=DAY, ph_pos=6, metaphases=20), None,
                                scheme=Scheme.MDACC)
    assert pcyr.value is CyR.PCYR
    assert pcyr.basis == "Ph+ 6/20 metaphases = 30%: 30 < 35, PCyR (MDACC 1-34%)"
    minor = classify_cytogenetic(Cytogenetics(date=DAY, ph_pos=7, metaphases=20), None,
                                 scheme=Scheme.MDACC)
    assert minor.basis == "Ph+ 7/20 metaphases = 35%: 35 <= 90, minor (MDACC 35-90%)"


def test_no_response_band_basis_compares_with_the_last_limit() -> None:
    c = classify_cytogenetic(Cytogenetics(date=DAY, ph_pos=20, metaphases=20), None,
                             scheme=Scheme.ELN)
    assert c.value is CyR.NONE
    assert c.basis == "Ph+ 20/20 metaphases = 100%: 100 > 95, none (ELN >95%)"


def test_too_few_metaphases_keeps_the_scheme_rule_and_says_why() -> None:
    c = classify_cytogenetic(Cytogenetics(date=DAY, ph_pos=0, metaphases=19), None,
                             scheme=Scheme.ELN)
    assert c.value is CyR.INADEQUATE
    assert c.rule == "ELN2006.CyR"
    assert c.basis == "only 19 metaphases analysed (< 20)"


def test_no_result_is_unclassified_under_the_scheme_rule() -> None:
    c = classify_cytogenetic(None, None, scheme=Scheme.MDACC)
    assert c.value is None
    assert c.rule == "MDACC2003.CyR"
    assert c.basis == "no cytogenetic or FISH result"


def test_fish_on_too_few_nuclei_says_it_cannot_show_ccyr() -> None:
    c = classify_cytogenetic(None, Fish(date=DAY, pos_nuclei=0, nuclei=150), scheme=Scheme.ELN)
    assert c.value is CyR.INADEQUATE
    assert c.basis == "FISH 0/150 nuclei = 0% positive: fewer than 200 nuclei cannot show CCyR"


@pytest.mark.parametrize(("nuclei", "pos", "small"), [
    (200, 10, False),  # 10/200 = 5%: exactly 200 nuclei is not "fewer than 200"
    (300, 15, False),  # 5% on 300
    (100, 5, True),    # 5% on 100: banded, the small count noted
])
def test_fish_banded_basis_notes_only_a_small_count(nuclei: int, pos: int, small: bool) -> None:
    c = classify_cytogenetic(None, Fish(date=DAY, pos_nuclei=pos, nuclei=nuclei),
                             scheme=Scheme.ELN)
    assert c.value is CyR.PCYR  # 0 < 5 <= 35
    assert c.rule == "ELN2006.CyR.FISH"
    assert ("fewer than 200 nuclei" in c.basis) is small
    assert c.basis.startswith(f"FISH-based, FISH {pos}/{nuclei} nuclei = 5% positive")


@pytest.mark.parametrize("bad", [-1.0, 100.5, float("nan")])
def test_a_ph_percentage_outside_0_100_is_refused_by_name(bad: float) -> None:
    with pytest.raises(ValueError, match=r"^Ph\+ % .* is not a percentage in 0-100$"):
        cytogenetic_band(bad, Scheme.ELN)


# --- Molecular wording ------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "text"), [
    (0.5, "BCR::ABL1 0.5% IS: 0.5 <= 1, MR2"),         # 0.1 < 0.5 <= 1
    (1.0, "BCR::ABL1 1% IS: 1 <= 1, MR2"),
    (0.1, "BCR::ABL1 0.1% IS: 0.1 <= 0.1, MMR"),
    (12.0, "BCR::ABL1 12% IS: 12 > 10, none"),
    (0.00001, "BCR::ABL1 0.00001% IS: 0.00001 <= 0.001, MR5"),  # written positionally
])
def test_detected_basis(value: float, text: str) -> None:
    assert classify_molecular(Pcr(date=DAY, bcr_abl1_is=value)).basis == text


def test_undetected_with_a_gene_but_no_copies_cannot_show_depth() -> None:
    c = classify_molecular(Pcr(date=DAY, detected=False, control_gene="ABL1"))
    assert c.value is MR.INADEQUATE
    assert c.basis == ("BCR::ABL1 undetected; control-gene copies not given, depth cannot be "
                       "shown")


def test_zero_percent_is_read_as_undetected_in_words() -> None:
    c = classify_molecular(Pcr(date=DAY, bcr_abl1_is=0.0, control_gene="ABL1",
                               control_copies=40_000.0))
    assert c.value is MR.MR4_5  # 40,000 >= 32,000 ABL1 copies
    assert c.basis == "BCR::ABL1 0% IS, read as undetected; ABL1 40,000 copies >= 32,000, MR4.5"


@pytest.mark.parametrize("bad", [-0.001, float("nan")])
def test_a_negative_or_nan_value_is_refused_by_name(bad: float) -> None:
    with pytest.raises(ValueError, match=r"^BCR::ABL1 .* % IS is not a non-negative number$"):
        molecular_band(bad)


# The hot-loop functions answer exactly what the classifiers' values say.

_pcr = st.one_of(
    st.builds(lambda v: Pcr(date=DAY, bcr_abl1_is=v),
              st.floats(min_value=0.0, max_value=1000.0, allow_nan=False)),
    st.builds(lambda g, c: Pcr(date=DAY, detected=False, control_gene=g, control_copies=c),
              st.sampled_from(["ABL1", "GUSB"]),
              st.one_of(st.none(), st.floats(min_value=0.0, max_value=1e6))),
)


@given(_pcr)
def test_molecular_response_is_the_classifiers_value(pcr: Pcr) -> None:
    assert molecular_response(pcr) is classify_molecular(pcr).value


_maybe = st.one_of(st.none(), st.floats(min_value=0.0, max_value=20.0))  # five sum <= 100%
_blood = st.builds(
    lambda wbc, plt, bl, pro, my, meta, baso, spleen: BloodCount(
        date=DAY, wbc=wbc, platelets=plt, blasts_pb=bl, promyelocytes_pb=pro, myelocytes_pb=my,
        metamyelocytes_pb=meta, basophils_pb=baso, spleen_cm=spleen),
    st.one_of(st.none(), st.floats(min_value=0.0, max_value=50.0)),
    st.one_of(st.none(), st.floats(min_value=0.0, max_value=2000.0)),
    _maybe, _maybe, _maybe, _maybe, _maybe,
    st.one_of(st.none(), st.floats(min_value=0.0, max_value=30.0)),
)
_baseline = st.one_of(st.none(), st.builds(
    lambda p, s: Diagnosis(platelets=p, spleen_cm=s),
    st.one_of(st.none(), st.floats(min_value=0.0, max_value=3000.0)),
    st.one_of(st.none(), st.floats(min_value=0.0, max_value=30.0)),
))


@given(_blood, _baseline, st.sampled_from(["eln", "who2016", "mdacc"]),
       st.sampled_from(["excess", "count"]))
def test_hematologic_response_is_the_classifiers_value(
    blood: BloodCount, baseline: Diagnosis | None, definition: Definition,
    basis: Literal["excess", "count"],
) -> None:
    want = classify_hematologic(blood, baseline=baseline, definition=definition,
                                thrombocytosis_basis=basis).value
    assert hematologic_response(blood, baseline, definition, basis) is want


# --- Hematologic values and wording -----------------------------------------------------------


@pytest.mark.parametrize("definition", ["eln", "who2016", "mdacc"])
def test_count_basis_is_passed_to_the_platelet_check(definition: Definition) -> None:
    # Diagnosis 1000, now 600 (other components met). Count basis: 600 is not < 1000 / 2, so
    # not excused: neither CHR nor PHR. Excess basis: 150 < 550 / 2, excused: PHR.
    blood, base = _count(platelets=600.0), Diagnosis(platelets=1000.0)
    count = classify_hematologic(blood, baseline=base, definition=definition,
                                 thrombocytosis_basis="count")
    excess = classify_hematologic(blood, baseline=base, definition=definition,
                                  thrombocytosis_basis="excess")
    assert (count.value, excess.value) == (HR.NONE, HR.PHR)
    assert hematologic_response(blood, base, definition, "count") is HR.NONE
    assert hematologic_response(blood, base, definition, "excess") is HR.PHR


def test_count_basis_wording() -> None:
    blood, base = _count(platelets=600.0), Diagnosis(platelets=1000.0)
    count = classify_hematologic(blood, baseline=base, thrombocytosis_basis="count")
    excess = classify_hematologic(blood, baseline=base, thrombocytosis_basis="excess")
    assert count.basis == ("WBC 6 < 10, platelets 600 >= 450 (1000 at diagnosis, 40% lower: "
                           "not > 50%), no immature cells, basophils 1% < 5%, spleen not "
                           "palpable; neither CHR nor PHR")
    assert excess.basis == ("WBC 6 < 10, platelets 600 >= 450 (excess over 450: 150 vs 550 at "
                            "diagnosis, 72.7% lower: > 50%), no immature cells, basophils 1% < "
                            "5%, spleen not palpable; PHR")


@pytest.mark.parametrize("definition", ["eln", "who2016", "mdacc"])
def test_spleen_improvement_reads_the_diagnosis_size_under_every_definition(
    definition: Definition,
) -> None:
    # Spleen 5 cm now, 20 cm at diagnosis: 5 < 20 / 2, more than 50% smaller: PHR.
    c = classify_hematologic(_count(spleen_cm=5.0), baseline=Diagnosis(spleen_cm=20.0),
                             definition=definition)
    assert c.value is HR.PHR
    assert "spleen 5 cm (20 cm at diagnosis, 75% lower: > 50%)" in c.basis


def test_improvement_from_a_small_baseline_still_counts() -> None:
    # Platelets 451 at diagnosis (excess 1), 450.4 now (excess 0.4): 0.4 < 1 / 2, PHR.
    # Spleen 1 cm at diagnosis, 0.4 cm now: 0.4 < 0.5, PHR.
    plt = classify_hematologic(_count(platelets=450.4), baseline=Diagnosis(platelets=451.0))
    spleen = classify_hematologic(_count(spleen_cm=0.4), baseline=Diagnosis(spleen_cm=1.0))
    assert (plt.value, spleen.value) == (HR.PHR, HR.PHR)
    assert "spleen 0.4 cm (1 cm at diagnosis, 60% lower: > 50%)" in spleen.basis


def test_no_thrombocytosis_at_diagnosis_cannot_excuse_it_now() -> None:
    # Diagnosis 450 (excess 0), now 500: nothing to improve on, not excused, no PHR.
    c = classify_hematologic(_count(platelets=500.0), baseline=Diagnosis(platelets=450.0))
    assert c.value is HR.NONE
    assert "platelets 500 >= 450 (none at diagnosis)" in c.basis


def test_spleen_without_its_size_at_diagnosis() -> None:
    c = classify_hematologic(_count(spleen_cm=3.0), baseline=None)
    assert c.value is None
    assert c.basis == ("WBC 6 < 10, platelets 210 < 450, no immature cells, basophils 1% < 5%, "
                       "spleen 3 cm (size at diagnosis not given); not CHR, PHR cannot be judged")


def test_platelets_without_the_count_at_diagnosis() -> None:
    c = classify_hematologic(_count(platelets=500.0), baseline=Diagnosis())
    assert c.value is None
    assert "platelets 500 >= 450 (count at diagnosis not given)" in c.basis


def test_every_missing_component_is_named() -> None:
    c = classify_hematologic(
        BloodCount(date=DAY), baseline=None, definition="eln")
    assert c.value is None
    assert c.basis == ("WBC not given, platelets not given, differential (immature cells) not "
                       "given, basophils not given, spleen not given; CHR cannot be judged")


def test_persisting_immature_cells_are_listed_without_the_absent_ones() -> None:
    # Blasts 2%, the other immature cells 0%: only the blasts persist (PHR by immature cells).
    c = classify_hematologic(_count(blasts_pb=2.0), baseline=None)
    assert c.value is HR.PHR
    assert c.basis == ("WBC 6 < 10, platelets 210 < 450, immature cells persist: blasts 2%, "
                       "basophils 1% < 5%, spleen not palpable; PHR")
    two = classify_hematologic(_count(blasts_pb=2.0, myelocytes_pb=3.0, metamyelocytes_pb=None),
                               baseline=None)
    assert "immature cells persist: blasts 2%, myelocytes 3%, basophils" in two.basis


def test_an_unknown_chr_definition_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match=r"^unknown CHR definition 'nccn'$"):
        classify_hematologic(_count(), baseline=None, definition="nccn")  # type: ignore[arg-type]


def test_a_value_below_twelve_decimals_is_written_as_zero() -> None:
    # 1e-13 % IS prints as 0.000000000000 to twelve places: written "0", never "0." or "1e-13".
    c = classify_molecular(Pcr(date=DAY, bcr_abl1_is=1e-13))
    assert c.value is MR.MR5
    assert c.basis == "BCR::ABL1 0% IS: 0 <= 0.001, MR5"
