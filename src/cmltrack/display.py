"""How numbers and names are shown to people: one place for clinical and journal formats.

Numbers: p-values as journals print them (``<0.001``, ``0.003``, ``0.04``, ``0.21``), hazard
ratios and percentages with their interval (``1.51 (1.04-2.19)``, ``89.2% (84.0-94.4)``), doses
as ``400 mg``, BCR::ABL1 ratios with the significant digits a laboratory reports
(``0.0032%``). Machine outputs (``--json``, CSV) keep the unrounded numbers.
"""

from __future__ import annotations

import math
import re

#: An en dash, as journals print ranges; ``ascii=True`` gives a hyphen for plain terminals.
DASH = "\u2013"


def _missing(x: float | None) -> bool:
    return x is None or (isinstance(x, float) and not math.isfinite(x))


def format_p(p: float | None) -> str:
    """A p-value as journals print it (NEJM/Lancet style): ``<0.001``; three decimals below
    0.01; two decimals otherwise, or three where two would round a p below 0.05 up to 0.05;
    ``>0.99`` at the top. ``-`` where there is no test.

    Examples:
        >>> [format_p(p) for p in (5.27e-05, 0.0034, 0.0462, 0.0496, 0.21, 0.999)]
        ['<0.001', '0.003', '0.046', '0.050', '0.21', '>0.99']
    """
    if _missing(p):
        return "-"
    assert p is not None
    if p < 0.001:
        return "<0.001"
    if p > 0.99:
        return ">0.99"
    if p < 0.01 or (p < 0.05 <= round(p, 2)):
        return f"{p:.3f}"
    return f"{p:.2f}"


def format_number(x: float | None, digits: int = 2) -> str:
    """A plain estimate with ``digits`` decimals; ``NR`` (not reached) where it is undefined."""
    return "NR" if _missing(x) else f"{x:.{digits}f}"


def format_estimate(
    x: float | None, lower: float | None, upper: float | None, digits: int = 2
) -> str:
    """``1.51 (1.04-2.19)``; a missing limit prints as NR (not reached), as medians do.

    Examples:
        >>> format_estimate(1.5123, 1.04, 2.194)
        '1.51 (1.04\u20132.19)'
        >>> format_estimate(22.4, 18.1, None, digits=1)
        '22.4 (18.1\u2013NR)'
    """
    return (f"{format_number(x, digits)} ({format_number(lower, digits)}{DASH}"
            f"{format_number(upper, digits)})")


def format_median(
    x: float | None, lower: float | None, upper: float | None, digits: int = 1
) -> str:
    """A median survival with its interval: NR where the curve (or its upper limit) never
    reaches 50%, NE where a lower limit cannot be estimated.

    Examples:
        >>> format_median(21.4, None, None), format_median(None, 30.2, None)
        ('21.4 (NE–NR)', 'NR (30.2–NR)')
    """
    lo = "NE" if _missing(lower) else format_number(lower, digits)
    return f"{format_number(x, digits)} ({lo}{DASH}{format_number(upper, digits)})"


def format_percent(
    x: float | None, lower: float | None = None, upper: float | None = None, digits: int = 1
) -> str:
    """A proportion as a percentage, with its interval when given: ``89.2% (84.0-94.4)``.

    Examples:
        >>> format_percent(0.892, 0.84, 0.944)
        '89.2% (84.0\u201394.4)'
        >>> format_percent(None)
        '-'
    """
    if _missing(x):
        return "-"
    assert x is not None
    head = f"{100 * x:.{digits}f}%"
    if lower is None and upper is None:
        return head
    if _missing(lower) and _missing(upper):
        return f"{head} (NE)"
    lo = "NE" if _missing(lower) else f"{100 * lower:.{digits}f}"  # type: ignore[operator]
    hi = "NE" if _missing(upper) else f"{100 * upper:.{digits}f}"  # type: ignore[operator]
    return f"{head} ({lo}{DASH}{hi})"


def format_dose(mg: float | None) -> str:
    """A daily dose as prescribed: ``400 mg``, ``2.5 mg``.

    Examples:
        >>> format_dose(400.0), format_dose(2.5), format_dose(None)
        ('400 mg', '2.5 mg', '-')
    """
    if _missing(mg):
        return "-"
    return f"{mg:g} mg"


def format_bcr_abl1(percent: float | None) -> str:
    """A BCR::ABL1 (IS) result with two significant digits, as laboratories report it, never in
    exponent notation.

    Examples:
        >>> [format_bcr_abl1(v) for v in (45.0, 9.5, 0.1, 0.0032, 0.00041)]
        ['45%', '9.5%', '0.1%', '0.0032%', '0.00041%']
    """
    if _missing(percent):
        return "-"
    assert percent is not None
    if percent == 0:
        return "0%"
    decimals = max(0, 1 - math.floor(math.log10(abs(percent))))
    text = f"{percent:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{text}%"


#: Orders a clinician reads groups in (risk from low to high, phase from chronic to blast), so
#: that tables, legends and reference levels do not come out alphabetically (high,
#: intermediate, low).
NATURAL_ORDERS: tuple[tuple[str, ...], ...] = (
    ("low", "intermediate", "high"),
    ("low", "high"),
    ("chronic", "accelerated", "blast"),
    ("optimal", "warning", "suboptimal", "failure"),
    ("no", "yes"),
)


def natural_order(values: object) -> list[object]:
    """Distinct ``values`` in the order a clinician expects: a known clinical scale in its
    order (unknown values after it, sorted), numbers by value, other text alphabetically.

    Examples:
        >>> natural_order(["high", "low", "intermediate", "low"])
        ['low', 'intermediate', 'high']
        >>> natural_order([10, 2, 2])
        [2, 10]
    """
    distinct = list(dict.fromkeys(values))  # type: ignore[call-overload]
    texts = {str(v).lower() for v in distinct}
    for scale in NATURAL_ORDERS:
        if texts & set(scale) and texts - {"missing", "unknown", "none", "nan"} <= set(scale):
            rank = {name: i for i, name in enumerate(scale)}
            return sorted(distinct, key=lambda v: (rank.get(str(v).lower(), len(rank)), str(v)))
    try:
        return sorted(distinct)
    except TypeError:
        return sorted(distinct, key=str)


#: Display names of fields, toxicity terms (CTCAE v5 wording), events, endpoints and baseline
#: columns: the one table every report, plot and terminal table reads its labels from.
DISPLAY_NAMES: dict[str, str] = {
    # baseline (the ``endpoints --baseline`` table)
    "USUBJID": "Patient",
    "sex": "Sex",
    "age": "Age at diagnosis (years)",
    "phase": "Phase at diagnosis",
    "transcript": "BCR::ABL1 transcript",
    "first_drug": "First TKI",
    "start_dose": "Starting dose (mg/day)",
    "sokal_score": "Sokal score",
    "sokal_group": "Sokal risk",
    "hasford_group": "Hasford (Euro) risk",
    "eutos_group": "EUTOS risk",
    "elts_score": "ELTS score",
    "elts_group": "ELTS risk",
    # CTCAE terms graded from blood counts and chemistry
    "neutrophils": "Neutrophil count decreased",
    "platelets": "Platelet count decreased",
    "anemia": "Anemia",
    "wbc": "White blood cell decreased",
    "lymphocytes": "Lymphocyte count decreased",
    "alt": "ALT increased",
    "ast": "AST increased",
    "bilirubin": "Blood bilirubin increased",
    "creatinine": "Creatinine increased",
    # events
    "hematologic_resistance": "Hematologic resistance",
    "cytogenetic_resistance": "Cytogenetic resistance",
    "hematologic_relapse": "Hematologic relapse",
    "cytogenetic_relapse": "Cytogenetic relapse",
    "loss_of_chr": "Loss of CHR",
    "loss_of_mcyr": "Loss of MCyR",
    "loss_of_ccyr": "Loss of CCyR",
    "loss_of_mmr": "Loss of MMR",
    "progression": "Progression",
    "new_mutation": "New BCR::ABL1 mutation",
    "new_aca": "New additional chromosomal abnormality",
    "toxicity": "Toxicity",
    "death": "Death",
    "tki_stop": "TKI stop (treatment-free remission)",
    "transplant": "Stem cell transplant",
    "lost_to_follow_up": "Lost to follow-up",
    "off_study": "Off study",
    "pregnancy": "Pregnancy",
    "post_transplant_relapse": "Relapse after transplant",
    # recommended actions
    "continue": "Continue",
    "escalate_dose": "Escalate dose",
    "reduce_dose": "Reduce dose",
    "hold": "Hold",
    "resume": "Resume",
    "switch_tki": "Switch TKI",
    "mutation_analysis": "BCR::ABL1 mutation analysis",
    "marrow_cytogenetics": "Marrow cytogenetics",
    "repeat_pcr": "Repeat BCR::ABL1 PCR",
    "hsct_evaluation": "Evaluate for stem cell transplant",
    "consider_tfr": "Consider treatment-free remission",
    "restart_tki": "Restart TKI",
    "increase_monitoring": "Monitor more often",
    "discontinue": "Discontinue",
    "avoid_comedication": "Avoid the co-medication",
    "combine_chemotherapy": "Combine with chemotherapy",
    "immunophenotyping": "Immunophenotyping",
    "donor_lymphocyte_infusion": "Donor lymphocyte infusion",
    "start_tki": "Start TKI",
    # scheduled tests (the monitoring schedule)
    "pcr": "BCR::ABL1 PCR",
    "blood": "Blood count",
    "marrow": "Marrow cytogenetics",
    # ADTTE parameters
    "TTCHR": "Time to CHR",
    "TTCCYR": "Time to CCyR",
    "TTMMR": "Time to MMR",
    "TTMR4": "Time to MR4",
    "TTMR45": "Time to MR4.5",
    "DURMMR": "Duration of MMR",
    "PFS": "Progression-free survival",
    "EFS": "Event-free survival",
    "OS": "Overall survival",
    "TTF": "Time to treatment failure",
}


def display_name(key: str) -> str:
    """The label a clinician reads for a field, term, event or endpoint; an unknown key is
    shown with its underscores as spaces and its first letter capitalised.

    Examples:
        >>> display_name("alt"), display_name("loss_of_mmr"), display_name("sokal_group")
        ('ALT increased', 'Loss of MMR', 'Sokal risk')
    """
    if key in DISPLAY_NAMES:
        return DISPLAY_NAMES[key]
    text = key.replace("_", " ").strip()
    return text[:1].upper() + text[1:]


_REPEATED_BOUND = re.compile(
    # "<= 10% (≤10%)", "> 1% and <= 10% (>1–10%)": the rule's wording repeats the bound just
    # stated; the clinician reads the wording alone.
    r"(?:[<>]=?\s*\d+(?:\.\d+)?%?(?:\s+and\s+[<>]=?\s*\d+(?:\.\d+)?%?)?)\s+\(([≤≥<>][^()]*)\)"
)
_CTCAE = re.compile(r"CTCAE grade (\d) ([a-z_]+)")
#: "event loss_of_mmr" in an explanation: the event by its name.
_EVENT = re.compile(r"\bevent ([a-z][a-z0-9]*(?:_[a-z0-9]+)+|progression|death|toxicity)\b")
_INTERNAL = (
    # Where the reading is cmltrack's own (a choice the guideline leaves open), say so in words
    # instead of naming the project's reference files.
    (re.compile(r";?\s*cmltrack convention, clinical-rules(?:-2)?(?:\.md)? section \d+"
                r"(?: '[^']*')?(?: and clinical-rules(?:-2)? section \d+)?"),
     "; cmltrack's reading where the guideline leaves a choice"),
    (re.compile(r";?\s*clinical-rules(?:-2)?(?:\.md)? section \d+,? (?:unverified|U\b)"),
     "; not yet verified against the publication"),
    (re.compile(r"\bU: [^;)]*"), "not yet verified against the publication"),
    (re.compile(r";?\s*clinical-rules(?:-2)?(?:\.md)? section \d+(?: '[^']*')?"), ""),
    (re.compile(r"\(\s*;\s*"), "("),
    (re.compile(r"Kantarjian 2003, seed 004"), "Kantarjian H, et al. Blood 2003"),
    (re.compile(r"[\w/-]+\.(?:yaml|md|py)\b"), ""),
)


def clinical_text(text: str | None) -> str:
    """A rule's basis or source as a clinician reads it: a bound stated once (``≤10%``, not
    ``<= 10% (≤10%)``), ≤ and ≥ signs, CTCAE terms by name, published sources instead of
    the project's file names, and an unverified rule said to be so in words.

    Examples:
        >>> clinical_text("BCR::ABL1 6.20% IS <= 10% (≤10%)")
        'BCR::ABL1 6.20% IS ≤10%'
        >>> clinical_text("BCR::ABL1 3.2% IS > 1% and <= 10% (>1–10%)")
        'BCR::ABL1 3.2% IS >1–10%'
        >>> clinical_text("CTCAE grade 3 neutrophils")
        'CTCAE grade 3 Neutrophil count decreased'
        >>> clinical_text("Leukemia 2020 (atypical transcripts; "
        ...               "clinical-rules section 12, unverified)")
        'Leukemia 2020 (atypical transcripts; not yet verified against the publication)'
    """
    if not text:
        return "" if text is None else text
    out = _REPEATED_BOUND.sub(lambda m: m.group(1), text)
    out = out.replace("<=", "≤").replace(">=", "≥")
    out = _CTCAE.sub(lambda m: f"CTCAE grade {m.group(1)} {display_name(m.group(2))}", out)
    out = _EVENT.sub(lambda m: f"event: {display_name(m.group(1))}", out)
    for pattern, replacement in _INTERNAL:
        out = pattern.sub(replacement, out)
    return out.replace(" ()", "").replace("  ", " ").strip()


def unverified(source: str | None) -> bool:
    """Whether a rule's source says it is not yet verified against its publication."""
    return bool(source) and "not yet verified" in clinical_text(source)


def source_text(source: str | None) -> str | None:
    """A rule's source as published; a rule not yet checked against it is flagged in words.

    Examples:
        >>> source_text("Leukemia 2020 (clinical-rules section 12, U)")
        'Leukemia 2020 (not yet verified against the publication) [rule not yet verified]'
    """
    if source is None:
        return None
    text = clinical_text(source)
    return text if not unverified(source) else f"{text} [rule not yet verified]"
