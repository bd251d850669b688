"""Response classification of one day's results: hematologic, cytogenetic and molecular.

Each rule lives here once, under a stable id that names its source (see :data:`SOURCES`); every
:class:`~cmltrack.domain.results.Classified` carries that id and the values it used.

Hematologic (clinical rules reference section 1 and 14)
    ``ELN2006.CHR``: WBC < 10, platelets < 450 x10^9/L, no immature granulocytes, basophils < 5%,
    spleen not palpable. ``WHO2016.CHR`` drops the basophil clause. ``MDACC.CHR`` (numeric
    reading, unverified as an MDACC text) asks for no blasts, promyelocytes or myelocytes and has
    no basophil clause. "No immature cells" means every immature-cell percentage *given* is 0;
    with none of them given the differential counts as missing.
    ``MDACC.PHR`` (Kantarjian 2003): not CHR only because (a) immature cells persist, (b) the
    spleen is still palpable but more than 50% smaller than at diagnosis, or (c) platelets are
    still >= 450 but thrombocytosis improved by more than 50% (by default on the excess above
    450 relative to diagnosis; ``thrombocytosis_basis="count"`` uses the count itself).
    Missing data: a missing component makes CHR unclassifiable (value None) unless another
    component fails. Then it is not CHR, and PHR is decided as far as the data allow: a failure
    PHR cannot excuse (WBC >= 10, basophils >= 5%, spleen or platelets without the > 50%
    improvement) gives ``none``; when PHR would hinge on a missing component or baseline value
    the value is None with "not CHR" in the basis (:func:`is_chr` answers CHR alone).

Cytogenetic (sections 2, 13, 14)
    Bands are printed on integers ("PCyR 1-35%, minor 36-65%"); for unrounded percentages each
    band runs up to and including its printed upper limit, so ELN is CCyR 0, PCyR 0 < Ph+ <= 35,
    minor 35 < Ph+ <= 65, minimal 65 < Ph+ <= 95, none > 95; M.D. Anderson is CCyR 0,
    PCyR 0 < Ph+ < 35 ("Ph below 35%"), minor 35 <= Ph+ <= 90, none > 90. Banding with fewer than
    20 metaphases is ``inadequate`` unless FISH the same day shows CCyR (< 1% of >= 200 nuclei)
    and the banding found no Ph+ metaphase (a Ph+ metaphase contradicts CCyR).
    Banding given as a percentage without counts is classified, the basis noting the unknown
    metaphase count. FISH alone: < 1% of >= 200 nuclei is CCyR; otherwise the FISH % is placed in
    the scheme's bands (labelled FISH-based). FISH < 1% on fewer than 200 nuclei is
    ``inadequate``; FISH >= 1% on fewer than 200 nuclei is still placed in the bands (a positive
    count is informative even on few nuclei), the basis noting the small count. Banding, the
    reference method, wins over FISH on the same day.

Molecular (sections 3, 14)
    Detected BCR::ABL1: the level from the IS value with ``<=`` at every threshold. Undetected:
    the level from the control-gene copies (ABL1 or GUSB minima, CROSS15); fewer copies, or none
    given, is ``inadequate``. A reported 0% IS contains no BCR::ABL1 transcript, so it is read as
    undetected (its depth then rests on the control gene, never on the number 0). The IS
    sensitivity of an undetected result is not offered: it depends on the laboratory's
    conversion factor, which the record does not carry.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Generic, Literal, TypeVar

from cmltrack.domain.enums import CytogeneticResponse as CyR
from cmltrack.domain.enums import CytogeneticScheme, HematologicResponse
from cmltrack.domain.enums import MolecularResponse as MR
from cmltrack.domain.records import BloodCount, Cytogenetics, Diagnosis, Fish, Pcr
from cmltrack.domain.results import Classified

C = TypeVar("C")

_KANTARJIAN2003 = (
    "Kantarjian H et al. Dose escalation of imatinib mesylate can overcome resistance to "
    "standard-dose therapy in patients with CML. Blood, doi 10.1182/blood-2002-05-1451"
)
_ELN2006 = "Baccarani M et al. Blood 2006;108(6):1809-20, response definitions table"

#: Citation of every rule id this module puts into a result.
SOURCES: dict[str, str] = {
    "ELN2006.CHR": _ELN2006,
    "WHO2016.CHR": "Arber DA et al. Blood 2016;127(20):2391-2405, Table 2 footnote",
    "MDACC.CHR": _KANTARJIAN2003 + " (numeric thresholds: unverified reading)",
    "MDACC.PHR": _KANTARJIAN2003,
    "ELN2006.CyR": _ELN2006 + "; at least 20 marrow metaphases",
    "MDACC2003.CyR": _KANTARJIAN2003 + "; at least 20 marrow metaphases",
    "ELN2006.CyR.FISH": "FISH % in the ELN Ph+ bands: cmltrack convention (an approximation)",
    "MDACC2003.CyR.FISH": "FISH % in the MDACC Ph+ bands: cmltrack convention (an approximation)",
    "ELN2013.FISH": (
        "Baccarani M et al. Blood 2013;122(6):872-884, Table 9; CCyR by FISH = < 1% "
        "BCR-ABL1-positive of >= 200 nuclei (NCCN/ELN footnote, PMC3498990)"
    ),
    "CROSS15.detected": (
        "Cross NCP et al. Leukemia 2015;29(5):999-1003 (MR4, MR4.5, MR5); Baccarani 2013 "
        "Table 9 (MMR <= 0.1%); MR2 <= 1% and MR1 <= 10% as named by cmltrack"
    ),
    "CROSS15.undetected": "Cross NCP et al. Leukemia 2015;29(5):999-1003, doi 10.1038/leu.2015.29",
}


@dataclass(frozen=True, slots=True)
class Band(Generic[C]):
    """One band of a table ordered deepest first: values up to ``upper`` (``<=`` or ``<``)."""

    category: C
    upper: float
    inclusive: bool
    wording: str  # the source's printed band


def _lookup(value: float, bands: Sequence[Band[C]]) -> int:
    for i, band in enumerate(bands):
        if value < band.upper or (band.inclusive and value == band.upper):
            return i
    raise AssertionError("the last band is unbounded")  # pragma: no cover


def _band_text(value: float, bands: Sequence[Band[C]], i: int) -> str:
    """``35 <= 35`` or ``96 > 95``: the comparison that put ``value`` in band ``i``."""
    band = bands[i]
    if math.isinf(band.upper):
        prev = bands[i - 1]
        return f"{_n(value)} {'>' if prev.inclusive else '>='} {_n(prev.upper)}"
    if band.upper == 0:
        return f"{_n(value)} = 0"
    return f"{_n(value)} {'<=' if band.inclusive else '<'} {_n(band.upper)}"


def _n(x: float) -> str:
    """A number as a clinician writes it: no trailing zeros, thousands grouped."""
    if float(x).is_integer() and abs(x) >= 10_000:
        return f"{int(x):,}"
    text = f"{x:.6g}"
    if "e" in text:  # 1e-05 -> 0.00001: IS values are read positionally
        text = f"{x:.12f}".rstrip("0").rstrip(".")
    return text


# ---------------------------------------------------------------------------------------------
# Cytogenetic bands (percentage of Ph+ metaphases)

ELN_CYTOGENETIC_BANDS: tuple[Band[CyR], ...] = (  # ELN 2006-2013 (ELN2006.CyR)
    Band(CyR.CCYR, 0.0, True, "0%"),
    Band(CyR.PCYR, 35.0, True, "1-35%"),
    Band(CyR.MINOR, 65.0, True, "36-65%"),
    Band(CyR.MINIMAL, 95.0, True, "66-95%"),
    Band(CyR.NONE, math.inf, True, ">95%"),
)
MDACC_CYTOGENETIC_BANDS: tuple[Band[CyR], ...] = (  # Kantarjian 2003 (MDACC2003.CyR)
    Band(CyR.CCYR, 0.0, True, "0%"),
    Band(CyR.PCYR, 35.0, False, "1-34%"),
    Band(CyR.MINOR, 90.0, True, "35-90%"),
    Band(CyR.NONE, math.inf, True, ">90%"),
)
CYTOGENETIC_BANDS: dict[CytogeneticScheme, tuple[Band[CyR], ...]] = {
    CytogeneticScheme.ELN: ELN_CYTOGENETIC_BANDS,
    CytogeneticScheme.MDACC: MDACC_CYTOGENETIC_BANDS,
}
_CYR_RULE = {CytogeneticScheme.ELN: "ELN2006.CyR", CytogeneticScheme.MDACC: "MDACC2003.CyR"}
MIN_METAPHASES = 20  # "at least 20 marrow metaphases" (ELN 2006, ELN 2013 Table 9)
MIN_FISH_NUCLEI = 200  # ">= 200 nuclei scored" for CCyR by FISH
FISH_CCYR_BELOW_PCT = 1.0  # "< 1% BCR-ABL1-positive nuclei"


def _check_pct(value: float, what: str) -> None:
    if math.isnan(value) or not 0.0 <= value <= 100.0:
        raise ValueError(f"{what} {value!r} is not a percentage in 0-100")


def cytogenetic_band(ph_pct: float, scheme: CytogeneticScheme) -> CyR:
    """The scheme's band for a Ph+ percentage (unrounded; see the module docstring)."""
    _check_pct(ph_pct, "Ph+ %")
    bands = CYTOGENETIC_BANDS[CytogeneticScheme(scheme)]
    return bands[_lookup(ph_pct, bands)].category


def is_mcyr(ph_pct: float, scheme: CytogeneticScheme) -> bool:
    """Major cytogenetic response (CCyR or PCyR): ELN Ph+ <= 35%, M.D. Anderson Ph+ < 35%."""
    return cytogenetic_band(ph_pct, scheme) in (CyR.CCYR, CyR.PCYR)


def _banded(
    pct: float, scheme: CytogeneticScheme, rule: str, what: Callable[[], str]
) -> Classified[CyR]:
    bands = CYTOGENETIC_BANDS[scheme]
    i = _lookup(pct, bands)
    return Classified(bands[i].category, rule, partial(_banded_text, pct, scheme, i, what))


def _banded_text(pct: float, scheme: CytogeneticScheme, i: int, what: Callable[[], str]) -> str:
    bands = CYTOGENETIC_BANDS[scheme]
    band = bands[i]
    label = f"{scheme.name} {band.wording}"
    return f"{what()}: {_band_text(pct, bands, i)}, {band.category} ({label})"


def _fish_shows_ccyr(fish: Fish | None) -> bool:
    return (
        fish is not None
        and fish.nuclei is not None
        and fish.nuclei >= MIN_FISH_NUCLEI
        and fish.positive_percent < FISH_CCYR_BELOW_PCT
    )


def _fish_text(fish: Fish) -> str:
    pct = fish.positive_percent
    if fish.nuclei is None:
        return f"FISH {_n(pct)}% positive (nuclei count not given)"
    return f"FISH {fish.pos_nuclei}/{fish.nuclei} nuclei = {_n(pct)}% positive"


def classify_cytogenetic(
    cyto: Cytogenetics | None, fish: Fish | None, *, scheme: CytogeneticScheme
) -> Classified[CyR]:
    """Cytogenetic response from same-day banding and/or FISH (either may be None)."""
    scheme = CytogeneticScheme(scheme)
    rule = _CYR_RULE[scheme]
    if cyto is not None:
        if cyto.metaphases is not None and cyto.metaphases < MIN_METAPHASES:
            few = f"only {cyto.metaphases} metaphases analysed (< {MIN_METAPHASES})"
            # A Ph+ metaphase contradicts a FISH CCyR, so only a Ph-negative count is rescued.
            if cyto.ph_pos == 0 and fish is not None and _fish_shows_ccyr(fish):
                return Classified(
                    CyR.CCYR,
                    "ELN2013.FISH",
                    f"{few}; {_fish_text(fish)} < 1% of >= {MIN_FISH_NUCLEI} nuclei, CCyR",
                )
            return Classified(CyR.INADEQUATE, rule, few)
        return _banded(cyto.ph_percent, scheme, rule, partial(_banding_text, cyto))
    if fish is None:
        return Classified(None, rule, "no cytogenetic or FISH result")
    pct = fish.positive_percent
    if pct < FISH_CCYR_BELOW_PCT:
        if fish.nuclei is not None and fish.nuclei < MIN_FISH_NUCLEI:
            return Classified(
                CyR.INADEQUATE,
                "ELN2013.FISH",
                f"{_fish_text(fish)}: fewer than {MIN_FISH_NUCLEI} nuclei cannot show CCyR",
            )
        return Classified(
            CyR.CCYR, "ELN2013.FISH", f"{_fish_text(fish)} < 1%, CCyR by FISH"
        )
    return _banded(pct, scheme, f"{rule}.FISH", partial(_fish_banded_text, fish))


def _banding_text(cyto: Cytogenetics) -> str:
    pct = cyto.ph_percent
    if cyto.metaphases is None:
        return f"Ph+ {_n(pct)}% (metaphase count not given)"
    return f"Ph+ {cyto.ph_pos}/{cyto.metaphases} metaphases = {_n(pct)}%"


def _fish_banded_text(fish: Fish) -> str:
    what = f"FISH-based, {_fish_text(fish)}"
    if fish.nuclei is not None and fish.nuclei < MIN_FISH_NUCLEI:
        what += f", fewer than {MIN_FISH_NUCLEI} nuclei"
    return what


# ---------------------------------------------------------------------------------------------
# Molecular response (BCR::ABL1 % on the International Scale)

MOLECULAR_BANDS: tuple[Band[MR], ...] = (  # "<=" at every threshold (section 14)
    Band(MR.MR5, 0.001, True, "<= 0.001%"),
    Band(MR.MR4_5, 0.0032, True, "<= 0.0032%"),
    Band(MR.MR4, 0.01, True, "<= 0.01%"),
    Band(MR.MMR, 0.1, True, "<= 0.1%"),
    Band(MR.MR2, 1.0, True, "<= 1%"),
    Band(MR.MR1, 10.0, True, "<= 10%"),
    Band(MR.NONE, math.inf, True, "> 10%"),
)

#: Control-gene copies an undetected result needs to show each depth, deepest first (CROSS15;
#: ABL1 minima V2, GUSB minima unverified).
UNDETECTED_MIN_COPIES: dict[str, tuple[tuple[MR, int], ...]] = {
    "ABL1": ((MR.MR5, 100_000), (MR.MR4_5, 32_000), (MR.MR4, 10_000)),
    "GUSB": ((MR.MR5, 240_000), (MR.MR4_5, 77_000), (MR.MR4, 24_000)),
}


def molecular_band(bcr_abl1_is: float) -> MR:
    """The molecular level of a detected BCR::ABL1 value (% IS), ``<=`` at every threshold."""
    if math.isnan(bcr_abl1_is) or bcr_abl1_is < 0:
        raise ValueError(f"BCR::ABL1 {bcr_abl1_is!r} % IS is not a non-negative number")
    return MOLECULAR_BANDS[_lookup(bcr_abl1_is, MOLECULAR_BANDS)].category


def undetected_level(control_gene: str | None, control_copies: float | None) -> MR:
    """The depth an undetected BCR::ABL1 result shows given its control-gene copies."""
    if control_gene is None or control_copies is None:
        return MR.INADEQUATE
    for level, minimum in UNDETECTED_MIN_COPIES[control_gene]:
        if control_copies >= minimum:
            return level
    return MR.INADEQUATE


def _detected_value(pcr: Pcr) -> float | None:
    """The IS value of a detected result (0% IS reads as undetected), else None."""
    value = pcr.bcr_abl1_is
    return value if pcr.is_detected and value is not None and value > 0 else None


def classify_molecular(pcr: Pcr) -> Classified[MR]:
    """Molecular response of one PCR: from the IS value if detected, else from control copies."""
    value = _detected_value(pcr)
    if value is not None:
        i = _lookup(value, MOLECULAR_BANDS)
        level = MOLECULAR_BANDS[i].category
        return Classified(level, "CROSS15.detected", partial(_detected_text, value, i))
    level = undetected_level(pcr.control_gene, pcr.control_copies)
    return Classified(level, "CROSS15.undetected", partial(_undetected_text, pcr, level))


def molecular_response(pcr: Pcr) -> MR:
    """``classify_molecular(pcr).value`` without the rule and basis (the assessment's hot loop;
    the same bands and copy minima decide)."""
    value = _detected_value(pcr)
    if value is not None:
        return MOLECULAR_BANDS[_lookup(value, MOLECULAR_BANDS)].category
    return undetected_level(pcr.control_gene, pcr.control_copies)


def _detected_text(value: float, i: int) -> str:
    level = MOLECULAR_BANDS[i].category
    return f"BCR::ABL1 {_n(value)}% IS: {_band_text(value, MOLECULAR_BANDS, i)}, {level}"


def _undetected_text(pcr: Pcr, level: MR) -> str:
    value = pcr.bcr_abl1_is
    what = "BCR::ABL1 undetected" if value is None else "BCR::ABL1 0% IS, read as undetected"
    gene, copies = pcr.control_gene, pcr.control_copies
    if gene is None or copies is None:
        return f"{what}; control-gene copies not given, depth cannot be shown"
    if level is MR.INADEQUATE:
        floor = UNDETECTED_MIN_COPIES[gene][-1][1]
        return f"{what}; {gene} {_n(copies)} copies < {_n(floor)}: insufficient sensitivity"
    minimum = dict(UNDETECTED_MIN_COPIES[gene])[level]
    return f"{what}; {gene} {_n(copies)} copies >= {_n(minimum)}, {level}"


# ---------------------------------------------------------------------------------------------
# Hematologic response

ChrDefinition = Literal["eln", "who2016", "mdacc"]
_CHR_RULE: dict[str, str] = {"eln": "ELN2006.CHR", "who2016": "WHO2016.CHR", "mdacc": "MDACC.CHR"}
_IMMATURE_FULL = ("blasts_pb", "promyelocytes_pb", "myelocytes_pb", "metamyelocytes_pb")
#: Immature cells each CHR definition excludes (MDACC names blasts, promyelocytes, myelocytes).
IMMATURE_FIELDS: dict[str, tuple[str, ...]] = {
    "eln": _IMMATURE_FULL,
    "who2016": _IMMATURE_FULL,
    "mdacc": _IMMATURE_FULL[:3],
}
CHR_WBC_BELOW = 10.0  # x10^9/L, strict
CHR_PLATELETS_BELOW = 450.0  # x10^9/L, strict
CHR_BASOPHILS_BELOW = 5.0  # %, strict; ELN only


#: One CHR component's state: (met, excused). ``met`` is True, False, or None when the value
#: is not given; ``excused`` says whether PHR excuses a failed component (None: the baseline
#: needed to tell is missing). Only states are computed per count; the wording is written from
#: the same state functions when a basis is read (sixty blood counts a patient make this hot).
_State = tuple[bool | None, bool | None]
_MISSING: _State = (None, False)
_MET: _State = (True, False)
_NOT_EXCUSED: _State = (False, False)
_EXCUSED: _State = (False, True)
_EXCUSE_UNKNOWN: _State = (False, None)
#: A component's wording, or a function that writes it.
_Text = str | Callable[[], str]


def _written(text: _Text) -> str:
    return text if isinstance(text, str) else text()


def _lt(value: float, limit: float) -> str:
    return f"{'<' if value < limit else '>='} {_n(limit)}"


def _compared(what: str, value: float, limit: float, unit: str = "") -> str:
    """``WBC 6.1 < 10`` or ``basophils 5% >= 5%``."""
    return f"{what} {_n(value)}{unit} {_lt(value, limit)}{unit}"


def _name(field: str) -> str:
    return field.removesuffix("_pb")


_IMMATURE_VALUES = {d: operator.attrgetter(*fields) for d, fields in IMMATURE_FIELDS.items()}


def _improved(now: float, before: float) -> _State:
    """A failed component that PHR excuses if it improved by more than 50% since diagnosis."""
    if before <= 0:
        return _NOT_EXCUSED
    # improvement (before - now) / before > 50%, without division
    return _EXCUSED if 2.0 * now < before else _NOT_EXCUSED


def _wbc_state(blood: BloodCount) -> _State:
    wbc = blood.wbc
    if wbc is None:
        return _MISSING
    return _MET if wbc < CHR_WBC_BELOW else _NOT_EXCUSED


def _platelet_state(
    blood: BloodCount, baseline: Diagnosis | None, basis: Literal["excess", "count"]
) -> _State:
    p = blood.platelets
    if p is None:
        return _MISSING
    if p < CHR_PLATELETS_BELOW:
        return _MET
    b = baseline.platelets if baseline is not None else None
    if b is None:
        return _EXCUSE_UNKNOWN
    if basis == "count":
        return _improved(p, b)
    return _improved(p - CHR_PLATELETS_BELOW, b - CHR_PLATELETS_BELOW)


#: Every immature-cell percentage given and 0, the usual differential on treatment.
_NO_IMMATURE = {d: (0.0,) * len(fields) for d, fields in IMMATURE_FIELDS.items()}


def _immature_state(blood: BloodCount, definition: ChrDefinition) -> _State:
    values = _IMMATURE_VALUES[definition](blood)
    if values == _NO_IMMATURE[definition]:
        return _MET  # one tuple comparison in C for the common case of the loop below
    given = False
    for v in values:
        if v is not None:
            if v > 0:
                return _EXCUSED
            given = True
    return _MET if given else _MISSING


def _basophil_state(blood: BloodCount) -> _State:
    baso = blood.basophils_pb
    if baso is None:
        return _MISSING
    return _MET if baso < CHR_BASOPHILS_BELOW else _NOT_EXCUSED


def _spleen_state(blood: BloodCount, baseline: Diagnosis | None) -> _State:
    s = blood.spleen_cm
    if s is None:
        return _MISSING
    if s == 0:
        return _MET
    b = baseline.spleen_cm if baseline is not None else None
    if b is None:
        return _EXCUSE_UNKNOWN
    return _improved(s, b)


def _chr_states(
    blood: BloodCount,
    definition: ChrDefinition,
    baseline: Diagnosis | None,
    thrombocytosis_basis: Literal["excess", "count"],
) -> tuple[_State, ...]:
    """The components in the order the basis names them (basophils by ELN only)."""
    if definition == "eln":
        return (
            _wbc_state(blood),
            _platelet_state(blood, baseline, thrombocytosis_basis),
            _immature_state(blood, definition),
            _basophil_state(blood),
            _spleen_state(blood, baseline),
        )
    return (
        _wbc_state(blood),
        _platelet_state(blood, baseline, thrombocytosis_basis),
        _immature_state(blood, definition),
        _spleen_state(blood, baseline),
    )


# --- The wording of each component, from its state -------------------------------------------


def _improvement_text(
    head: _Text, now: float, before: float, unit: str = "", excess: bool = False
) -> str:
    if before <= 0:
        return _written(head) + " (none at diagnosis)"
    ok = _improved(now, before)[1]
    pct = _n(round(100.0 * (before - now) / before, 1))
    then = f"excess over 450: {_n(now)} vs {_n(before)}" if excess else f"{_n(before)}{unit}"
    verdict = "> 50%" if ok else "not > 50%"
    return f"{_written(head)} ({then} at diagnosis, {pct}% lower: {verdict})"


def _wbc_text(blood: BloodCount) -> str:
    wbc = blood.wbc
    return "WBC not given" if wbc is None else _compared("WBC", wbc, CHR_WBC_BELOW)


def _platelet_text(
    blood: BloodCount, baseline: Diagnosis | None, basis: Literal["excess", "count"]
) -> str:
    state = _platelet_state(blood, baseline, basis)
    p = blood.platelets
    if p is None:
        return "platelets not given"
    head = _compared("platelets", p, CHR_PLATELETS_BELOW)
    if state is _MET:
        return head
    b = baseline.platelets if baseline is not None else None
    if b is None:
        return head + " (count at diagnosis not given)"
    if basis == "count":
        return _improvement_text(head, p, b)
    return _improvement_text(
        head, p - CHR_PLATELETS_BELOW, b - CHR_PLATELETS_BELOW, excess=True
    )


def _immature_text(blood: BloodCount, definition: ChrDefinition) -> str:
    state = _immature_state(blood, definition)
    fields = IMMATURE_FIELDS[definition]
    if state is _MISSING:
        return "differential (immature cells) not given"
    if state is _MET:
        absent = [_name(f) for f in fields if getattr(blood, f) is None]
        tail = f" ({', '.join(absent)} not given)" if absent else ""
        return "no immature cells" + tail
    present = [(f, v) for f in fields if (v := getattr(blood, f)) is not None and v > 0]
    cells = ", ".join(f"{_name(f)} {_n(v)}%" for f, v in present)
    return f"immature cells persist: {cells}"


def _basophil_text(blood: BloodCount) -> str:
    baso = blood.basophils_pb
    if baso is None:
        return "basophils not given"
    return _compared("basophils", baso, CHR_BASOPHILS_BELOW, "%")


def _spleen_text(blood: BloodCount, baseline: Diagnosis | None) -> str:
    state = _spleen_state(blood, baseline)
    s = blood.spleen_cm
    if s is None:
        return "spleen not given"
    if state is _MET:
        return "spleen not palpable"
    head = f"spleen {_n(s)} cm"
    b = baseline.spleen_cm if baseline is not None else None
    if b is None:
        return head + " (size at diagnosis not given)"
    return _improvement_text(head, s, b, unit=" cm")


def _hematologic_text(
    blood: BloodCount,
    definition: ChrDefinition,
    baseline: Diagnosis | None,
    thrombocytosis_basis: Literal["excess", "count"],
    suffix: str,
) -> str:
    parts = [
        _wbc_text(blood),
        _platelet_text(blood, baseline, thrombocytosis_basis),
        _immature_text(blood, definition),
    ]
    if definition == "eln":
        parts.append(_basophil_text(blood))
    parts.append(_spleen_text(blood, baseline))
    return ", ".join(parts) + suffix


def is_chr(blood: BloodCount, *, definition: ChrDefinition = "eln") -> bool | None:
    """Whether the count meets CHR; None when a missing component leaves it open."""
    met = [m for m, _ in _chr_states(blood, definition, None, "excess")]
    if False in met:
        return False
    return None if None in met else True


def _hematologic_outcome(
    blood: BloodCount,
    definition: ChrDefinition,
    baseline: Diagnosis | None,
    thrombocytosis_basis: Literal["excess", "count"],
) -> tuple[HematologicResponse | None, str, str]:
    """(response, rule, suffix of the basis): CHR by the definition, else PHR, else none."""
    outcomes = _OUTCOMES.get(definition)
    if outcomes is None:
        raise ValueError(f"unknown CHR definition {definition!r}")
    states = _chr_states(blood, definition, baseline, thrombocytosis_basis)
    if states == _ALL_MET[definition]:
        return outcomes[0]  # every component met: the usual count on treatment, in one test
    failed = missing = unexcused = excuse_unknown = False
    for met, excused in states:
        if met is None:
            missing = True
        elif not met:
            failed = True
            if excused is False:
                unexcused = True
            elif excused is None:
                excuse_unknown = True
    if not failed:
        return outcomes[1] if missing else outcomes[0]
    if unexcused:
        return _NO_PHR
    if missing or excuse_unknown:
        return _PHR_OPEN
    return _PHR


#: The outcomes as constants (one is picked per count, none is built): per CHR definition,
#: CHR met and CHR not judgeable; then the PHR outcomes, which all definitions share.
_OUTCOMES: dict[str, tuple[tuple[HematologicResponse | None, str, str], ...]] = {
    d: ((HematologicResponse.CHR, rule, ""), (None, rule, "; CHR cannot be judged"))
    for d, rule in _CHR_RULE.items()
}
#: Every component met, per definition (ELN adds basophils to the four shared components).
_ALL_MET = {d: (_MET,) * (5 if d == "eln" else 4) for d in _CHR_RULE}
_NO_PHR = (HematologicResponse.NONE, "MDACC.PHR", "; neither CHR nor PHR")
_PHR_OPEN = (None, "MDACC.PHR", "; not CHR, PHR cannot be judged")
_PHR = (HematologicResponse.PHR, "MDACC.PHR", "; PHR")


def classify_hematologic(
    blood: BloodCount,
    *,
    baseline: Diagnosis | None,
    definition: ChrDefinition = "eln",
    thrombocytosis_basis: Literal["excess", "count"] = "excess",
) -> Classified[HematologicResponse]:
    """CHR by the chosen definition, else PHR (Kantarjian 2003), else none."""
    value, rule, suffix = _hematologic_outcome(blood, definition, baseline, thrombocytosis_basis)
    # The basis holds the inputs only and is written from them when read.
    return Classified(
        value, rule,
        partial(_hematologic_text, blood, definition, baseline, thrombocytosis_basis, suffix),
    )


def hematologic_response(
    blood: BloodCount,
    baseline: Diagnosis | None,
    definition: ChrDefinition,
    thrombocytosis_basis: Literal["excess", "count"],
) -> HematologicResponse | None:
    """``classify_hematologic(...).value`` without the rule and basis (the assessment's hot
    loop; positional, as it calls it sixty times a patient)."""
    return _hematologic_outcome(blood, definition, baseline, thrombocytosis_basis)[0]
