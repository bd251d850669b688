"""ELN milestone tables (ELN 2006, 2009, 2013, 2020) as data: schema and validation on load.

Each edition is one YAML file under ``rules/data`` (``eln2006.yaml`` ...). A row is one cell of
the guideline's milestone table::

    - id: ELN2020.6mo.warning          # stable, unique, starts with the edition
      time: 6                          # 0 = baseline, a landmark month, or "any"
      status: warning                  # optimal | warning | suboptimal | failure
      wording: ">1–10%"                # the source's own wording, verbatim from the reference
      combine: all                     # all (default) | any  ("and/or" in ELN 2013 = any)
      conditions:
        - {measure: bcr_abl1_is, range: [">", 1, "<=", 10]}
      source: "ELN20 Table 1 (V2: PMC10133857 T1)"

A condition is structured data, never an evaluated string. It is either a *measure* on the
result used for the landmark (``bcr_abl1_is`` and ``ph_pct`` in percent with ``op``/``value`` or
a two-sided ``range``; ``hematologic`` with ``in``/``not_in``), or a *fact* established from
the history (``loss_of_chr``, ``mutation``, ``new_aca_ph_pos`` ...) with optional named lists.
``required: false`` marks a measure that must hold when it was measured but whose absence does
not make the cell unevaluable. ``confirm: {within_months: 3}`` marks the ELN 2020 3-month
failure, which needs a second result within that time.

Validation (raises :class:`~cmltrack.errors.RuleTableError`): known keys only, unique ids
prefixed by the edition, every row worded and cited, times that are landmarks, and for every
time the numeric bands of each measure cover the whole scale with no gap and no overlap
(``bcr_abl1_is`` 0 to infinity, ``ph_pct`` 0 to 100); category sets never overlap.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from cmltrack.domain.enums import TKIS, Guideline, HematologicResponse, MilestoneStatus
from cmltrack.errors import RuleTableError
from cmltrack.rules.loader import load_table

NUMERIC_MEASURES: dict[str, tuple[float, float]] = {
    "bcr_abl1_is": (0.0, math.inf),
    "ph_pct": (0.0, 100.0),
}
CATEGORY_MEASURES: dict[str, frozenset[str]] = {
    "hematologic": frozenset(h.value for h in HematologicResponse),
}
#: Facts the engine establishes from the history, with the parameters each accepts.
FACTS: dict[str, frozenset[str]] = {
    "high_risk_score": frozenset({"scores"}),
    "diagnosis_aca": frozenset({"list"}),
    "new_aca_ph_pos": frozenset({"list"}),
    "aca_ph_neg": frozenset({"list"}),
    "mutation": frozenset({"list", "exclude_list"}),
    "loss_of_chr": frozenset(),
    "loss_of_ccyr": frozenset(),
    "loss_of_mmr": frozenset(),
    "progression": frozenset(),
    "transcript_rise": frozenset(),
    "mmr_stable": frozenset(),
    "less_than_ccyr": frozenset(),
}
#: Facts about response levels: like the numeric "any time" bands, they apply only to results
#: dated after the one used for the last landmark (clinical-rules section 14; ELN 2013 "less
#: than CCyR from 12 months onward"). Losses of a response (MMR included: it presupposes MMR
#: reached, so it never contradicts a landmark) apply at any time, as section 14 has loss of
#: CHR and CCyR.
AFTER_LANDMARK_FACTS = frozenset({"transcript_rise", "mmr_stable", "less_than_ccyr"})
OPS = ("<", "<=", ">", ">=", "==")
JUDGED = (
    MilestoneStatus.OPTIMAL,
    MilestoneStatus.WARNING,
    MilestoneStatus.SUBOPTIMAL,
    MilestoneStatus.FAILURE,
)
Time = int | Literal["any"]


@dataclass(frozen=True, slots=True)
class Interval:
    """A band of a numeric measure with open or closed ends."""

    lo: float
    lo_closed: bool
    hi: float
    hi_closed: bool

    def contains(self, x: float) -> bool:
        above = x >= self.lo if self.lo_closed else x > self.lo
        below = x <= self.hi if self.hi_closed else x < self.hi
        return above and below

    def describe(self, unit: str = "%", scale_hi: float = math.inf) -> str:
        if self.lo == self.hi:
            return f"= {_num(self.lo)}{unit}"
        parts = []
        if self.lo > 0 or not self.lo_closed:
            parts.append(f"{'>=' if self.lo_closed else '>'} {_num(self.lo)}{unit}")
        if self.hi < scale_hi:
            parts.append(f"{'<=' if self.hi_closed else '<'} {_num(self.hi)}{unit}")
        return " and ".join(parts) or "any value"


@dataclass(frozen=True, slots=True)
class Condition:
    """One structured condition of a row: a measure band, a category set, or a fact."""

    measure: str | None = None
    interval: Interval | None = None
    categories: frozenset[str] | None = None
    fact: str | None = None
    params: Mapping[str, tuple[str, ...]] | None = None
    required: bool = True

    def describe(self) -> str:
        if self.fact is not None:
            extra = "".join(f" {k}={'|'.join(v)}" for k, v in (self.params or {}).items())
            return f"{self.fact}{extra}"
        if self.interval is not None:
            measure = self.measure or ""
            bounds = self.interval.describe("%", NUMERIC_MEASURES[measure][1])
            text = f"{MEASURE_LABEL[measure]} {bounds}"
        else:
            text = f"{self.measure} in {{{', '.join(sorted(self.categories or ()))}}}"
        return text if self.required else f"{text} (if measured)"


MEASURE_LABEL = {"bcr_abl1_is": "BCR::ABL1", "ph_pct": "Ph+", "hematologic": "hematologic"}


@dataclass(frozen=True, slots=True)
class Row:
    id: str
    time: Time
    status: MilestoneStatus
    wording: str
    combine: Literal["all", "any"]
    conditions: tuple[Condition, ...]
    source: str
    confirm_within_months: float | None = None
    note: str = ""

    @property
    def is_fact(self) -> bool:
        return any(c.fact is not None for c in self.conditions)

    def describe_condition(self) -> str:
        joiner = " AND " if self.combine == "all" else " OR "
        text = joiner.join(c.describe() for c in self.conditions)
        if self.confirm_within_months is not None:
            text += f", confirmed by a later result within {_num(self.confirm_within_months)} mo"
        return text


@dataclass(frozen=True, slots=True)
class Landmark:
    month: int
    start: float
    end: float


@dataclass(frozen=True, slots=True)
class GuidelineTable:
    edition: Guideline
    name: str
    citation: str
    verification: str
    landmarks: tuple[Landmark, ...]
    #: Landmark month after whose result the "any time" BCR::ABL1 rows apply.
    any_time_after: int
    #: Loss of MMR: number of consecutive PCR > 0.1% needed, and the level one of them must reach.
    loss_of_mmr_consecutive: int
    loss_of_mmr_one_at_least: float | None
    lists: Mapping[str, tuple[str, ...]]
    rows: tuple[Row, ...]
    notes: tuple[str, ...] = ()

    def rows_at(self, time: Time) -> tuple[Row, ...]:
        return tuple(r for r in self.rows if r.time == time)


_TABLE_KEYS = {
    "edition", "name", "citation", "verification", "landmarks", "any_time_after",
    "loss_of_mmr", "lists", "rows", "notes",
}
_ROW_KEYS = {
    "id", "time", "status", "wording", "combine", "conditions", "source", "confirm", "note",
}
_COND_KEYS = {
    "measure", "op", "value", "range", "in", "not_in", "fact", "required",
    *(p for params in FACTS.values() for p in params),
}


def _fail(where: str, message: str) -> RuleTableError:
    return RuleTableError(f"{where}: {message}")


def _check_keys(where: str, spec: Any, keys: set[str]) -> None:
    if not isinstance(spec, dict):
        raise _fail(where, "must be a mapping")
    unknown = set(spec) - keys
    if unknown:
        raise _fail(where, f"unknown keys {sorted(unknown)}")


def _num(x: float) -> str:
    return f"{x:g}"


def _interval(where: str, spec: Mapping[str, Any]) -> Interval:
    if "range" in spec:
        rng = spec["range"]
        if (
            not isinstance(rng, list)
            or len(rng) != 4
            or rng[0] not in (">", ">=")
            or rng[2] not in ("<", "<=")
        ):
            raise _fail(where, f"range must be ['>'|'>=', lo, '<'|'<=', hi], got {rng!r}")
        lo, hi = float(rng[1]), float(rng[3])
        if not lo < hi:
            raise _fail(where, f"empty range {rng!r}")
        return Interval(lo, rng[0] == ">=", hi, rng[2] == "<=")
    op, value = spec.get("op"), spec.get("value")
    if op not in OPS or isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(where, f"needs op in {OPS} and a numeric value, got {op!r} {value!r}")
    v = float(value)
    lo_scale, hi_scale = NUMERIC_MEASURES[spec["measure"]]
    match op:
        case "<":
            return Interval(lo_scale, True, v, False)
        case "<=":
            return Interval(lo_scale, True, v, True)
        case ">":
            return Interval(v, False, hi_scale, not math.isinf(hi_scale))
        case ">=":
            return Interval(v, True, hi_scale, not math.isinf(hi_scale))
        case _:
            return Interval(v, True, v, True)


def _condition(where: str, spec: Any, lists: Mapping[str, tuple[str, ...]]) -> Condition:
    _check_keys(where, spec, _COND_KEYS)
    required = spec.get("required", True)
    if not isinstance(required, bool):
        raise _fail(where, "required must be true or false")
    if "fact" in spec:
        fact = spec["fact"]
        if fact not in FACTS or "measure" in spec:
            raise _fail(where, f"unknown fact {fact!r} (known: {sorted(FACTS)})")
        params: dict[str, tuple[str, ...]] = {}
        for key in set(spec) - {"fact", "required"}:
            if key not in FACTS[fact]:
                raise _fail(where, f"fact {fact!r} takes no parameter {key!r}")
            value = spec[key]
            if key in ("list", "exclude_list"):
                if value not in lists:
                    raise _fail(where, f"no list named {value!r} in the table's lists")
                params[key] = (str(value),)
            elif isinstance(value, list) and value:
                params[key] = tuple(str(v) for v in value)
            else:
                raise _fail(where, f"{key} must be a non-empty list")
        return Condition(fact=fact, params=params, required=required)
    measure = spec.get("measure")
    if measure in NUMERIC_MEASURES:
        return Condition(measure=measure, interval=_interval(where, spec), required=required)
    if measure in CATEGORY_MEASURES:
        allowed = CATEGORY_MEASURES[measure]
        key = "in" if "in" in spec else "not_in"
        values = spec.get(key)
        if not isinstance(values, list) or not values or not set(values) <= allowed:
            raise _fail(where, f"{measure} needs 'in' or 'not_in' with values in {sorted(allowed)}")
        cats = frozenset(values) if key == "in" else allowed - frozenset(values)
        return Condition(measure=measure, categories=cats, required=required)
    raise _fail(where, f"condition needs a fact or a measure in "
                       f"{sorted({*NUMERIC_MEASURES, *CATEGORY_MEASURES})}, got {measure!r}")


def _row(
    prefix: str, index: int, spec: Any, months: set[int], lists: Mapping[str, tuple[str, ...]]
) -> Row:
    where = f"{prefix}.yaml rows[{index}]"
    _check_keys(where, spec, _ROW_KEYS)
    rid = spec.get("id")
    if not isinstance(rid, str) or not rid.startswith(prefix + "."):
        raise _fail(where, f"id must start with '{prefix}.', got {rid!r}")
    where = f"{prefix}.yaml row {rid}"
    for key in ("wording", "source"):
        if not isinstance(spec.get(key), str) or not spec[key].strip():
            raise _fail(where, f"'{key}' is missing: every row quotes its source and cites it")
    time = spec.get("time")
    if time != "any" and (time not in months and time != 0):
        raise _fail(where, f"time {time!r} is neither 0, 'any' nor a landmark {sorted(months)}")
    try:
        status = MilestoneStatus(str(spec.get("status")))
    except ValueError:
        raise _fail(where, f"status {spec.get('status')!r} is not one of {JUDGED}") from None
    if status not in JUDGED:
        raise _fail(where, f"status {status} is not a judgement")
    combine = spec.get("combine", "all")
    if combine not in ("all", "any"):
        raise _fail(where, "combine must be 'all' or 'any'")
    conds = spec.get("conditions")
    if not isinstance(conds, list) or not conds:
        raise _fail(where, "conditions must be a non-empty list")
    conditions = tuple(_condition(f"{where} conditions[{i}]", c, lists) for i, c in
                       enumerate(conds))
    n_facts = sum(c.fact is not None for c in conditions)
    if n_facts and len(conditions) != 1:
        raise _fail(where, "a fact row has exactly one condition")
    if time == "any" and not n_facts and (
        len(conditions) != 1 or conditions[0].measure != "bcr_abl1_is"
    ):
        raise _fail(where, "an 'any time' measure row is one BCR::ABL1 band (section 14)")
    confirm = spec.get("confirm")
    within: float | None = None
    if confirm is not None:
        if not isinstance(confirm, dict) or set(confirm) != {"within_months"}:
            raise _fail(where, "confirm must be {within_months: N}")
        within = float(confirm["within_months"])
    return Row(
        id=rid, time=time, status=status, wording=spec["wording"], combine=combine,
        conditions=conditions, source=spec["source"], confirm_within_months=within,
        note=str(spec.get("note", "")),
    )


def _check_bands(prefix: str, rows: Sequence[Row]) -> None:
    """Per time and measure: numeric bands tile the scale, category sets are disjoint."""
    times = sorted({r.time for r in rows}, key=str)
    for time in times:
        banded = [r for r in rows if r.time == time and r.confirm_within_months is None]
        for measure, (lo, hi) in NUMERIC_MEASURES.items():
            bands = sorted(
                ((c.interval, r.id) for r in banded for c in r.conditions
                 if c.measure == measure and c.interval is not None),
                key=lambda b: (b[0].lo, not b[0].lo_closed),
            )
            if bands:
                _check_tiling(f"{prefix}.yaml time {time} {measure}", bands, lo, hi)
        for measure in CATEGORY_MEASURES:
            seen: dict[str, str] = {}
            for r in banded:
                for c in r.conditions:
                    if c.measure != measure or c.categories is None:
                        continue
                    for cat in c.categories:
                        if cat in seen and seen[cat] != r.id:
                            raise _fail(f"{prefix}.yaml time {time} {measure}",
                                        f"{cat!r} is in both {seen[cat]} and {r.id}")
                        seen[cat] = r.id


def _check_tiling(
    where: str, bands: Sequence[tuple[Interval, str]], lo: float, hi: float
) -> None:
    first = bands[0][0]
    if first.lo != lo or not first.lo_closed:
        raise _fail(where, f"gap below {bands[0][1]}: the scale starts at {_num(lo)}")
    for (a, aid), (b, bid) in itertools.pairwise(bands):
        if b.lo < a.hi or (b.lo == a.hi and a.hi_closed and b.lo_closed):
            raise _fail(where, f"{aid} and {bid} overlap")
        if b.lo > a.hi or (not a.hi_closed and not b.lo_closed):
            raise _fail(where, f"gap between {aid} and {bid} at {_num(a.hi)}")
    last = bands[-1][0]
    if last.hi != hi or (not math.isinf(hi) and not last.hi_closed):
        raise _fail(where, f"gap above {bands[-1][1]}: the scale ends at {_num(hi)}")


def parse_guideline_table(prefix: str, data: Any) -> GuidelineTable:
    """Validate the parsed YAML of one edition (``prefix`` is e.g. ``ELN2020``)."""
    where = f"{prefix}.yaml"
    _check_keys(where, data, _TABLE_KEYS)
    if data.get("edition") != prefix:
        raise _fail(where, f"edition must be {prefix!r}")
    for key in ("name", "citation", "verification"):
        if not isinstance(data.get(key), str) or not data[key].strip():
            raise _fail(where, f"'{key}' is missing")
    landmarks = []
    for i, lm in enumerate(data.get("landmarks") or []):
        try:
            landmarks.append(Landmark(int(lm["month"]), float(lm["window"][0]),
                                      float(lm["window"][1])))
        except (KeyError, TypeError, ValueError, IndexError):
            raise _fail(where, f"landmarks[{i}] must be {{month: M, window: [a, b]}}") from None
    if not landmarks:
        raise _fail(where, "no landmarks")
    for a, b in itertools.pairwise(landmarks):
        if not (a.start < a.end <= b.start < b.end and a.month < b.month):
            raise _fail(where, f"landmark windows {a.month} and {b.month} overlap or are unordered")
    months = {lm.month for lm in landmarks}
    lists_raw = data.get("lists") or {}
    if not isinstance(lists_raw, dict):
        raise _fail(where, "lists must be a mapping of name to list")
    lists = {str(k): tuple(str(x) for x in v) for k, v in lists_raw.items()}
    mmr = data.get("loss_of_mmr") or {}
    if not isinstance(mmr, dict) or not isinstance(mmr.get("consecutive"), int):
        raise _fail(where, "loss_of_mmr needs {consecutive: N[, one_at_least: level]}")
    rows_raw = data.get("rows")
    if not isinstance(rows_raw, list) or not rows_raw:
        raise _fail(where, "no rows")
    rows = tuple(_row(prefix, i, r, months, lists) for i, r in enumerate(rows_raw))
    ids = [r.id for r in rows]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise _fail(where, f"duplicate row ids {dupes}")
    after = data.get("any_time_after")
    if after not in months:
        raise _fail(where, f"any_time_after must be a landmark month, got {after!r}")
    _check_bands(prefix, rows)
    one = mmr.get("one_at_least")
    return GuidelineTable(
        edition=Guideline(prefix),
        name=data["name"],
        citation=data["citation"],
        verification=data["verification"],
        landmarks=tuple(landmarks),
        any_time_after=int(after),
        loss_of_mmr_consecutive=int(mmr["consecutive"]),
        loss_of_mmr_one_at_least=None if one is None else float(one),
        lists=lists,
        rows=rows,
        notes=tuple(str(n) for n in data.get("notes") or ()),
    )


@functools.cache
def load_guideline_table(edition: Guideline | str) -> GuidelineTable:
    """The validated milestone table of an ELN edition, loaded once per process."""
    ed = Guideline(str(edition).upper())
    return parse_guideline_table(ed.value, load_table(ed.value.lower()))


@dataclass(frozen=True, slots=True)
class MutationTable:
    """TKIs and the BCR::ABL1 mutations each is clinically insensitive to (``eln_mutations``)."""

    citation: str
    verification: str
    insensitive: Mapping[str, frozenset[str]]
    #: Each listed mutation's source (the row's citation).
    sources: Mapping[str, str] = field(default_factory=dict)

    def avoid(self, mutations: Iterable[str]) -> dict[str, tuple[str, ...]]:
        """The drugs to avoid for ``mutations``, each with the mutations that rule it out."""
        found = set(mutations)
        return {d: tuple(sorted(m & found)) for d, m in sorted(self.insensitive.items())
                if m & found}

    def resists(self, mutation: str, drug: str | None) -> bool:
        """Whether ``mutation`` confers resistance to ``drug``: every mutation does to imatinib
        (or with no TKI known); otherwise only those the table lists for the drug."""
        if drug is None or drug not in self.insensitive:
            return True
        return mutation in self.insensitive[drug]


@functools.cache
def load_mutation_table() -> MutationTable:
    """The validated mutation table (``rules/data/eln_mutations.yaml``), loaded once."""
    where = "eln_mutations.yaml"
    data = load_table("eln_mutations")
    _check_keys(where, data, {"name", "citation", "verification", "drugs", "rows"})
    for key in ("name", "citation", "verification"):
        if not isinstance(data.get(key), str) or not data[key].strip():
            raise _fail(where, f"'{key}' is missing")
    drugs = data.get("drugs")
    if not isinstance(drugs, list) or not drugs or not all(
        d in TKIS and d != "imatinib" for d in drugs
    ):
        raise _fail(where, "drugs must list the TKIs other than imatinib the table covers")
    rows = data.get("rows")
    if not isinstance(rows, list) or not rows:
        raise _fail(where, "rows must list one mutation each")
    table: dict[str, set[str]] = {str(d): set() for d in drugs}
    sources: dict[str, str] = {}
    for i, row in enumerate(rows):
        if not isinstance(row, dict) or set(row) != {"mutation", "avoid", "source"}:
            raise _fail(where, f"rows[{i}] needs exactly mutation, avoid and source")
        mut, avoid, source = row["mutation"], row["avoid"], row["source"]
        if not isinstance(mut, str) or mut in sources:
            raise _fail(where, f"rows[{i}]: a mutation named once")
        if not isinstance(source, str) or not source.strip():
            raise _fail(where, f"rows[{i}] ({mut}): no source")
        if not isinstance(avoid, list) or not avoid or not all(d in table for d in avoid):
            raise _fail(where, f"rows[{i}] ({mut}): avoid must list drugs of 'drugs'")
        for d in avoid:
            table[d].add(mut)
        sources[mut] = source
    return MutationTable(data["citation"], data["verification"],
                         {d: frozenset(m) for d, m in table.items()}, sources)
