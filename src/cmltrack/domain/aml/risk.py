"""ELN 2022 (and ELN 2017) genetic risk of AML at diagnosis, from an ordered rule table.

The table (``rules/data/aml_eln2022_risk.yaml``) is tried in order; the first rule that applies
decides, and only when every earlier rule is known not to apply. Knowledge is three-valued: a
listed finding or mutation is known present; a recurring finding is known absent only when the
karyotype was done, a gene only when it was tested. What blocks a decision is named in
``missing`` (aml spec section 2).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from cmltrack.domain.records import AML_FINDINGS, AmlGenetics, AmlMutation, PatientRecord
from cmltrack.errors import RuleTableError
from cmltrack.rules.loader import load_table

AmlCriteria = Literal["ELN2022", "ELN2017"]
_TABLES: Mapping[str, str] = {"ELN2022": "aml_eln2022_risk", "ELN2017": "aml_eln2017_risk"}
_GROUPS = ("favorable", "intermediate", "adverse")
_KARYOTYPE = "diagnosis.genetics.karyotype_done"
_OPS = frozenset({"finding", "mutated", "mutated_any", "all", "not", "otherwise"})


@dataclass(frozen=True, slots=True)
class RiskRule:
    id: str
    group: str
    wording: str
    condition: Mapping[str, Any]
    source: str
    status: str
    decides_at_once: bool = False


@dataclass(frozen=True, slots=True)
class AmlRisk:
    """``eln2022_risk`` / ``eln2017_risk`` of the contract."""

    group: str | None
    rule: str | None
    basis: str
    missing: tuple[str, ...] = ()
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"group": self.group, "rule": self.rule, "basis": self.basis,
                "missing": list(self.missing)}


def _check_condition(cond: Any, where: str) -> None:
    if not isinstance(cond, dict) or not cond:
        raise RuleTableError(f"{where}: a condition must be a mapping")
    op = next(iter(cond))
    if op not in _OPS:
        raise RuleTableError(f"{where}: unknown condition {op!r}")
    if op == "finding":
        unknown = set(cond[op]) - set(AML_FINDINGS)
        if unknown:
            raise RuleTableError(f"{where}: findings {sorted(unknown)} are not in the vocabulary")
    elif op == "all":
        for sub in cond[op]:
            _check_condition(sub, where)
    elif op == "not":
        _check_condition(cond[op], where)


@functools.cache
def risk_rules(criteria: AmlCriteria) -> tuple[RiskRule, ...]:
    """The ordered rule table of one edition, checked."""
    table = load_table(_TABLES[criteria])
    rules: list[RiskRule] = []
    for row in table["rules"]:
        if row.get("group") not in _GROUPS:
            raise RuleTableError(f"{row.get('id')}: group must be one of {_GROUPS}")
        _check_condition(row.get("condition"), str(row.get("id")))
        rules.append(RiskRule(
            id=row["id"], group=row["group"], wording=row["wording"],
            condition=row["condition"], source=row["source"], status=row["status"],
            decides_at_once=bool(row.get("decides_at_once", False)),
        ))
    if "otherwise" not in rules[-1].condition:
        raise RuleTableError(f"{_TABLES[criteria]}: the last rule must be 'otherwise'")
    return tuple(rules)


# A three-valued truth: True, False, or None (unknown) with the fields that would decide it.
_Truth = tuple[bool | None, tuple[str, ...]]


class _Facts:
    """What the record's genetics let a rule know."""

    def __init__(self, g: AmlGenetics | None) -> None:
        self.karyotype_done = g is not None and g.karyotype_done is True
        self.findings = frozenset(g.findings) if g is not None else frozenset()
        self.tested = g.tested_genes if g is not None else frozenset()
        self.variants: dict[str, AmlMutation] = {}
        if g is not None:
            for m in g.mutations:
                self.variants.setdefault(m.gene, m)

    def finding(self, names: Sequence[str]) -> _Truth:
        if self.findings.intersection(names):
            return True, ()
        return (False, ()) if self.karyotype_done else (None, (_KARYOTYPE,))

    def mutated(self, cond: Mapping[str, Any]) -> _Truth:
        gene = cond["mutated"]
        m = self.variants.get(gene)
        if m is None:
            if gene in self.tested:
                return False, ()
            return None, (f"diagnosis.genetics.mutations_tested:{gene}",)
        if "vaf_ge" in cond:
            if m.vaf is None:
                return bool(cond.get("vaf_missing_meets")), ()
            return m.vaf >= cond["vaf_ge"], ()
        if "attr" in cond:
            value = getattr(m, cond["attr"])
            if value is None:
                return None, (f"diagnosis.genetics.mutations:{gene}.{cond['attr']}",)
            return bool(value), ()
        if "allelic_ratio_ge" in cond or "allelic_ratio_lt" in cond:
            if m.allelic_ratio is None:
                return None, (f"diagnosis.genetics.mutations:{gene}.allelic_ratio",)
            if "allelic_ratio_ge" in cond:
                return m.allelic_ratio >= cond["allelic_ratio_ge"], ()
            return m.allelic_ratio < cond["allelic_ratio_lt"], ()
        return True, ()

    def truth(self, cond: Mapping[str, Any]) -> _Truth:
        if "finding" in cond:
            return self.finding(cond["finding"])
        if "mutated" in cond:
            return self.mutated(cond)
        if "mutated_any" in cond:
            return _any([self.mutated({"mutated": g}) for g in cond["mutated_any"]])
        if "all" in cond:
            return _all([self.truth(c) for c in cond["all"]])
        if "not" in cond:
            value, missing = self.truth(cond["not"])
            return (None if value is None else not value), missing
        # otherwise: "none of the above" is judged on a done karyotype.
        return (True, ()) if self.karyotype_done else (None, (_KARYOTYPE,))


def _all(parts: Sequence[_Truth]) -> _Truth:
    if any(v is False for v, _ in parts):
        return False, ()
    missing = tuple(f for v, fs in parts if v is None for f in fs)
    return (None, missing) if missing else (True, ())


def _any(parts: Sequence[_Truth]) -> _Truth:
    if any(v is True for v, _ in parts):
        return True, ()
    missing = tuple(f for v, fs in parts if v is None for f in fs)
    return (None, missing) if missing else (False, ())


def _deciding(facts: _Facts, cond: Mapping[str, Any]) -> list[str]:
    """The lesions (or known absences) that made a condition true, in the rule's words."""
    if "finding" in cond:
        return [f for f in cond["finding"] if f in facts.findings]
    if "mutated" in cond:
        gene = cond["mutated"]
        m = facts.variants.get(gene)
        if m is None:
            return []
        if "vaf_ge" in cond:
            return [f"{gene} mutated (VAF {m.vaf:g}%)" if m.vaf is not None
                    else f"{gene} mutated (VAF not given)"]
        if "attr" in cond:
            return [f"{gene} mutated ({cond['attr']})"]
        if m.allelic_ratio is not None:
            return [f"{gene} allelic ratio {m.allelic_ratio:g}"]
        return [f"{gene} mutated"]
    if "mutated_any" in cond:
        return [f"{g} mutated" for g in cond["mutated_any"] if g in facts.variants]
    if "all" in cond:
        return [x for c in cond["all"] for x in _deciding(facts, c)]
    if "not" in cond:
        inner = cond["not"]
        if "finding" in inner:
            return ["no adverse-risk finding"]
        if "mutated" in inner:
            gene = inner["mutated"]
            if gene not in facts.variants:
                return [f"{gene} wild-type"]
            return [f"{gene} allelic ratio {facts.variants[gene].allelic_ratio:g}"]
        return []
    return ["no lesion of an earlier rule"]


def _decided(rule: RiskRule, facts: _Facts, lesions: str) -> AmlRisk:
    deciding = ", ".join(_deciding(facts, rule.condition))
    return AmlRisk(rule.group, rule.id, f"{deciding} ({lesions})", (), rule.source)


def _lesions(facts: _Facts) -> str:
    found = sorted(facts.findings)
    variants = []
    for gene, m in facts.variants.items():
        extra = []
        if m.vaf is not None:
            extra.append(f"VAF {m.vaf:g}%")
        if m.allelic_ratio is not None:
            extra.append(f"allelic ratio {m.allelic_ratio:g}")
        if m.bzip_inframe is not None:
            extra.append("bZIP in-frame" if m.bzip_inframe else "not bZIP in-frame")
        if m.biallelic is not None:
            extra.append("biallelic" if m.biallelic else "monoallelic")
        variants.append(gene + (f" ({', '.join(extra)})" if extra else ""))
    parts = []
    parts.append("findings: " + (", ".join(found) if found else "none listed"))
    parts.append("mutated: " + (", ".join(variants) if variants else "none listed"))
    parts.append("karyotype " + ("done" if facts.karyotype_done else "not done"))
    return "; ".join(parts)


def eln_risk(record: PatientRecord, criteria: AmlCriteria = "ELN2022") -> AmlRisk:
    """The ELN genetic risk group of an AML record (aml spec section 2)."""
    dx = record.diagnosis
    facts = _Facts(dx.genetics if dx is not None else None)
    rules = risk_rules(criteria)
    lesions = _lesions(facts)
    # A present finding of a decides-at-once rule decides whatever is unknown elsewhere
    # (a -7 is adverse without any mutation data); the first such rule in order.
    for rule in rules:
        if rule.decides_at_once and facts.truth(rule.condition)[0] is True:
            return _decided(rule, facts, lesions)
    blocked: list[str] = []
    for rule in rules:
        value, missing = facts.truth(rule.condition)
        if value is None:
            blocked += [f for f in missing if f not in blocked]
        elif value:
            if blocked:
                break
            return _decided(rule, facts, lesions)
    return AmlRisk(None, None, f"not evaluable: {', '.join(blocked)} unknown ({lesions})",
                   tuple(blocked), rules[0].source)
