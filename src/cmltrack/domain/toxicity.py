"""CTCAE grading of the laboratory terms a CML clinic follows (v5.0 by default, v4.03 selectable).

The criteria are data: ``rules/data/ctcae_v5.yaml`` and ``ctcae_v4.yaml`` hold, per term and
grade, the CTCAE wording beside a structured condition (in the manner of pharmaverse admiral's
adlb_grading tables). They are validated when loaded: unique ids, every band cited, grades
contiguous with the edges of neighbouring grades meeting exactly (no gap, no overlap).

Conventions (clinical rules reference sections 8 and 14; where the sources are silent, ours):
- "Decreased" terms (neutrophils, platelets, anemia, wbc, lymphocytes) need the lower limit of
  normal. A value at or above the LLN is grade 0: the term is a count *below* normal, so a
  site LLN lower than a CTCAE cut-off (say ANC LLN 1.4) leaves values between them at grade 0
  where admiral's coding would give grade 2. Below the LLN, grades follow the cut-offs with
  strict "<": a value exactly on a cut-off takes the milder grade (ANC 1.0 is grade 2).
- "Increased" terms (ALT, AST, bilirubin, creatinine) need the ULN. A value at or below the ULN
  is grade 0 (this also applies to creatinine's multiples of baseline: a rise that stays within
  normal limits is not "creatinine increased"). "> k x ULN" is strict.
- The limit a term needs missing: not gradable (None), never a guessed grade.
- v5.0 ALT/AST/bilirubin: with an abnormal baseline (baseline > its ULN) the grade is taken on
  multiples of the baseline; ALT/AST grade 1 then starts at >= 1.5 x baseline (admiral). No
  baseline means a normal baseline. Creatinine: the worse of the ULN and baseline grades.
- Anemia grade 4 is clinical ("life-threatening consequences") and never assigned from a number.
- Products such as 1.5 x ULN are compared to 12 significant digits, so a value printed exactly
  on a cut-off is on it despite binary floating point (admiral rounds with ``signif`` too).
- A baseline of 0 cannot be multiplied into a cut-off and counts as no baseline.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from cmltrack.domain.enums import CtcaeVersion
from cmltrack.domain.options import LabLimits
from cmltrack.domain.records import BloodCount, Chemistry, PatientRecord
from cmltrack.domain.timeline import first_tki_start
from cmltrack.errors import InputError, RuleTableError
from cmltrack.rules.loader import load_table

Op = Literal["<", "<=", ">", ">="]
Ref = Literal["lln", "uln", "baseline"]
Applies = Literal["always", "baseline_normal", "baseline_abnormal", "baseline_given"]

_TABLES: dict[CtcaeVersion, str] = {CtcaeVersion.V5: "ctcae_v5", CtcaeVersion.V4_03: "ctcae_v4"}
_LOWER_OPS: frozenset[str] = frozenset({">", ">="})
_UPPER_OPS: frozenset[str] = frozenset({"<", "<="})
#: Where one grade's edge meets the next grade's, the two operators must be complementary.
_COMPLEMENT: dict[str, str] = {"<": ">=", ">=": "<", "<=": ">", ">": "<="}
_APPLIES: frozenset[str] = frozenset(
    {"always", "baseline_normal", "baseline_abnormal", "baseline_given"}
)


@dataclass(frozen=True, slots=True)
class Edge:
    """One side of a band: ``value op bound`` with bound = ``value`` or ``times`` x ``of``."""

    op: Op
    value: float | None = None
    times: float | None = None
    of: Ref | None = None

    def bound(self, refs: Mapping[str, float | None]) -> float:
        if self.of is None:
            assert self.value is not None
            return self.value
        ref = refs[self.of]
        assert ref is not None, f"{self.of} needed but absent"  # guaranteed by grade_ctcae
        assert self.times is not None
        return self.times * ref

    def holds(self, x: float, refs: Mapping[str, float | None]) -> bool:
        return _compare(x, self.op, self.bound(refs))

    def key(self) -> tuple[float | None, float | None, str | None]:
        return (self.value, self.times, self.of)


@dataclass(frozen=True, slots=True)
class Band:
    id: str
    grade: int
    wording: str
    source: str
    lower: Edge | None = None
    upper: Edge | None = None
    #: A grade defined by clinical facts only, never assigned from a number.
    clinical: bool = False

    def holds(self, x: float, refs: Mapping[str, float | None]) -> bool:
        if self.clinical:
            return False
        ok_low = self.lower is None or self.lower.holds(x, refs)
        return ok_low and (self.upper is None or self.upper.holds(x, refs))


@dataclass(frozen=True, slots=True)
class Scale:
    applies: Applies
    bands: tuple[Band, ...]


@dataclass(frozen=True, slots=True)
class CtcaeTerm:
    id: str
    key: str
    term: str
    field: str
    direction: Literal["decreased", "increased"]
    unit: str
    scales: tuple[Scale, ...]


@dataclass(frozen=True, slots=True)
class CtcaeTable:
    version: CtcaeVersion
    sources: Mapping[str, str]
    terms: Mapping[str, CtcaeTerm]


#: The only operators a table may name, looked up here (nothing in a table is evaluated).
_OPS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}


#: Within normal limits (grade 0): a decreased term at or above its LLN, an increased one at
#: or below its ULN.
_NORMAL_OP: dict[str, Op] = {"decreased": ">=", "increased": "<="}

#: Whether an operator includes its bound (``<=``, ``>=``).
_INCLUSIVE: dict[str, bool] = {"<": False, "<=": True, ">": False, ">=": True}


def _compare(x: float, op: str, bound: float) -> bool:
    """``x op bound``, with ``x`` on the cut-off when equal to it to 12 significant digits."""
    holds = _OPS[op](x, bound)
    if holds == _INCLUSIVE[op]:
        # An inclusive comparison that holds, or a strict one that fails, also does so for
        # x = bound: the tolerance cannot change it (and most values are far from a cut-off).
        return holds
    if math.isclose(x, bound, rel_tol=1e-12, abs_tol=1e-12):
        return not holds  # x is read as the bound itself
    return holds


# --- Loading and validating the tables ---------------------------------------------------------


def _fail(name: str, where: str, what: str) -> RuleTableError:
    return RuleTableError(f"rule table {name!r}, {where}: {what}")


def _mapping(
    obj: Any, name: str, where: str, required: set[str], optional: set[str]
) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise _fail(name, where, f"expected a mapping, got {type(obj).__name__}")
    keys = set(obj)
    if missing := required - keys:
        raise _fail(name, where, f"missing {sorted(missing)}")
    if unknown := keys - required - optional:
        raise _fail(name, where, f"unknown keys {sorted(unknown)}")
    return obj


def _text(obj: Any, name: str, where: str) -> str:
    if not isinstance(obj, str) or not obj.strip():
        raise _fail(name, where, "must be non-empty text")
    return obj


def _number(obj: Any, name: str, where: str) -> float:
    if isinstance(obj, bool) or not isinstance(obj, int | float) or not math.isfinite(obj):
        raise _fail(name, where, f"must be a finite number, got {obj!r}")
    return float(obj)


def _parse_edge(obj: Any, name: str, where: str, ops: frozenset[str]) -> Edge:
    d = _mapping(obj, name, where, {"op"}, {"value", "times", "of"})
    op = d["op"]
    if op not in ops:
        raise _fail(name, where, f"op {op!r} is not one of {sorted(ops)}")
    if "value" in d:
        if "times" in d or "of" in d:
            raise _fail(name, where, "give either value or times/of, not both")
        return Edge(op=op, value=_number(d["value"], name, f"{where}.value"))
    if "times" not in d or "of" not in d:
        raise _fail(name, where, "needs value, or times and of")
    of = d["of"]
    if of not in ("lln", "uln", "baseline"):
        raise _fail(name, where, f"of {of!r} is not lln, uln or baseline")
    times = _number(d["times"], name, f"{where}.times")
    if times <= 0:
        raise _fail(name, where, "times must be > 0")
    return Edge(op=op, times=times, of=of)


def _scalar(e: Edge) -> float:
    """The number an edge multiplies by (or its absolute value), to order edges of one ref."""
    n = e.value if e.of is None else e.times
    assert n is not None
    return n


def _parse_band(obj: Any, name: str, where: str, sources: Mapping[str, str]) -> Band:
    d = _mapping(
        obj, name, where, {"id", "grade", "wording", "source"}, {"lower", "upper", "clinical"}
    )
    grade = d["grade"]
    if isinstance(grade, bool) or not isinstance(grade, int) or not 1 <= grade <= 4:
        raise _fail(name, where, f"grade must be 1-4, got {grade!r}")
    source = _text(d["source"], name, f"{where}.source")
    if source not in sources:
        raise _fail(name, where, f"source {source!r} is not cited under 'sources'")
    clinical = d.get("clinical", False)
    if not isinstance(clinical, bool):
        raise _fail(name, where, "clinical must be true or false")
    lower = _parse_edge(d["lower"], name, f"{where}.lower", _LOWER_OPS) if "lower" in d else None
    upper = _parse_edge(d["upper"], name, f"{where}.upper", _UPPER_OPS) if "upper" in d else None
    if clinical and (lower or upper):
        raise _fail(name, where, "a clinical band has no numeric edges")
    if not clinical and lower is None and upper is None:
        raise _fail(name, where, "a numeric band needs a lower or an upper edge")
    if lower is not None and upper is not None and lower.of == upper.of and _scalar(
        lower
    ) >= _scalar(upper):
        raise _fail(name, where, "lower edge is not below the upper edge (empty band)")
    return Band(
        id=_text(d["id"], name, f"{where}.id"),
        grade=grade,
        wording=_text(d["wording"], name, f"{where}.wording"),
        source=source,
        lower=lower,
        upper=upper,
        clinical=clinical,
    )


def _check_contiguous(bands: tuple[Band, ...], direction: str, name: str, where: str) -> None:
    """Grades consecutive; neighbouring numeric bands share an edge with complementary ops."""
    grades = [b.grade for b in bands]
    if grades != list(range(grades[0], grades[0] + len(grades))):
        raise _fail(name, where, f"grades {grades} are not consecutive")
    numeric = [b for b in bands if not b.clinical]
    if not numeric or any(b.clinical for b in bands[: len(numeric)]):
        raise _fail(name, where, "numeric bands must come first, clinical grades after them")
    # Along the direction of worsening: the mild edge of each band and its severe edge.
    mild, severe = ("upper", "lower") if direction == "decreased" else ("lower", "upper")
    if getattr(numeric[0], mild) is None:
        raise _fail(name, where, f"the mildest band {numeric[0].id} needs its {mild} edge")
    if getattr(numeric[-1], severe) is not None:
        raise _fail(name, where, f"the worst numeric band {numeric[-1].id} must be open-ended")
    for a, b in itertools.pairwise(numeric):
        ea: Edge | None = getattr(a, severe)
        eb: Edge | None = getattr(b, mild)
        if ea is None or eb is None:
            raise _fail(name, where, f"gap between {a.id} and {b.id}: an edge is missing")
        if ea.key() != eb.key():
            raise _fail(name, where, f"gap or overlap between {a.id} and {b.id}")
        if _COMPLEMENT[ea.op] != eb.op:
            raise _fail(
                name, where, f"{a.id} {ea.op} and {b.id} {eb.op} leave a gap or overlap at the edge"
            )


def parse_ctcae_table(data: Any, name: str) -> CtcaeTable:
    """Validate a parsed CTCAE table; raise :class:`RuleTableError` naming what is wrong."""
    d = _mapping(data, name, "top level", {"version", "sources", "terms"}, set())
    try:
        version = CtcaeVersion(str(d["version"]))
    except ValueError:
        raise _fail(name, "version", f"{d['version']!r} is not a known CTCAE version") from None
    if not isinstance(d["sources"], dict) or not d["sources"]:
        raise _fail(name, "sources", "must be a non-empty mapping of citations")
    src: dict[Any, Any] = d["sources"]
    sources = {str(k): _text(v, name, f"sources.{k}") for k, v in src.items()}
    if not isinstance(d["terms"], list) or not d["terms"]:
        raise _fail(name, "terms", "must be a non-empty list")
    ids: set[str] = set()
    terms: dict[str, CtcaeTerm] = {}

    def new_id(i: str, where: str) -> str:
        if i in ids:
            raise _fail(name, where, f"duplicate id {i!r}")
        ids.add(i)
        return i

    for ti, tobj in enumerate(d["terms"]):
        where = f"terms[{ti}]"
        t = _mapping(
            tobj, name, where, {"id", "key", "term", "field", "direction", "unit", "scales"}, set()
        )
        tid = new_id(_text(t["id"], name, f"{where}.id"), where)
        key = _text(t["key"], name, f"{where}.key")
        if key in terms:
            raise _fail(name, where, f"duplicate key {key!r}")
        direction = t["direction"]
        if direction not in ("decreased", "increased"):
            raise _fail(name, where, f"direction {direction!r} is not decreased or increased")
        # A decreased term is graded against the LLN, an increased one against ULN/baseline.
        allowed_refs = {"lln"} if direction == "decreased" else {"uln", "baseline"}
        if not isinstance(t["scales"], list) or not t["scales"]:
            raise _fail(name, f"{where}.scales", "must be a non-empty list")
        scales: list[Scale] = []
        for si, sobj in enumerate(t["scales"]):
            swhere = f"{where}.scales[{si}]"
            s = _mapping(sobj, name, swhere, {"applies", "bands"}, set())
            if s["applies"] not in _APPLIES:
                raise _fail(name, swhere, f"applies {s['applies']!r} is not a known scale")
            if not isinstance(s["bands"], list) or not s["bands"]:
                raise _fail(name, f"{swhere}.bands", "must be a non-empty list")
            bands = tuple(
                _parse_band(b, name, f"{swhere}.bands[{bi}]", sources)
                for bi, b in enumerate(s["bands"])
            )
            for b in bands:
                new_id(b.id, swhere)
                for e in (b.lower, b.upper):
                    if e is not None and e.of is not None and e.of not in allowed_refs:
                        raise _fail(name, b.id, f"a {direction} term cannot use {e.of!r}")
                    if e is not None and e.of == "baseline" and s["applies"] == "always":
                        raise _fail(name, b.id, "a baseline edge needs a baseline_* scale")
            _check_contiguous(bands, direction, name, swhere)
            scales.append(Scale(applies=s["applies"], bands=bands))
        terms[key] = CtcaeTerm(
            id=tid,
            key=key,
            term=_text(t["term"], name, f"{where}.term"),
            field=_text(t["field"], name, f"{where}.field"),
            direction=direction,
            unit=_text(t["unit"], name, f"{where}.unit"),
            scales=tuple(scales),
        )
    return CtcaeTable(version=version, sources=sources, terms=terms)


@functools.cache
def load_ctcae(version: CtcaeVersion = CtcaeVersion.V5) -> CtcaeTable:
    """The validated CTCAE table of ``version`` (cached)."""
    name = _TABLES[CtcaeVersion(version)]
    table = parse_ctcae_table(load_table(name), name)
    if table.version != version:
        raise RuleTableError(f"rule table {name!r} says version {table.version}, not {version}")
    return table


# --- Grading -----------------------------------------------------------------------------------


def _applies(applies: str, baseline: float | None, abnormal: bool) -> bool:
    if applies == "always":
        return True
    if applies == "baseline_given":
        return baseline is not None
    if applies == "baseline_abnormal":
        return abnormal
    return not abnormal  # baseline_normal: also when there is no baseline


def classify_ctcae(
    term: str,
    value: float,
    *,
    lln: float | None = None,
    uln: float | None = None,
    baseline: float | None = None,
    baseline_uln: float | None = None,
    version: CtcaeVersion = CtcaeVersion.V5,
) -> tuple[int | None, str | None]:
    """The grade and the id of the band that gave it (None for grade 0 or not gradable)."""
    table = load_ctcae(version)
    t = table.terms.get(term)
    if t is None:
        raise InputError(
            f"unknown CTCAE term {term!r} (known: {', '.join(table.terms)})",
            code="unknown_value",
            field="term",
        )
    return _grade_term(t, value, lln, uln, baseline, baseline_uln)


def _grade_term(
    t: CtcaeTerm,
    value: float,
    lln: float | None,
    uln: float | None,
    baseline: float | None,
    baseline_uln: float | None,
) -> tuple[int | None, str | None]:
    """:func:`classify_ctcae` once the term is found (the graders of whole observations
    call this directly, with the term looked up once per table)."""
    if math.isnan(value):
        return None, None
    limit = lln if t.direction == "decreased" else uln
    if limit is None:
        return None, None
    # Within normal limits is grade 0. Most results are, so the plain comparison is tried
    # before the call: an inclusive comparison that holds needs no tolerance (see _compare).
    normal = _NORMAL_OP[t.direction]
    if _OPS[normal](value, limit) or _compare(value, normal, limit):
        return 0, None
    if baseline is not None and baseline <= 0:
        baseline = None
    base_limit = baseline_uln if baseline_uln is not None else uln
    abnormal = (
        baseline is not None and base_limit is not None and _compare(baseline, ">", base_limit)
    )
    refs = {"lln": lln, "uln": uln, "baseline": baseline}
    grade, band_id = 0, None
    for scale in t.scales:
        if not _applies(scale.applies, baseline, abnormal):
            continue
        for band in scale.bands:
            if band.grade > grade and band.holds(value, refs):
                grade, band_id = band.grade, band.id
    return grade, band_id


def grade_ctcae(
    term: str,
    value: float,
    *,
    lln: float | None = None,
    uln: float | None = None,
    baseline: float | None = None,
    baseline_uln: float | None = None,
    version: CtcaeVersion = CtcaeVersion.V5,
) -> int | None:
    """CTCAE grade 0-4 of one lab value; None when the limit the term needs is missing.

    ``term`` is one of neutrophils, platelets, anemia (hemoglobin g/dL), wbc, lymphocytes
    (10^9/L), alt, ast (U/L), bilirubin, creatinine (mg/dL). ``baseline``/``baseline_uln``
    are the pre-treatment value and its ULN (``uln`` is used when ``baseline_uln`` is None).
    """
    return classify_ctcae(
        term, value, lln=lln, uln=uln, baseline=baseline, baseline_uln=baseline_uln,
        version=version,
    )[0]


# --- Baseline and whole observations -----------------------------------------------------------

_BASELINE_FIELDS = ("alt", "ast", "bilirubin", "creatinine")


@dataclass(frozen=True, slots=True)
class ToxicityBaseline:
    """Pre-treatment chemistry for CTCAE v5's baseline-dependent terms.

    Each value is the last one at or before the start of the first TKI (None if none), with
    the ULN its own observation gave (None if it gave none: the site limit is used then).
    Observations dated after ``tki_start`` are graded against it; with ``tki_start`` None
    (no TKI in the record, or a baseline built by hand) it applies to every observation.
    """

    alt: float | None = None
    alt_uln: float | None = None
    ast: float | None = None
    ast_uln: float | None = None
    bilirubin: float | None = None
    bilirubin_uln: float | None = None
    creatinine: float | None = None
    creatinine_uln: float | None = None
    tki_start: dt.date | None = None


def derive_toxicity_baseline(record: PatientRecord) -> ToxicityBaseline:
    """The toxicity baseline: the last value of each chemistry term at or before the first
    TKI's start (clinical rules section 14). Without a TKI there is no baseline."""
    start = first_tki_start(record)
    if start is None:
        return ToxicityBaseline()
    # One pass, no sort: for each term the latest chemistry at or before the start giving it
    # (on a tie in date, the later row in the record, as a stable sort by date would give).
    latest: dict[str, Chemistry] = {}
    for o in record.observations:
        # the kind tells a chemistry panel (the tag of the union) at half an isinstance's cost
        if o.kind == "chemistry" and o.date <= start:
            for f in _BASELINE_FIELDS:
                if getattr(o, f) is not None:
                    last = latest.get(f)
                    if last is None or o.date >= last.date:
                        latest[f] = o
    values: dict[str, float | None] = {}
    for f in _BASELINE_FIELDS:
        last = latest.get(f)
        values[f] = getattr(last, f) if last else None
        values[f"{f}_uln"] = getattr(last, f"{f}_uln") if last else None
    return ToxicityBaseline(tki_start=start, **values)


def _hemoglobin_lln(limits: LabLimits, sex: str | None) -> float:
    if sex == "M":
        return limits.hemoglobin_lln_male
    if sex == "F":
        return limits.hemoglobin_lln_female
    # Unknown sex: the lower of the two limits (the female one by default), so a grade 1
    # anemia is never reported on a limit the patient may not have.
    return min(limits.hemoglobin_lln_female, limits.hemoglobin_lln_male)


@dataclass(frozen=True, slots=True)
class _TermPlan:
    """How one CTCAE term is graded on one observation model, worked out once per model."""

    term: CtcaeTerm
    field: str
    decreased: bool
    #: ``<field>_lln`` (decreased) or ``<field>_uln`` (increased): the limit's name on
    #: ``LabLimits`` and on the baseline.
    limit: str
    #: The same name if the observation model carries its own limit, else None.
    own_limit: str | None


@functools.cache
def _plans(version: CtcaeVersion, model: type[BloodCount | Chemistry]) -> tuple[_TermPlan, ...]:
    # Cached per model: reading ``model_fields`` goes through a pydantic descriptor.
    fields = frozenset(model.model_fields)
    out: list[_TermPlan] = []
    for t in load_ctcae(version).terms.values():
        if t.field not in fields:
            continue
        decreased = t.direction == "decreased"
        limit = f"{t.field}_lln" if decreased else f"{t.field}_uln"
        out.append(_TermPlan(t, t.field, decreased, limit, limit if limit in fields else None))
    return tuple(out)


def grade_observation(
    obs: BloodCount | Chemistry,
    *,
    baseline: ToxicityBaseline,
    limits: LabLimits,
    sex: str | None,
    version: CtcaeVersion = CtcaeVersion.V5,
) -> dict[str, int]:
    """CTCAE grades of every gradable term in one blood count or chemistry panel.

    Limits: the observation's own ``<field>_lln``/``<field>_uln`` where given, else ``limits``
    (hemoglobin LLN by ``sex``, "F"/"M"; unknown sex takes the lower limit). A term whose value
    is absent or whose grade cannot be computed is left out, never guessed.
    """
    return ToxicityGrader(baseline=baseline, limits=limits, sex=sex, version=version)(obs)


#: Per term of one model: (index of its value among those the model's getter reads, index of
#: the observation's own limit there or 0 if the model has none, whether a value is within
#: normal limits (an operator), site limit, key, and for a value outside them: (term,
#: decreased, baseline, its ULN)).
_Entry = tuple[
    int, int, Callable[[float, float], bool], float | None, str,
    tuple[CtcaeTerm, bool, float | None, float | None],
]


class _ModelPlan:
    """A model's terms and one getter reading every value and own limit they need."""

    __slots__ = ("entries", "values")

    def __init__(self, entries: tuple[_Entry, ...], names: list[str]) -> None:
        self.entries = entries
        getter = operator.attrgetter(*names)
        # attrgetter of one name gives the value itself, not a 1-tuple
        self.values: Callable[[Any], tuple[Any, ...]] = (
            getter if len(names) > 1 else lambda obs: (getter(obs),)
        )


class ToxicityGrader:
    """:func:`grade_observation` for one patient's observations, its limits looked up once.

    The site limit, the sex-specific hemoglobin LLN and the baseline of each term are the
    same for every observation of a patient; only the observation's own limits vary.
    """

    __slots__ = ("_baseline", "_limits", "_models", "_sex", "_start", "_version")

    def __init__(
        self,
        *,
        baseline: ToxicityBaseline,
        limits: LabLimits,
        sex: str | None,
        version: CtcaeVersion = CtcaeVersion.V5,
    ) -> None:
        self._baseline = baseline
        self._start = baseline.tki_start
        self._limits = limits
        self._sex = sex
        self._version = version
        self._models: dict[type, _ModelPlan] = {}

    def _plan_for(self, model: type[BloodCount | Chemistry]) -> _ModelPlan:
        out: list[_Entry] = []
        b = self._baseline
        plans = _plans(self._version, model)
        # The values first (in term order), then the own limits the model carries; an own
        # limit's index is never 0 (a value comes first), so 0 can mean "none".
        names = [p.field for p in plans]
        for i, p in enumerate(plans):
            own = 0
            if p.own_limit is not None:
                own = len(names)
                names.append(p.own_limit)
            normal = _OPS[_NORMAL_OP[p.term.direction]]
            if p.decreased:
                site = (
                    _hemoglobin_lln(self._limits, self._sex)
                    if p.field == "hemoglobin"
                    else getattr(self._limits, p.limit, None)
                )
                out.append((i, own, normal, site, p.term.key, (p.term, True, None, None)))
            else:
                site = getattr(self._limits, p.limit, None)
                base = getattr(b, p.field, None)
                base_uln = getattr(b, p.limit, None)
                out.append((i, own, normal, site, p.term.key, (p.term, False, base, base_uln)))
        plan = self._models[model] = _ModelPlan(tuple(out), names)
        return plan

    def __call__(self, obs: BloodCount | Chemistry) -> dict[str, int]:
        model = obs.__class__
        plan = self._models.get(model) or self._plan_for(model)
        values = plan.values(obs)
        out: dict[str, int] = {}
        use_baseline: bool | None = None  # worked out for the first value outside the limits
        for i, own, normal, site, key, outside in plan.entries:
            value: float | None = values[i]
            if value is None:
                continue
            limit: float | None = values[own] if own else None
            if limit is None:
                limit = site
            if limit is not None and normal(value, limit):
                out[key] = 0  # within normal limits, as _grade_term would find
                continue
            term, decreased, base, base_uln = outside
            if decreased:
                grade = _grade_term(term, value, limit, None, None, None)[0]
            else:
                if use_baseline is None:
                    start = self._start
                    use_baseline = start is None or obs.date > start
                if use_baseline:
                    grade = _grade_term(term, value, None, limit, base, base_uln)[0]
                else:
                    grade = _grade_term(term, value, None, limit, None, None)[0]
            if grade is not None:
                out[key] = grade
        return out
