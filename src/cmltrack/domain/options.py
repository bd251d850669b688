"""Assessment options: every choice the sources leave open, named, with the contract's defaults."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from cmltrack.domain.enums import CtcaeVersion, CytogeneticScheme, Guideline, PhaseCriteria


@dataclass(frozen=True, slots=True)
class LabLimits:
    """Site reference limits used where an observation carries no ``<field>_lln/_uln``.

    Defaults are common adult reference limits (document your site's own in a site config):
    counts 10^9/L, hemoglobin g/dL, ALT/AST U/L, bilirubin and creatinine mg/dL.
    """

    anc_lln: float = 1.8
    wbc_lln: float = 4.0
    platelets_lln: float = 150.0
    lymphocytes_lln: float = 1.0
    hemoglobin_lln_female: float = 12.0
    hemoglobin_lln_male: float = 13.5
    alt_uln: float = 40.0
    ast_uln: float = 40.0
    bilirubin_uln: float = 1.2
    creatinine_uln: float = 1.1


@dataclass(frozen=True, slots=True)
class AssessOptions:
    """What ``assess`` is asked to judge by. Only the edges (CLI, service) choose defaults."""

    guideline: Guideline = Guideline.ELN2020
    cytogenetic_scheme: CytogeneticScheme = CytogeneticScheme.ELN
    phase_criteria: PhaseCriteria = PhaseCriteria.ELN
    protocol: Literal["kantarjian2003", "clag-im", "actim"] | None = None
    #: AML response and risk criteria: ELN 2022 (default) or ELN 2017 (adds ``eln2017_risk``).
    aml_criteria: Literal["ELN2022", "ELN2017"] = "ELN2022"
    ctcae_version: CtcaeVersion = CtcaeVersion.V5
    limits: LabLimits = LabLimits()
    #: CHR definition: ELN 2006 (basophils < 5% clause), WHO 2016 (no basophil clause), or the
    #: numeric M.D. Anderson reading (no blasts/promyelocytes/myelocytes; unverified, option).
    chr_definition: Literal["eln", "who2016", "mdacc"] = "eln"
    #: PHR "degree of thrombocytosis": improvement of the excess above 450 (default) or of the
    #: platelet count itself (the source leaves the denominator open).
    thrombocytosis_basis: Literal["excess", "count"] = "excess"
    #: High-risk ACA list: ELN 2020 (default) or German CML Study IV (adds +17, +21).
    high_risk_aca: Literal["eln2020", "cml_study_iv"] = "eln2020"
    #: ``current.status``: "latest" (default; the assessment contract: the latest landmark or
    #: any-time judgement that applies, so a later result replaces a landmark's verdict) or
    #: "worst" (clinical-rules section 14 read literally: the worst of the latest landmark and
    #: the latest any-time judgements). Failures since the last therapy change stand in both.
    standing_rule: Literal["latest", "worst"] = "latest"
    #: How long a failure stands: "until_change" (default; clinical-rules section 14: until a
    #: new drug or a new dose) or "until_optimal" (also ended by a later result that meets the
    #: edition's optimal cell, e.g. MMR reached without a change: a clinician no longer switches).
    failure_stands: Literal["until_change", "until_optimal"] = "until_change"
