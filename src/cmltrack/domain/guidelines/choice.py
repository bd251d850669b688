"""Label doses by phase and line, and the choice of the next TKI (clinical-rules-2 sections 1, 3).

``label_dose`` reads ``rules/data/tki_labels.yaml``: the dose of a drug in a phase, as first
line (no earlier TKI) or later line, with the asciminib T315I dose. A drug with no row for the
phase is not indicated there (asciminib outside chronic phase, nilotinib in blast phase,
ponatinib newly diagnosed): no dose.

``next_tki_options`` applies section 3's candidate rules, in order: candidates asciminib,
bosutinib, dasatinib, nilotinib, ponatinib; remove (1) the current drug when it is failing,
(2) any TKI whose line ended for resistance, failure or progression, (3) drugs not indicated for
the phase, (4) ponatinib unless T315I is present or at least two TKIs were given, (5) every drug
the mutation table lists against a mutation reported on or before ``as_of``. ``options`` is what
is left, ``avoid`` the drugs removed by rule (5), each in alphabetical order, with each option's
label start dose for the phase (asciminib 400 mg/day with T315I). Imatinib is never an option
after failure.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cmltrack.domain.enums import Phase
from cmltrack.domain.guidelines.label import RuleRow, RuleTable, load_rule_table
from cmltrack.errors import RuleTableError
from cmltrack.rules.guideline_tables import load_mutation_table

#: Reasons a line ended that mean the drug failed (it is not offered again).
FAILED_REASONS = frozenset({"resistance", "failure", "progression"})


@functools.cache
def _table() -> RuleTable:
    t = load_rule_table("tki_labels")
    cands = t.extra.get("candidates")
    if not isinstance(cands, list) or not cands:
        raise RuleTableError("tki_labels: 'candidates' must list the TKIs offered after failure")
    return t


def candidates() -> tuple[str, ...]:
    return tuple(sorted(str(c) for c in _table().extra["candidates"]))


def _dose_rows(drug: str) -> list[RuleRow]:
    return [r for r in _table().rows.values()
            if r.id.startswith(f"LABEL.{drug}.dose") and r.condition.get("drug") == drug]


def label_dose(
    drug: str, phase: Phase | None, *, later_line: bool, t315i: bool = False
) -> tuple[float, RuleRow] | None:
    """The label dose (mg/day) of ``drug`` in ``phase`` and its row, or None when the label
    gives none (not indicated, or the phase unknown)."""
    if phase is None:
        return None
    best: RuleRow | None = None
    for row in _dose_rows(drug):
        cond: Mapping[str, Any] = row.condition
        if str(phase) not in cond.get("phase", ()):
            continue
        line = cond.get("line", "any")
        line_ok = (line == "any" or (line == "later") == later_line
                   or (t315i and cond.get("or_t315i") is True))
        if not line_ok:
            continue
        if cond.get("t315i") is True:
            if t315i:
                best = row  # the T315I row wins over the plain one
            continue
        if best is None:
            best = row
    if best is None:
        return None
    dose = best.dose
    if isinstance(dose, bool) or not isinstance(dose, int | float):
        raise RuleTableError(f"tki_labels: {best.id} dose is not a number")
    return float(dose), best


@dataclass(frozen=True, slots=True)
class TkiOptions:
    """The next TKIs: options with their start doses, the drugs a mutation rules out, and why
    each candidate was left out (for ``because`` and ``explain``)."""

    options: tuple[str, ...]
    avoid: tuple[str, ...]
    start_doses: Mapping[str, float]
    removed: Mapping[str, str]

    def describe(self) -> str:
        opts = ", ".join(f"{d} {self.start_doses[d]:g} mg/day" for d in self.options) or "none"
        out = f"options: {opts}"
        if self.removed:
            out += "; not offered: " + "; ".join(f"{d} ({why})"
                                                for d, why in sorted(self.removed.items()))
        return out


def next_tki_options(
    *,
    tried: Sequence[tuple[str, str | None]],
    current_failing: bool,
    phase: Phase | None,
    mutations: Iterable[str],
    pool: Iterable[str] | None = None,
) -> TkiOptions:
    """The options after failure. ``tried``: each TKI line so far as (drug, reason it ended),
    the current line last; ``mutations``: every mutation reported up to ``as_of``; ``pool``
    narrows the candidates (the drugs of an older guideline's era)."""
    muts = set(mutations)
    t315i = "T315I" in muts
    avoid_by = load_mutation_table().avoid(muts)
    drugs_given = {d for d, _ in tried}
    current = tried[-1][0] if tried else None
    removed: dict[str, str] = {}
    avoid: list[str] = []
    options: list[str] = []
    doses: dict[str, float] = {}
    allowed = set(candidates() if pool is None else pool) & set(candidates())
    for drug in sorted(allowed):
        failed = [why for d, why in tried if d == drug and why in FAILED_REASONS]
        if drug == current and current_failing:
            removed[drug] = "failing now"
            continue
        if failed:
            removed[drug] = f"ended earlier for {failed[-1]}"
            continue
        dose = label_dose(drug, phase, later_line=True, t315i=t315i)
        if dose is None:
            removed[drug] = f"not indicated in {phase} phase" if phase else "phase unknown"
            continue
        if drug == "ponatinib" and not t315i and len(drugs_given) < 2:
            removed[drug] = "only with T315I or after at least two TKIs"
            continue
        if drug in avoid_by:
            removed[drug] = "mutation " + ", ".join(avoid_by[drug])
            avoid.append(drug)
            continue
        options.append(drug)
        doses[drug] = dose[0]
    return TkiOptions(tuple(options), tuple(avoid), doses, removed)


CHOICE_SOURCE = (
    "clinical-rules-2 section 3 (candidates and mutation table: NCCN v4.2013 Table 5 and later "
    "NCCN lists, V2) and section 1 (label doses: SPRYCEL, TASIGNA, BOSULIF, ICLUSIG, SCEMBLIX "
    "USPIs, V2)"
)
