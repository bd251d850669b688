"""Disease phase (chronic, accelerated, blast) from one day's blood, marrow and karyotype.

Four criteria sets (clinical rules reference section 4), each a :class:`PhaseRules` row of
:data:`PHASE_RULES` with its citation:

``ELN2013.phase`` (ELN 2013, kept in ELN 2020; MDACC-based)
    BP: blasts >= 30% in blood or marrow, or extramedullary blast proliferation. AP: blasts
    15-29% (15 <= blasts < 30) in blood or marrow; blasts + promyelocytes >= 30% with blasts
    < 30%; blood basophils >= 20%; platelets < 100 unrelated to therapy; "major route" ACA in
    Ph+ cells (+8, second Ph, i(17q), +19) on treatment.
``MDACC.phase`` (modified M.D. Anderson, as used by NCCN)
    BP: blasts >= 30% in blood or marrow, or extramedullary infiltrates. AP: blood blasts
    >= 15% and < 30%; blood blasts + promyelocytes >= 30%; blood basophils >= 20%; platelets
    <= 100 unrelated to therapy; clonal evolution (any ACA in Ph+ cells).
``WHO2016.phase`` (Arber 2016, Table 2)
    BP: blasts >= 20% in blood or marrow, or extramedullary blast proliferation. AP: blasts
    10-19% (10 <= blasts < 20) in blood and/or marrow; blood basophils >= 20%; platelets < 100
    unrelated to therapy; platelets > 1000 unresponsive to therapy; ACA in Ph+ cells at
    diagnosis that are "major route", a complex karyotype or 3q26.2; any ACA in Ph+ cells
    during therapy.
``WHO2022.phase`` (WHO 5th edition, Khoury 2022, read through secondary sources)
    Biphasic: BP: blasts >= 20% in blood or marrow, or extramedullary blast proliferation;
    everything else is chronic phase (no accelerated phase).
``ICC2022.phase`` (Arber 2022; the whole row is UNVERIFIED, a recollection matched by one
    unattributed note): BP: blasts >= 20%, or extramedullary blast proliferation. AP: blasts
    10-19% in blood or marrow; blood basophils >= 20%; any ACA in Ph+ cells. The lymphoblast
    criterion (> 5%) has no field in the record and is not applied.

Readings where a criterion cannot be judged from one day's laboratory values:

- "Unrelated to therapy" (low platelets) is taken to hold only when the patient is off therapy
  that day (``on_therapy=False``); on a TKI a low count is counted as drug-related.
- "Unresponsive to therapy" (WHO platelets > 1000) counts only on therapy.
- "On treatment" / "during therapy" ACA: any listed ACA in Ph+ cells on therapy counts; whether
  it is *new* needs the history, which the caller judges. Off therapy the diagnosis rule applies.
- "Persistent" counts and the WHO 2016 WBC/spleen and response-to-TKI ("provisional") criteria
  need a series of results: :func:`who2016_persistent` judges them over the record
  (clinical-rules-2 section 7) and the day that confirms one is classified with it
  (``persistent``). The single-day "platelets > 1000 on therapy" is therefore not a WHO 2016
  day criterion.
- ACA strings are matched in ISCN shorthand, case- and space-insensitive: "+8", "+Ph" or
  "+der(22)t(9;22)", "i(17q)" or "i(17)(q10)", "+19", "complex", and anything naming 3q26
  ("3q26.2", "inv(3)(q21q26.2)", "t(3;3)(q21;q26.2)").

The phase is ``chronic`` when some result that day bears on the criteria and none is met, and
None when nothing that day bears on them (the basis then says so).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import partial
from itertools import pairwise
from typing import Any, Literal

from cmltrack.domain.enums import Phase, PhaseCriteria
from cmltrack.domain.records import BloodCount, Cytogenetics, Marrow, PatientRecord
from cmltrack.domain.results import Classified

#: Which ACA in Ph+ cells make AP: any ACA, one of a named set, or none at all (not a criterion).
AcaCriterion = Literal["any", "major_route", "who2016_diagnosis"] | None

MAJOR_ROUTE_ACA: frozenset[str] = frozenset(
    {"+8", "+ph", "+der(22)t(9;22)", "+der(22)", "i(17q)", "i(17)(q10)", "+19"}
)


@dataclass(frozen=True, slots=True)
class PhaseRules:
    """One phase-criteria set; blasts thresholds are ``>=``, blasts below BP counted as AP."""

    rule: str
    source: str
    bp_blasts_min: float
    ap_blasts_min: float
    ap_marrow_counts: bool  # marrow blasts (and blasts + promyelocytes) count for AP
    ap_blasts_promyelocytes_min: float | None
    ap_basophils_min: float | None
    ap_platelets_low: float | None  # off therapy only
    ap_platelets_low_inclusive: bool  # True: <= (MDACC); False: <
    ap_platelets_high: float | None  # on therapy only, strict >
    aca_off_therapy: AcaCriterion
    aca_on_therapy: AcaCriterion


ELN2013_RULES = PhaseRules(
    rule="ELN2013.phase",
    source="Baccarani M et al. Blood 2013;122(6):872-884 (kept in Hochhaus A et al. Leukemia "
    "2020;34:966-984); reproduced in PMC6823861 Table 1, PMC7917817 Table 3",
    bp_blasts_min=30.0,
    ap_blasts_min=15.0,
    ap_marrow_counts=True,
    ap_blasts_promyelocytes_min=30.0,
    ap_basophils_min=20.0,
    ap_platelets_low=100.0,
    ap_platelets_low_inclusive=False,
    ap_platelets_high=None,
    aca_off_therapy=None,
    aca_on_therapy="major_route",
)
MDACC_RULES = PhaseRules(
    rule="MDACC.phase",
    source="Kantarjian HM et al. Cancer 1988;61:1441-6, modified M.D. Anderson criteria as used "
    "by NCCN (Medscape 2006731, PMC6823861 Table 1)",
    bp_blasts_min=30.0,
    ap_blasts_min=15.0,
    ap_marrow_counts=False,
    ap_blasts_promyelocytes_min=30.0,
    ap_basophils_min=20.0,
    ap_platelets_low=100.0,
    ap_platelets_low_inclusive=True,
    ap_platelets_high=None,
    aca_off_therapy="any",
    aca_on_therapy="any",
)
WHO2016_RULES = PhaseRules(
    rule="WHO2016.phase",
    source="Arber DA et al. Blood 2016;127(20):2391-2405, Table 2",
    bp_blasts_min=20.0,
    ap_blasts_min=10.0,
    ap_marrow_counts=True,
    ap_blasts_promyelocytes_min=None,
    ap_basophils_min=20.0,
    ap_platelets_low=100.0,
    ap_platelets_low_inclusive=False,
    ap_platelets_high=None,  # "persistent ... unresponsive to therapy": who2016_persistent
    aca_off_therapy="who2016_diagnosis",
    aca_on_therapy="any",
)
#: WHO 5th edition (2022): CML is biphasic, chronic and blast phase; the accelerated phase is
#: retired (its criteria become high-risk features of chronic phase, not a phase). Blast phase:
#: >= 20% myeloid blasts in blood or marrow, or an extramedullary proliferation of blasts. The
#: third criterion, "increased lymphoblasts" in blood or marrow, has no established cut-off in
#: the sources read and is not applied (a recorded lymphoid lineage is reported instead).
WHO2022_RULES = PhaseRules(
    rule="WHO2022.phase",
    source="Khoury JD et al. Leukemia 2022;36:1703-1719 (WHO 5th edition), as read in BMJ Best "
    "Practice 'Chronic myeloid leukaemia: criteria' (5th edition: accelerated phase no longer "
    "included, replaced by high-risk features) and clinicaldiagnotics.com 'CML WHO 5th "
    "edition' (blast phase: >= 20% myeloid blasts in blood or marrow; extramedullary blast "
    "proliferation; increased lymphoblasts, cut-off not established); original table not read",
    bp_blasts_min=20.0,
    ap_blasts_min=20.0,  # no accelerated phase: blasts below 20% are chronic phase
    ap_marrow_counts=False,
    ap_blasts_promyelocytes_min=None,
    ap_basophils_min=None,
    ap_platelets_low=None,
    ap_platelets_low_inclusive=False,
    ap_platelets_high=None,
    aca_off_therapy=None,
    aca_on_therapy=None,
)
ICC2022_RULES = PhaseRules(
    rule="ICC2022.phase",
    source="Arber DA et al. Blood 2022;140(11):1200-28 (UNVERIFIED reading)",
    bp_blasts_min=20.0,
    ap_blasts_min=10.0,
    ap_marrow_counts=True,
    ap_blasts_promyelocytes_min=None,
    ap_basophils_min=20.0,
    ap_platelets_low=None,
    ap_platelets_low_inclusive=False,
    ap_platelets_high=None,
    aca_off_therapy="any",
    aca_on_therapy="any",
)
PHASE_RULES: dict[PhaseCriteria, PhaseRules] = {
    PhaseCriteria.ELN: ELN2013_RULES,
    PhaseCriteria.MDACC: MDACC_RULES,
    PhaseCriteria.WHO2016: WHO2016_RULES,
    PhaseCriteria.ICC2022: ICC2022_RULES,
    PhaseCriteria.WHO2022: WHO2022_RULES,
}


def blast_lineage(record: PatientRecord) -> str | None:
    """The latest recorded blast lineage (a marrow observation or a progression event), or
    None (clinical-rules-2 section 5)."""
    dated: list[tuple[dt.date, str]] = [
        (o.date, o.blast_lineage) for o in record.observations
        if isinstance(o, Marrow) and o.blast_lineage is not None
    ]
    dated += [(e.date, e.blast_lineage) for e in record.events
              if e.kind == "progression" and e.blast_lineage is not None]
    return max(dated, key=lambda d: d[0])[1] if dated else None


def norm_aca(name: str) -> str:
    """An ACA as compared: without spaces, in lower case ("+ 8" and "+8" are one)."""
    return name.replace(" ", "").lower()


def aca_at_diagnosis(record: PatientRecord, start: dt.date | None) -> tuple[str, ...]:
    """The ACA known before therapy: the diagnosis's and those of karyotypes dated up to the
    first TKI's ``start`` (the diagnostic work-up; a result on the day of a change counts
    before it), each once (as :func:`norm_aca` compares), in the order first given. They are
    the baseline's, never a new ACA on therapy."""
    names = list(record.diagnosis.aca) if record.diagnosis is not None else []
    for obs in record.observations:
        if obs.kind == "cytogenetics" and (start is None or obs.date <= start):
            names += obs.aca
    seen: dict[str, str] = {}
    for name in names:
        seen.setdefault(norm_aca(name), name)
    return tuple(seen.values())


def _aca_matches(aca: str, criterion: AcaCriterion) -> bool:
    a = norm_aca(aca)
    if criterion == "any":
        return True
    if criterion is None:
        return False
    if a in MAJOR_ROUTE_ACA:
        return True
    if criterion == "who2016_diagnosis":
        return a.startswith("complex") or "3q26" in a or a.startswith(("inv(3)", "t(3;3)"))
    return False


#: Levels of what a result shows, in order of severity: it bears on the phase (seen), meets an
#: AP criterion, meets a BP criterion.
_SEEN, _AP, _BP = 0, 1, 2
_PHASE_OF_LEVEL = (Phase.CHRONIC, Phase.ACCELERATED, Phase.BLAST)
#: A finding: its level, a ``str.format`` template and its values (numbers as ``{:g}``).
#: Findings are collected only when a basis is read (only ``explain`` reads one); judging the
#: phase collects none.
_Finding = tuple[Any, ...]


def _site_level(
    site: str,
    blasts: float,
    promyelocytes: float | None,
    ap_site: bool,
    r: PhaseRules,
    found: list[_Finding] | None,
) -> int:
    """The level blasts (and blasts + promyelocytes) at one site show."""
    if found is not None:
        found.append((_SEEN, "{} blasts {:g}%", site, blasts))
    if blasts >= r.bp_blasts_min:
        if found is not None:
            found.append((_BP, "{} blasts {:g}% >= {:g}%", site, blasts, r.bp_blasts_min))
        return _BP
    level = _SEEN
    if ap_site and blasts >= r.ap_blasts_min:
        level = _AP
        if found is not None:
            found.append((_AP, "{} blasts {:g}% >= {:g}% and < {:g}%", site, blasts,
                          r.ap_blasts_min, r.bp_blasts_min))
    bp_min = r.ap_blasts_promyelocytes_min
    if ap_site and bp_min is not None and promyelocytes is not None:
        total = blasts + promyelocytes
        if found is not None:
            found.append((_SEEN, "{} promyelocytes {:g}%", site, promyelocytes))
        if total >= bp_min:
            level = _AP
            if found is not None:
                found.append((_AP, "{} blasts + promyelocytes {:g}% >= {:g}% (blasts < {:g}%)",
                              site, total, bp_min, r.bp_blasts_min))
    return level


def _judge(
    blood: BloodCount | None,
    marrow: Marrow | None,
    cyto: Cytogenetics | None,
    r: PhaseRules,
    on_therapy: bool,
    found: list[_Finding] | None,
    known_aca: frozenset[str] = frozenset(),
    persistent: tuple[str, ...] = (),
) -> int:
    """The highest level the day's results show (-1: none bears on the phase); with ``found``
    a list, every finding is added to it in the order the basis names them. ``persistent``: the
    series criteria (WHO 2016) this day confirms, each an accelerated-phase finding."""
    level = -1
    if blood is not None and blood.blasts_pb is not None:
        level = _site_level("PB", blood.blasts_pb, blood.promyelocytes_pb, True, r, found)
        if level == _BP and found is None:
            return _BP  # nothing can make it milder
    if marrow is not None and marrow.blasts_bm is not None:
        bm = _site_level(
            "BM", marrow.blasts_bm, marrow.promyelocytes_bm, r.ap_marrow_counts, r, found
        )
        if bm > level:
            level = bm
    if blood is not None:
        ext = blood.extramedullary_blasts
        if ext is not None:
            if ext:
                level = _BP
                if found is not None:
                    found.append((_BP, "extramedullary blast proliferation"))
            else:
                if level < _SEEN:
                    level = _SEEN
                if found is not None:
                    found.append((_SEEN, "no extramedullary blasts"))
        baso = blood.basophils_pb
        if r.ap_basophils_min is not None and baso is not None:
            if level < _SEEN:
                level = _SEEN
            if found is not None:
                found.append((_SEEN, "PB basophils {:g}%", baso))
            if baso >= r.ap_basophils_min:
                if level < _AP:
                    level = _AP
                if found is not None:
                    found.append((_AP, "PB basophils {:g}% >= {:g}%", baso, r.ap_basophils_min))
        plt = blood.platelets
        if plt is not None:
            low, high = r.ap_platelets_low, r.ap_platelets_high
            if not on_therapy and low is not None:
                if level < _SEEN:
                    level = _SEEN
                if found is not None:
                    found.append((_SEEN, "platelets {:g} off therapy", plt))
                inclusive = r.ap_platelets_low_inclusive
                if plt < low or (inclusive and plt == low):
                    if level < _AP:
                        level = _AP
                    if found is not None:
                        found.append((_AP, "platelets {:g} {} {:g} off therapy", plt,
                                      "<=" if inclusive else "<", low))
            if on_therapy and high is not None:
                if level < _SEEN:
                    level = _SEEN
                if found is not None:
                    found.append((_SEEN, "platelets {:g} on therapy", plt))
                if plt > high:
                    if level < _AP:
                        level = _AP
                    if found is not None:
                        found.append((_AP, "platelets {:g} > {:g} on therapy", plt, high))
    criterion = r.aca_on_therapy if on_therapy else r.aca_off_therapy
    if cyto is not None and criterion is not None:
        # On therapy, clonal evolution means an ACA not seen before therapy began: one present
        # at diagnosis is the baseline's (a warning there), not a new AP criterion.
        hits: list[str] = []
        before: list[str] = []
        for a in cyto.aca:
            if _aca_matches(a, criterion):
                (before if on_therapy and norm_aca(a) in known_aca else hits).append(a)
        when = "on therapy" if on_therapy else "off therapy"
        if hits:
            if level < _AP:
                level = _AP
            if found is not None:
                found.append((_AP, "ACA in Ph+ cells {}: {}", when, ", ".join(hits)))
        else:
            if level < _SEEN:
                level = _SEEN
            if found is not None:
                found.append((_SEEN, "no qualifying ACA in Ph+ cells {}{}", when,
                              f" other than those present before therapy ({', '.join(before)})"
                              if before else ""))
    if persistent:
        if level < _AP:
            level = _AP
        if found is not None:
            found.extend((_AP, "{}", p) for p in persistent)
    return level


def _phase_text(
    blood: BloodCount | None,
    marrow: Marrow | None,
    cyto: Cytogenetics | None,
    r: PhaseRules,
    on_therapy: bool,
    known_aca: frozenset[str] = frozenset(),
    persistent: tuple[str, ...] = (),
) -> str:
    """The basis: the findings of the phase's level (every finding seen, for chronic)."""
    found: list[_Finding] = []
    level = _judge(blood, marrow, cyto, r, on_therapy, found, known_aca, persistent)
    written = [f[1].format(*f[2:]) for f in found if f[0] == level]
    if level == _SEEN:
        return "no AP or BP criterion met: " + ", ".join(written)
    return "; ".join(written)


def _rules_of(criteria: PhaseCriteria) -> PhaseRules:
    # A StrEnum hashes as its text: the plain lookup serves both, the enum call names a bad value.
    return PHASE_RULES.get(criteria) or PHASE_RULES[PhaseCriteria(criteria)]


def classify_phase(
    *,
    blood: BloodCount | None,
    marrow: Marrow | None,
    cyto: Cytogenetics | None,
    criteria: PhaseCriteria,
    on_therapy: bool,
    known_aca: frozenset[str] = frozenset(),
    persistent: tuple[str, ...] = (),
) -> Classified[Phase]:
    """Phase by the chosen criteria from the results of one day (any of them may be None).

    ``known_aca``: the ACA (as :func:`norm_aca` writes them) present before therapy; on
    therapy they are not clonal evolution. ``persistent``: WHO 2016 series criteria confirmed
    on this day (:func:`who2016_persistent`).
    """
    r = _rules_of(criteria)
    level = _judge(blood, marrow, cyto, r, on_therapy, None, known_aca, persistent)
    if level < 0:
        return Classified(None, r.rule, f"nothing that day bears on phase by {r.rule}")
    # The basis holds the inputs only and is written from them when read.
    return Classified(
        _PHASE_OF_LEVEL[level], r.rule,
        partial(_phase_text, blood, marrow, cyto, r, on_therapy, known_aca, persistent),
    )


def phase_of_day(
    blood: BloodCount | None,
    marrow: Marrow | None,
    cyto: Cytogenetics | None,
    criteria: PhaseCriteria,
    on_therapy: bool,
    known_aca: frozenset[str] = frozenset(),
    persistent: tuple[str, ...] = (),
) -> Phase | None:
    """``classify_phase(...).value`` without the rule and basis (the assessment's hot loop;
    positional, as it calls it for every blood count)."""
    level = _judge(blood, marrow, cyto, _rules_of(criteria), on_therapy, None, known_aca,
                   persistent)
    return None if level < 0 else _PHASE_OF_LEVEL[level]


@dataclass(frozen=True, slots=True)
class PersistenceRules:
    """WHO 2016's accelerated-phase criteria that must persist or appear on therapy
    (clinical-rules-2 section 7): the thresholds are WHO's, the reading of "persistent" (two
    consecutive results at least ``apart_days_ge`` apart, on a TKI for more than
    ``on_tki_months_gt`` months) is the reference's convention."""

    rule: str
    source: str
    wbc_gt: float
    platelets_gt: float
    platelets_lt: float
    apart_days_ge: int
    on_tki_months_gt: float
    mutations_ge: int


WHO2016_PERSISTENCE = PersistenceRules(
    rule="WHO2016.phase.persistent",
    source="Arber DA et al. Blood 2016;127(20):2391-2405, Table 2 (V); persistence read as two "
    "consecutive results >= 4 weeks apart on a TKI > 3 months: clinical-rules-2 section 7 "
    "(convention, U)",
    wbc_gt=10.0,
    platelets_gt=1000.0,
    platelets_lt=100.0,
    apart_days_ge=28,
    on_tki_months_gt=3.0,
    mutations_ge=2,
)


def who2016_persistent(
    record: PatientRecord, start: dt.date | None,
    rules: PersistenceRules = WHO2016_PERSISTENCE,
) -> dict[dt.date, tuple[str, ...]]:
    """The WHO 2016 series criteria, by the date that confirms each (the later result):
    WBC > 10 or platelets > 1000 on two consecutive counts >= 4 weeks apart, both on a TKI for
    more than 3 months (unresponsive to therapy); platelets < 100 on two consecutive counts >= 4
    weeks apart, both marked ``related_to_therapy: false`` (unrelated to therapy); a spleen
    palpable on two consecutive examinations, the later no smaller, both on a TKI > 3 months;
    two or more distinct BCR::ABL1 mutations found during TKI therapy (dated by the analysis
    that brings the second). ``start``: the first TKI start (None: no criterion applies)."""
    if start is None:
        return {}
    out: dict[dt.date, list[str]] = {}

    def long_on_tki(d: dt.date) -> bool:
        return (d - start).days / 30.4375 > rules.on_tki_months_gt

    counts = sorted((o for o in record.observations if isinstance(o, BloodCount)),
                    key=lambda o: o.date)
    apart = rules.apart_days_ge
    for name, limit, word in (("wbc", rules.wbc_gt, "WBC"),
                              ("platelets", rules.platelets_gt, "platelets")):
        series = [(c.date, v) for c in counts if (v := getattr(c, name)) is not None]
        for (d1, v1), (d2, v2) in pairwise(series):
            if (v1 > limit and v2 > limit and (d2 - d1).days >= apart
                    and long_on_tki(d1) and long_on_tki(d2)):
                out.setdefault(d2, []).append(
                    f"{word} {v1:g} on {d1} and {v2:g} on {d2} > {limit:g} x10^9/L, persistent "
                    f"on a TKI > {rules.on_tki_months_gt:g} months (unresponsive to therapy) "
                    f"[{rules.rule}]")
    plts = [c for c in counts if c.platelets is not None and c.date > start]
    for c1, c2 in pairwise(plts):
        assert c1.platelets is not None and c2.platelets is not None
        if (c1.platelets < rules.platelets_lt and c2.platelets < rules.platelets_lt
                and c1.related_to_therapy is False and c2.related_to_therapy is False
                and (c2.date - c1.date).days >= apart):
            out.setdefault(c2.date, []).append(
                f"platelets {c1.platelets:g} on {c1.date} and {c2.platelets:g} on {c2.date} < "
                f"{rules.platelets_lt:g} x10^9/L, persistent and marked unrelated to therapy "
                f"[{rules.rule}]")
    spleens = [(c.date, c.spleen_cm) for c in counts if c.spleen_cm is not None]
    for (d1, s1), (d2, s2) in pairwise(spleens):
        assert s1 is not None and s2 is not None
        if s1 > 0 and s2 > 0 and s2 >= s1 and long_on_tki(d1) and long_on_tki(d2):
            out.setdefault(d2, []).append(
                f"spleen {s1:g} cm on {d1} and {s2:g} cm on {d2}, persistent or increasing on a "
                f"TKI > {rules.on_tki_months_gt:g} months (unresponsive to therapy) [{rules.rule}]")
    seen: list[str] = []
    analyses = sorted((o for o in record.observations
                       if o.kind == "mutation" and o.date >= start), key=lambda o: o.date)
    for o in analyses:
        before = len(seen)
        seen += [m for m in getattr(o, "mutations", ()) if m not in seen]
        if before < rules.mutations_ge <= len(seen):
            out.setdefault(o.date, []).append(
                f"{len(seen)} BCR::ABL1 mutations during TKI therapy ({', '.join(seen)}) >= "
                f"{rules.mutations_ge} (provisional criterion) [{rules.rule}]")
    return {d: tuple(v) for d, v in out.items()}
