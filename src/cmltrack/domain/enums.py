"""The categories of cmltrack, spelled exactly as the contracts spell them.

Response vocabulary (explained once here):
- CHR, complete hematologic response: normal blood count and differential, spleen not palpable.
- PHR, partial hematologic response (M.D. Anderson): CHR but for persisting immature cells, or
  a palpable spleen / thrombocytosis improved by more than 50%.
- CCyR / PCyR / minor / minimal: complete, partial, minor and minimal cytogenetic response by
  the percentage of Ph+ marrow metaphases; MCyR (major) = CCyR or PCyR.
- MMR (MR3), MR4, MR4.5, MR5: major and deep molecular responses, BCR::ABL1 on the International
  Scale (IS) at or below 0.1%, 0.01%, 0.0032% and 0.001%; MR2 (<= 1%) and MR1 (<= 10%) as
  named here for the shallower levels.
"""

from __future__ import annotations

from enum import StrEnum


class HematologicResponse(StrEnum):
    CHR = "CHR"
    PHR = "PHR"
    NONE = "none"


class CytogeneticResponse(StrEnum):
    CCYR = "CCyR"
    PCYR = "PCyR"
    MINOR = "minor"
    MINIMAL = "minimal"
    NONE = "none"
    INADEQUATE = "inadequate"


class MolecularResponse(StrEnum):
    MR5 = "MR5"
    MR4_5 = "MR4.5"
    MR4 = "MR4"
    MMR = "MMR"
    MR2 = "MR2"
    MR1 = "MR1"
    NONE = "none"
    INADEQUATE = "inadequate"


#: Depth order, deepest first; `inadequate` is not a depth and is ranked separately.
MOLECULAR_DEPTH: tuple[MolecularResponse, ...] = (
    MolecularResponse.MR5,
    MolecularResponse.MR4_5,
    MolecularResponse.MR4,
    MolecularResponse.MMR,
    MolecularResponse.MR2,
    MolecularResponse.MR1,
    MolecularResponse.NONE,
)
CYTOGENETIC_DEPTH: tuple[CytogeneticResponse, ...] = (
    CytogeneticResponse.CCYR,
    CytogeneticResponse.PCYR,
    CytogeneticResponse.MINOR,
    CytogeneticResponse.MINIMAL,
    CytogeneticResponse.NONE,
)
HEMATOLOGIC_DEPTH: tuple[HematologicResponse, ...] = (
    HematologicResponse.CHR,
    HematologicResponse.PHR,
    HematologicResponse.NONE,
)


class Phase(StrEnum):
    CHRONIC = "chronic"
    ACCELERATED = "accelerated"
    BLAST = "blast"


class MilestoneStatus(StrEnum):
    OPTIMAL = "optimal"
    WARNING = "warning"
    SUBOPTIMAL = "suboptimal"
    FAILURE = "failure"
    NOT_EVALUABLE = "not_evaluable"
    PENDING = "pending"


class FollowUpStatus(StrEnum):
    """``current.status`` once the patient has died or is lost to follow-up (they extend the
    contract's status values, clinical-rules-2 section 10)."""

    DECEASED = "deceased"
    LOST_TO_FOLLOW_UP = "lost_to_follow_up"


#: Severity for combining statuses: the worst one met wins.
STATUS_SEVERITY: dict[MilestoneStatus, int] = {
    MilestoneStatus.OPTIMAL: 0,
    MilestoneStatus.WARNING: 1,
    MilestoneStatus.SUBOPTIMAL: 2,
    MilestoneStatus.FAILURE: 3,
}


class EventKind(StrEnum):
    HEMATOLOGIC_RESISTANCE = "hematologic_resistance"
    CYTOGENETIC_RESISTANCE = "cytogenetic_resistance"
    HEMATOLOGIC_RELAPSE = "hematologic_relapse"
    CYTOGENETIC_RELAPSE = "cytogenetic_relapse"
    LOSS_OF_CHR = "loss_of_chr"
    LOSS_OF_MCYR = "loss_of_mcyr"
    LOSS_OF_CCYR = "loss_of_ccyr"
    LOSS_OF_MMR = "loss_of_mmr"
    PROGRESSION = "progression"
    NEW_MUTATION = "new_mutation"
    NEW_ACA = "new_aca"
    TOXICITY = "toxicity"
    # Vital and follow-up status, echoed from the record (clinical-rules-2 section 10).
    DEATH = "death"
    LOST_TO_FOLLOW_UP = "lost_to_follow_up"
    TRANSPLANT = "transplant"
    TKI_STOP = "tki_stop"
    OFF_STUDY = "off_study"
    POST_TRANSPLANT_RELAPSE = "post_transplant_relapse"


class Action(StrEnum):
    CONTINUE = "continue"
    ESCALATE_DOSE = "escalate_dose"
    REDUCE_DOSE = "reduce_dose"
    HOLD = "hold"
    RESUME = "resume"
    SWITCH_TKI = "switch_tki"
    MUTATION_ANALYSIS = "mutation_analysis"
    MARROW_CYTOGENETICS = "marrow_cytogenetics"
    REPEAT_PCR = "repeat_pcr"
    HSCT_EVALUATION = "hsct_evaluation"
    CONSIDER_TFR = "consider_tfr"
    RESTART_TKI = "restart_tki"
    INCREASE_MONITORING = "increase_monitoring"
    # clinical-rules-2 section 10, new actions
    DISCONTINUE = "discontinue"
    AVOID_COMEDICATION = "avoid_comedication"
    COMBINE_CHEMOTHERAPY = "combine_chemotherapy"
    IMMUNOPHENOTYPING = "immunophenotyping"
    DONOR_LYMPHOCYTE_INFUSION = "donor_lymphocyte_infusion"
    START_TKI = "start_tki"


class Guideline(StrEnum):
    ELN2020 = "ELN2020"
    ELN2013 = "ELN2013"
    ELN2009 = "ELN2009"
    ELN2006 = "ELN2006"


class CytogeneticScheme(StrEnum):
    """ELN (PCyR 1-35%, minimal 66-95%, none > 95%) or M.D. Anderson (PCyR 1-34%, minor 35-90%)."""

    ELN = "eln"
    MDACC = "mdacc"


class PhaseCriteria(StrEnum):
    """ELN 2013/2020 (MDACC-based), modified MDACC (NCCN), WHO 2016, ICC 2022, WHO 2022
    (5th edition: chronic and blast phase only)."""

    ELN = "eln"
    MDACC = "mdacc"
    WHO2016 = "who2016"
    ICC2022 = "icc2022"
    WHO2022 = "who2022"


class CtcaeVersion(StrEnum):
    V5 = "5.0"
    V4_03 = "4.03"


TKIS: frozenset[str] = frozenset(
    {"imatinib", "dasatinib", "nilotinib", "bosutinib", "ponatinib", "asciminib", "radotinib",
     "flumatinib", "olverembatinib"}
)
SECOND_GENERATION_TKIS: frozenset[str] = frozenset(
    {"dasatinib", "nilotinib", "bosutinib", "radotinib", "flumatinib"}
)
