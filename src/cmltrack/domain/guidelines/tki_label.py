"""Label dose modifications of dasatinib, nilotinib, bosutinib, ponatinib and asciminib for
toxicity: cytopenias, liver values, QTc, amylase/lipase, graded adverse events (clinical-rules-2
section 2; one table per drug label in ``rules/data/<drug>_label.yaml``).

The rules of a drug apply while it is the patient's most recent TKI (as the imatinib label's do,
``label.label_applies``). Episodes are read as the imatinib label reads them: an episode starts
with the first result meeting a stop rule on a day the drug was taken and lasts until a result
meets the restart rule; its *recovery* is the days from that first result to the restarting one.
The state at ``as_of`` gives the action: an open episode ``hold`` (or ``discontinue`` where the
label stops the drug for good), a closed one ``resume`` at the label's dose (see
``label._resume_or_nothing`` for a restart already in the therapy rows).

Readings where the label leaves a choice (documented in docs/decisions.md):
- Dasatinib, chronic phase: each episode resumes one step lower than the one before; a first
  episode resumes at 100 mg only if it recovered in <= 7 days with platelets never < 25, and
  otherwise at 80 mg (the label's step 3). The third step is 50 mg (first line) or discontinue
  (second line or later) and is recommended when the episode starts (no hold before a stop).
- Nilotinib QTc: "within 20 ms of baseline" is |QTcF - baseline| <= 20 with the baseline the
  last ECG on or before the first nilotinib start; without one the resume is not evaluable. A
  QTcF between 450 and 480 ms in the first 2 weeks keeps the hold.
- A graded ``adverse_event`` is followed by later events of the same term: grade 0 records that
  it has resolved.
"""

from __future__ import annotations

import datetime as dt
import functools
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from cmltrack.domain.enums import TKIS, Action, Phase
from cmltrack.domain.guidelines.label import (
    RuleRow,
    RuleTable,
    _Episode,
    _find_episodes,
    _hold,
    _ratio,
    _resume_or_nothing,
    fmt_value,
    label_applies,
    line_on,
    load_rule_table,
)
from cmltrack.domain.options import LabLimits
from cmltrack.domain.records import (
    BloodCount,
    Chemistry,
    Event,
    ObservationIndex,
    PatientRecord,
)
from cmltrack.domain.results import Recommendation
from cmltrack.errors import RuleTableError

#: The drugs with a table here (the imatinib label is ``label.py``).
DRUGS = ("asciminib", "bosutinib", "dasatinib", "nilotinib", "ponatinib")

_OPS: dict[str, Callable[[float, float], bool]] = {
    "lt": operator.lt, "le": operator.le, "gt": operator.gt, "ge": operator.ge}

_Result = tuple[dt.date, Any, bool, bool]


@functools.cache
def table(drug: str) -> RuleTable:
    """``rules/data/<drug>_label.yaml``, checked: every threshold key names a comparison."""
    t = load_rule_table(f"{drug}_label")
    for row in t.rows.values():
        for group in ("any", "all", "restart_all", "restart_all_measured"):
            cond = row.condition.get(group)
            if cond is None:
                continue
            if not isinstance(cond, Mapping):
                raise RuleTableError(f"{t.name}: {row.id} {group} is not a mapping")
            for key, value in cond.items():
                if str(key).rpartition("_")[2] not in _OPS:
                    raise RuleTableError(f"{t.name}: {row.id} {group}.{key} has no comparison")
                if isinstance(value, bool) or not isinstance(value, int | float):
                    raise RuleTableError(f"{t.name}: {row.id} {group}.{key} is not a number")
    return t


def _meets(cond: Mapping[str, float], values: Mapping[str, float | None], mode: str) -> bool:
    """``cond`` maps ``<value>_<op>`` to a threshold. ``any``: one measured value meets its
    threshold; ``all``: every value is measured and meets it; ``all_measured``: at least one is
    measured and every measured one meets it."""
    checks: list[bool | None] = []
    for key, threshold in cond.items():
        name, _, op = key.rpartition("_")
        value = values.get(name)
        checks.append(None if value is None else _OPS[op](value, float(threshold)))
    if mode == "any":
        return any(c is True for c in checks)
    if mode == "all":
        return all(c is True for c in checks)
    measured = [c for c in checks if c is not None]
    return bool(measured) and all(measured)


def _num(row: RuleRow, *keys: str) -> float:
    value: Any = row.condition
    for key in keys:
        value = value[key] if isinstance(value, Mapping) and key in value else None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RuleTableError(f"{row.id}: {'.'.join(keys)} is not a number")
    return float(value)


def _dose(x: float | None) -> str:
    return "no dose named" if x is None else f"{x:g} mg/day"


@dataclass(frozen=True, slots=True)
class _Context:
    record: PatientRecord
    as_of: dt.date
    drug: str
    phase: Phase | None
    limits: LabLimits
    index: ObservationIndex

    @property
    def later_line(self) -> bool:
        """An earlier row of another TKI before this drug's first start (second line or later)."""
        first = min(t.start for t in self.record.therapy if t.drug == self.drug)
        return any(t.drug in TKIS and t.drug != self.drug and t.start < first
                   for t in self.record.therapy)


def _count_text(c: BloodCount) -> str:
    return f"{c.date}: ANC {fmt_value(c.anc)}, platelets {fmt_value(c.platelets)}"


def _count_results(ctx: _Context, hold: RuleRow) -> list[_Result]:
    trig, restart = hold.condition["any"], hold.condition["restart_all"]
    out: list[_Result] = []
    for c in ctx.index.blood:
        if c.date > ctx.as_of:
            break
        if c.anc is None and c.platelets is None:
            continue
        values = {"anc": c.anc, "platelets": c.platelets}
        out.append((c.date, c, _meets(trig, values, "any"), _meets(restart, values, "all")))
    return out


def _episodes(ctx: _Context, results: Sequence[_Result],
              describe: Callable[[Any], str]) -> list[_Episode]:
    return _find_episodes(results, ctx.record, describe=describe, holds_at_once=True,
                          drug=ctx.drug)


def _recovery(ep: _Episode) -> int:
    assert ep.end is not None
    return (ep.end - ep.start).days


def _discontinue(ctx: _Context, row: RuleRow, because: str) -> list[Recommendation]:
    # Said while the drug is the most recent TKI, held or running: it must not be restarted.
    return [Recommendation(Action.DISCONTINUE, row.id, row.source, because, ctx.drug)]


def _resume(ctx: _Context, ep: _Episode, row: RuleRow, dose: float | None, why: str,
            latest: dt.date, recheck: str = "the count") -> list[Recommendation]:
    return list(_resume_or_nothing(ctx.record, ep, as_of=ctx.as_of, dose=dose, rule=row,
                                   why=why, latest=latest, drug=ctx.drug, recheck=recheck))


def _cytopenia(
    ctx: _Context,
    hold_id: str,
    resume_dose: Callable[[_Episode, list[_Episode]], tuple[RuleRow, float | None, str] | None],
    *,
    stop_now: Callable[[_Episode, list[_Episode]], tuple[RuleRow, str] | None] | None = None,
    hold_note: str = "",
) -> list[Recommendation]:
    """The shared cytopenia rule: ``resume_dose`` picks the resume row, dose and wording of a
    recovered episode; ``stop_now`` (dasatinib) may discontinue at an episode's start."""
    t = table(ctx.drug)
    hold = t.row(hold_id)
    results = _count_results(ctx, hold)
    episodes = _episodes(ctx, results, _count_text)
    if not episodes:
        return []
    last = episodes[-1]
    trig = _cond_text(hold.condition["any"], " or ")
    restart = _cond_text(hold.condition["restart_all"], " and ")
    trigger = (f"{trig} x10^9/L on {ctx.drug} {_dose(last.dose)} ({last.start_basis})")
    if last.number > 1:
        trigger = f"recurrence (episode {last.number}, first on {episodes[0].start}): " + trigger
    if stop_now is not None:
        stop = stop_now(last, episodes)
        if stop is not None:
            return _discontinue(ctx, stop[0], f"{trigger}; {stop[1]}")
    if last.end is None:
        return list(_hold(hold, f"{trigger}; latest count {_count_text(results[-1][1])} has not "
                                f"reached {restart}: {hold_note}withhold {ctx.drug}", ctx.drug))
    chosen = resume_dose(last, episodes)
    if chosen is None:
        return []
    row, dose, how = chosen
    why = (f"{trigger}; recovered on {last.end_basis} ({restart}) after "
           f"{_recovery(last)} days: {how}")
    if row.action == Action.DISCONTINUE:
        return _discontinue(ctx, row, why)
    return _resume(ctx, last, row, dose, why, results[-1][0])


_SIGN = {"lt": "<", "le": "<=", "gt": ">", "ge": ">="}
_NAMES = {"anc": "ANC", "platelets": "platelets"}


def _cond_text(cond: Mapping[str, float], joiner: str) -> str:
    """A threshold mapping in words: ``ANC < 0.5 or platelets < 50``, ``ALT > 5 x ULN``."""
    out = []
    for key, value in cond.items():
        name, _, op = key.rpartition("_")
        unit = " x ULN" if name.endswith("_x_uln") else ""
        shown = _NAMES.get(name, name.split("_")[0].upper())
        out.append(f"{shown} {_SIGN[op]} {value:g}{unit}")
    return joiner.join(out)


# --- dasatinib ---------------------------------------------------------------------------------


def _nadir(ctx: _Context, ep: _Episode) -> float | None:
    end = ep.end or ctx.as_of
    plts = [c.platelets for c in ctx.index.blood
            if ep.start <= c.date <= end and c.platelets is not None]
    return min(plts) if plts else None


def _dasatinib_steps(ctx: _Context, episodes: list[_Episode]) -> list[int]:
    """The chronic-phase step of each episode: one lower than the one before; a first episode
    that did not recover in <= 7 days with platelets >= 25 is already step 2."""
    t = table("dasatinib")
    ok = t.row("LABEL.dasatinib.cp.cytopenia.resume")
    days_le, plt_ge = _num(ok, "recovery_days_le"), _num(ok, "nadir_platelets_ge")
    steps: list[int] = []
    for ep in episodes:
        nadir = _nadir(ctx, ep)
        mild = (nadir is None or nadir >= plt_ge) and (ep.end is None or _recovery(ep) <= days_le)
        steps.append(max((steps[-1] if steps else 0) + 1, 1 if mild else 2))
    return steps


def _dasatinib(ctx: _Context) -> list[Recommendation]:
    t = table("dasatinib")
    if ctx.phase is Phase.CHRONIC:
        def stop_now(last: _Episode, eps: list[_Episode]) -> tuple[RuleRow, str] | None:
            step = _dasatinib_steps(ctx, eps)[-1]
            if step >= 3 and ctx.later_line:
                return (t.row("LABEL.dasatinib.cp.cytopenia.discontinue"),
                        f"episode step {step} on dasatinib after an earlier TKI: the label "
                        "discontinues dasatinib at the third episode")
            return None

        def resume(last: _Episode, eps: list[_Episode]) -> tuple[RuleRow, float | None, str]:
            step = _dasatinib_steps(ctx, eps)[-1]
            nadir = _nadir(ctx, last)
            if step == 1:
                row = t.row("LABEL.dasatinib.cp.cytopenia.resume")
                return row, float(row.dose), (
                    f"recovered in <= {_num(row, 'recovery_days_le'):g} days with platelets "
                    f"never < {_num(row, 'nadir_platelets_ge'):g} (lowest "
                    f"{fmt_value(nadir)}): resume at the original starting dose "
                    f"{_dose(float(row.dose))}")
            if step == 2:
                row = t.row("LABEL.dasatinib.cp.cytopenia.resume_reduced")
                return row, float(row.dose), (
                    f"lowest platelets {fmt_value(nadir)}; step 2 (a second episode, or platelets"
                    f" < {_num(row, 'nadir_platelets_lt'):g}, or recovery > "
                    f"{_num(row, 'recovery_days_gt'):g} days): resume at the reduced dose "
                    f"{_dose(float(row.dose))}")
            row = t.row("LABEL.dasatinib.cp.cytopenia.third_episode")
            if step == 3:
                return row, float(row.dose), (
                    f"step 3 (third episode), newly diagnosed: resume at {_dose(float(row.dose))}")
            return row, None, (f"step {step}: the label names no dose beyond the third episode; "
                               "choose the dose or stop dasatinib")

        return _cytopenia(ctx, "LABEL.dasatinib.cp.cytopenia.hold", resume, stop_now=stop_now)
    if ctx.phase in (Phase.ACCELERATED, Phase.BLAST):
        def resume_ap(last: _Episode, eps: list[_Episode]) -> tuple[RuleRow, float | None, str]:
            row = t.row("LABEL.dasatinib.apbp.cytopenia.resume")
            marrow = ("if the marrow shows the cytopenia unrelated to leukemia (if related, the "
                      "label considers escalation instead)")
            if last.number == 1:
                return row, float(row.dose), (
                    f"{marrow}: resume at the original starting dose {_dose(float(row.dose))}")
            return row, None, (
                f"{marrow}: episode {last.number}; the label's reduced dose for a recurrence in "
                "advanced phase could not be read in the sources (clinical-rules-2 section 2a): "
                "choose the dose")

        return _cytopenia(ctx, "LABEL.dasatinib.apbp.cytopenia.hold", resume_ap, hold_note=(
            "check whether the cytopenia is related to leukemia (marrow aspirate or biopsy); "
            "if unrelated, "))
    return []


# --- nilotinib ---------------------------------------------------------------------------------


def _nilotinib(ctx: _Context) -> list[Recommendation]:
    t = table("nilotinib")
    recs: list[Recommendation] = []
    if ctx.phase in (Phase.CHRONIC, Phase.ACCELERATED):
        def resume(last: _Episode, eps: list[_Episode]) -> tuple[RuleRow, float | None, str]:
            ok = t.row("LABEL.nilotinib.cytopenia.resume")
            if _recovery(last) <= _num(ok, "recovery_days_le"):
                return ok, last.dose, (f"recovered within {_num(ok, 'recovery_days_le'):g} days:"
                                       f" resume at the prior dose {_dose(last.dose)}")
            low = t.row("LABEL.nilotinib.cytopenia.resume_reduced")
            return low, float(low.dose), (
                f"counts low for > {_num(low, 'recovery_days_gt'):g} days: resume at the reduced "
                f"dose {_dose(float(low.dose))} (400 mg once daily)")

        recs += _cytopenia(ctx, "LABEL.nilotinib.cytopenia.hold", resume)
    recs += _nilotinib_qtc(ctx)
    return recs


def _nilotinib_qtc(ctx: _Context) -> list[Recommendation]:
    t = table("nilotinib")
    hold, ok = t.row("LABEL.nilotinib.qtc.hold"), t.row("LABEL.nilotinib.qtc.resume")
    low = t.row("LABEL.nilotinib.qtc.resume_reduced")
    stop = t.row("LABEL.nilotinib.qtc.discontinue")
    hold_gt = _num(hold, "qtcf_ms_gt")
    ok_lt, ok_within = _num(ok, "qtcf_ms_lt"), _num(ok, "within_baseline_ms_le")
    low_days, low_ge, low_le = (_num(low, "recovery_days_gt"), _num(low, "qtcf_ms_ge"),
                                _num(low, "qtcf_ms_le"))
    stop_dose, stop_gt = _num(stop, "dose"), _num(stop, "qtcf_ms_gt")
    first = min(r.start for r in ctx.record.therapy if r.drug == "nilotinib")
    ecgs = [e for e in ctx.index.ecg if e.date <= ctx.as_of]
    before = [e for e in ecgs if e.date <= first]
    baseline = before[-1].qtcf_ms if before else None
    base_text = (f"baseline QTcF {baseline:g} ms" if baseline is not None
                 else "no baseline ECG on or before the nilotinib start")
    open_: _Episode | None = None
    last_closed: _Episode | None = None
    reduced_after: bool = False  # a QTc episode has ended in the reduction to 400 mg
    outcome: tuple[RuleRow, float | None, str] | None = None
    latest = ecgs[-1] if ecgs else None
    number = 0
    for e in ecgs:
        q = e.qtcf_ms
        if open_ is None:
            line = line_on(ctx.record, e.date, drugs=frozenset({"nilotinib"}))
            if line is None or not q > hold_gt:
                continue
            if reduced_after and line.dose_mg_per_day == stop_dose and q > stop_gt:
                return _discontinue(ctx, stop, (
                    f"QTcF {q:g} ms > {stop_gt:g} on {e.date} on nilotinib {_dose(stop_dose)} "
                    "after the reduction for QT prolongation: discontinue nilotinib"))
            number += 1
            open_ = _Episode(number=number, start=e.date, start_basis=f"{e.date}: QTcF {q:g} ms",
                             dose=line.dose_mg_per_day, hold_from=e.date, last_trigger=e.date)
            outcome = None
            continue
        days = (e.date - open_.start).days
        within = baseline is not None and abs(q - baseline) <= ok_within
        if q < ok_lt and within:
            outcome = (ok, open_.dose, f"QTcF {q:g} ms < {ok_lt:g} and within {ok_within:g} ms of "
                       f"the {base_text} after {days} days: resume at the prior dose "
                       f"{_dose(open_.dose)}")
        elif days > low_days and low_ge <= q <= low_le:
            outcome = (low, float(low.dose), f"QTcF {q:g} ms, between {low_ge:g} and "
                       f"{low_le:g} ms, {days} days (> {low_days:g}) after the hold: resume at "
                       f"the reduced dose {_dose(float(low.dose))} (400 mg once daily)")
            reduced_after = True
        else:
            open_ = replace(open_, last_trigger=e.date)
            continue
        open_ = replace(open_, end=e.date, end_basis=f"{e.date}: QTcF {q:g} ms")
        last_closed = open_
        open_ = None
    def trigger_of(ep: _Episode) -> str:
        return f"{ep.start_basis} > {hold_gt:g} ms on nilotinib {_dose(ep.dose)}"

    if open_ is not None:
        assert latest is not None
        return list(_hold(hold, (
            f"{trigger_of(open_)}; latest ECG {latest.date} QTcF {latest.qtcf_ms:g} ms "
            f"({base_text}) has not returned to < {ok_lt:g} ms within {ok_within:g} ms of "
            "baseline: withhold nilotinib, check potassium and magnesium, review QT-prolonging "
            "co-medication, and repeat the ECG"), "nilotinib"))
    if outcome is None or latest is None or last_closed is None:
        return []
    row, dose, how = outcome
    return _resume(ctx, last_closed, row, dose, f"{trigger_of(last_closed)}; {how}", latest.date,
                   recheck="the ECG about 7 days after the dose change")


# --- bosutinib ---------------------------------------------------------------------------------


def _panel_ratio(value: float | None, uln: float | None) -> float | None:
    """A value as a multiple of the panel's own ULN; None without one (no site default)."""
    if value is None or uln is None or uln <= 0:
        return None
    return round(value / uln, 9)


def _chem_values(c: Chemistry, limits: LabLimits) -> dict[str, float | None]:
    return {
        "alt_x_uln": _ratio(c.alt, c.alt_uln, limits.alt_uln),
        "ast_x_uln": _ratio(c.ast, c.ast_uln, limits.ast_uln),
        "bilirubin_x_uln": _ratio(c.bilirubin, c.bilirubin_uln, limits.bilirubin_uln),
        "alp_x_uln": _panel_ratio(c.alp, c.alp_uln),
        "lipase_x_uln": _panel_ratio(c.lipase, c.lipase_uln),
        "amylase_x_uln": _panel_ratio(c.amylase, c.amylase_uln),
    }


def _chem_text(c: Chemistry, limits: LabLimits, names: Sequence[str]) -> str:
    values = _chem_values(c, limits)
    parts = [f"{n.split('_')[0].upper()} {values[n]:.2f} x ULN" for n in names
             if values[n] is not None]
    return f"{c.date}: " + (", ".join(parts) or "not measured")


def _chem_results(ctx: _Context, hold: RuleRow) -> list[_Result]:
    trig = hold.condition["any"]
    restart = hold.condition["restart_all_measured"]
    out: list[_Result] = []
    for c in ctx.index.chemistry:
        if c.date > ctx.as_of:
            break
        values = _chem_values(c, ctx.limits)
        if all(values.get(k.rpartition("_")[0]) is None for k in trig):
            continue
        out.append((c.date, c, _meets(trig, values, "any"),
                    _meets(restart, values, "all_measured")))
    return out


def _bosutinib(ctx: _Context) -> list[Recommendation]:
    t = table("bosutinib")
    recs: list[Recommendation] = []
    # Hy's law first: it discontinues whatever else stands.
    hy = t.row("LABEL.bosutinib.hys_law.discontinue")
    for c in ctx.index.chemistry:
        if c.date > ctx.as_of:
            break
        values = _chem_values(c, ctx.limits)
        if (_meets(hy.condition["any"], values, "any")
                and _meets(hy.condition["all"], values, "all")
                and line_on(ctx.record, c.date, drugs=frozenset({"bosutinib"})) is not None):
            names = ("alt_x_uln", "ast_x_uln", "bilirubin_x_uln", "alp_x_uln")
            return _discontinue(ctx, hy, (
                f"{_chem_text(c, ctx.limits, names)} on bosutinib: transaminase >= 3 x ULN with "
                "bilirubin > 2 x ULN and alkaline phosphatase < 2 x ULN (Hy's law case): "
                "discontinue bosutinib"))
    recs += _bosutinib_liver(ctx)
    recs += _adverse_event_hold(ctx, "LABEL.bosutinib.diarrhea.hold",
                                "LABEL.bosutinib.diarrhea.resume")

    def resume(last: _Episode, eps: list[_Episode]) -> tuple[RuleRow, float | None, str]:
        if last.number == 1:
            ok = t.row("LABEL.bosutinib.cytopenia.resume")
            if _recovery(last) <= _num(ok, "recovery_days_le"):
                return ok, last.dose, (f"recovered within {_num(ok, 'recovery_days_le'):g} days: "
                                       f"resume at the same dose {_dose(last.dose)}")
            row = t.row("LABEL.bosutinib.cytopenia.resume_reduced")
            why = f"counts low for > {_num(row, 'recovery_days_gt'):g} days"
        else:
            row = t.row("LABEL.bosutinib.cytopenia.resume_recurrence")
            why = "the cytopenia recurred"
        step = float(row.dose["previous_minus"])
        dose = None if last.dose is None else last.dose - step
        note = " (doses below 300 mg/day have not been evaluated)" if dose is not None and (
            dose < 300) else ""
        return row, dose, (f"{why}: reduce by {step:g} mg from {_dose(last.dose)} and resume at "
                           f"{_dose(dose)}{note}")

    recs += _cytopenia(ctx, "LABEL.bosutinib.cytopenia.hold", resume)
    return recs


def _bosutinib_liver(ctx: _Context) -> list[Recommendation]:
    t = table("bosutinib")
    hold = t.row("LABEL.bosutinib.hepatotoxicity.hold")
    ok, stop = t.row("LABEL.bosutinib.hepatotoxicity.resume"), t.row(
        "LABEL.bosutinib.hepatotoxicity.discontinue")
    limit = _num(stop, "recovery_days_gt")
    results = _chem_results(ctx, hold)
    names = ("alt_x_uln", "ast_x_uln")
    describe = functools.partial(_chem_text, limits=ctx.limits, names=names)
    episodes = _episodes(ctx, results, describe)
    if not episodes:
        return []
    last = episodes[-1]
    trigger = (f"{_cond_text(hold.condition['any'], ' or ')} on bosutinib "
               f"{_dose(last.dose)} ({last.start_basis})")
    restart = _cond_text(hold.condition["restart_all_measured"], " and ")
    if last.end is None:
        waited = (results[-1][0] - last.start).days
        if waited > limit:
            return _discontinue(ctx, stop, (
                f"{trigger}; not recovered to {restart} after {waited} days (> {limit:g}; latest "
                f"{describe(results[-1][1])}): discontinue bosutinib"))
        return list(_hold(hold, f"{trigger}; latest {describe(results[-1][1])} has not recovered "
                                f"to {restart}: withhold bosutinib", "bosutinib"))
    days = _recovery(last)
    if days > limit:
        return _discontinue(ctx, stop, (f"{trigger}; recovery on {last.end_basis} took {days} "
                                        f"days (> {limit:g}): discontinue bosutinib"))
    return _resume(ctx, last, ok, float(ok.dose), (
        f"{trigger}; recovered on {last.end_basis} ({restart}) in {days} days: resume at "
        f"{_dose(float(ok.dose))}"), results[-1][0], recheck="the liver tests")


# --- graded adverse events ---------------------------------------------------------------------


def _events_of(ctx: _Context, term: str) -> list[Event]:
    return sorted((e for e in ctx.record.events
                   if e.kind == "adverse_event" and e.term == term and e.date <= ctx.as_of),
                  key=lambda e: e.date)


def _event_text(e: Event) -> str:
    return f"{e.date}: {str(e.term).replace('_', ' ')} grade {e.grade}"


def _adverse_event_hold(ctx: _Context, hold_id: str, resume_id: str) -> list[Recommendation]:
    """A grade >= N event stops the drug until a later event of the term is graded <= M."""
    t = table(ctx.drug)
    hold, ok = t.row(hold_id), t.row(resume_id)
    term = str(hold.condition["term"])
    grade_ge, restart_le = _num(hold, "grade_ge"), _num(hold, "restart_grade_le")
    results: list[_Result] = [(e.date, e, (e.grade or 0) >= grade_ge, (e.grade or 0) <= restart_le)
                              for e in _events_of(ctx, term)]
    episodes = _episodes(ctx, results, _event_text)
    if not episodes:
        return []
    last = episodes[-1]
    trigger = f"{last.start_basis} (>= {grade_ge:g}) on {ctx.drug} {_dose(last.dose)}"
    if last.end is None:
        return list(_hold(hold, f"{trigger}; not yet recorded at grade <= {restart_le:g}: "
                                f"withhold {ctx.drug}", ctx.drug))
    return _resume(ctx, last, ok, float(ok.dose), (
        f"{trigger}; {last.end_basis} (<= {restart_le:g}): resume at {_dose(float(ok.dose))}"),
        results[-1][0], recheck="the patient")


# --- ponatinib ---------------------------------------------------------------------------------


def _next_lower(dose: float | None) -> float | None:
    levels = [float(x) for x in table("ponatinib").extra["dose_levels"]]
    if dose is None:
        return None
    lower = [x for x in levels if x < dose]
    return max(lower) if lower else None


def _ponatinib(ctx: _Context) -> list[Recommendation]:
    t = table("ponatinib")

    def resume(last: _Episode, eps: list[_Episode]) -> tuple[RuleRow, float | None, str]:
        if last.number == 1:
            return t.row("LABEL.ponatinib.cytopenia.resume"), last.dose, (
                f"first occurrence: resume at the same dose {_dose(last.dose)}")
        lower = _next_lower(last.dose)
        how = (f"resume at the next lower dose {_dose(lower)}" if lower is not None else
               f"the label gives no lower dose than {_dose(last.dose)}: choose the dose or stop")
        return t.row("LABEL.ponatinib.cytopenia.resume_recurrence"), lower, (
            f"occurrence {last.number}: {how}")

    advanced = ctx.phase in (Phase.ACCELERATED, Phase.BLAST)
    recs = _cytopenia(ctx, "LABEL.ponatinib.cytopenia.hold", resume, hold_note=(
        "the label's rule is for a cytopenia unrelated to leukemia (check the marrow in "
        f"{ctx.phase} phase); if unrelated, " if advanced else ""))
    recs += _ponatinib_aoe(ctx, "arterial_occlusion_cardiac", "aoe_cardiac")
    recs += _ponatinib_aoe(ctx, "arterial_occlusion_peripheral", "aoe_peripheral")
    return recs


def _ponatinib_aoe(ctx: _Context, term: str, topic: str) -> list[Recommendation]:
    """Arterial occlusive events: the worst grade of an episode sets its restart grade and dose;
    a grade the table has no row for gives nothing (peripheral grade 3-4: not sourced)."""
    t = table("ponatinib")
    rows = {rid: row for rid, row in t.rows.items() if rid.startswith(f"LABEL.ponatinib.{topic}.")}
    events = [e for e in _events_of(ctx, term)]
    open_: _Episode | None = None
    worst = 0
    history: list[tuple[_Episode, int]] = []  # closed episodes and their worst grade
    latest: Event | None = None
    for e in events:
        grade = e.grade or 0
        latest = e
        if open_ is None:
            line = line_on(ctx.record, e.date, drugs=frozenset({"ponatinib"}))
            if grade < 1 or line is None:
                continue
            open_ = _Episode(number=len(history) + 1, start=e.date, start_basis=_event_text(e),
                             dose=line.dose_mg_per_day, hold_from=e.date, last_trigger=e.date)
            worst = grade
            continue
        row = _aoe_row(rows, worst, history)
        if row is not None and "restart_grade_le" in row.condition and grade <= _num(
                row, "restart_grade_le"):
            history.append((replace(open_, end=e.date, end_basis=_event_text(e)), worst))
            open_ = None
            continue
        worst = max(worst, grade)
        open_ = replace(open_, last_trigger=e.date)
    if open_ is not None:
        row = _aoe_row(rows, worst, history)
        if row is None:
            return []
        trigger = f"{open_.start_basis} on ponatinib {_dose(open_.dose)} (worst grade {worst})"
        if row.action == Action.DISCONTINUE:
            earlier = f"; an earlier episode of grade 2 ({history[-1][0].start})" if (
                history and "after_grade" in row.condition) else ""
            return _discontinue(ctx, row, f"{trigger}{earlier}: {row.wording}")
        restart = _num(row, "restart_grade_le")
        until = "resolved (grade 0)" if restart == 0 else f"grade {restart:g} or lower"
        return list(_hold(row, f"{trigger}: interrupt ponatinib until {until} ({row.wording})",
                          "ponatinib"))
    if not history:
        return []
    last, grade = history[-1]
    row = _aoe_row(rows, grade, history[:-1])
    assert row is not None and latest is not None
    dose = last.dose if row.dose == "previous" else _next_lower(last.dose)
    how = f"resume at {_dose(dose)}" if dose is not None else (
        f"the label gives no lower dose than {_dose(last.dose)}: choose the dose or stop")
    return _resume(ctx, last, row, dose, (
        f"{last.start_basis} on ponatinib {_dose(last.dose)} (worst grade {grade}); "
        f"{last.end_basis}: {how}"), latest.date, recheck="the patient")


def _aoe_row(rows: Mapping[str, RuleRow], worst: int,
             history: Sequence[tuple[_Episode, int]]) -> RuleRow | None:
    """The row for an episode of worst grade ``worst`` after the ``history`` episodes."""
    after2 = any(g == 2 for _, g in history)
    for row in rows.values():
        c = row.condition
        if "grade_ge" in c and worst >= _num(row, "grade_ge"):
            return row
    for row in rows.values():
        c = row.condition
        if "after_grade" in c and after2 and c.get("worst_grade", worst) == worst:
            return row
    for row in rows.values():
        c = row.condition
        if "after_grade" not in c and c.get("worst_grade") == worst:
            return row
    return None


# --- asciminib ---------------------------------------------------------------------------------


def _asciminib(ctx: _Context) -> list[Recommendation]:
    t = table("asciminib")
    reductions = {float(k): float(v) for k, v in t.extra["reductions"].items()}
    floor = t.row("LABEL.asciminib.minimum_dose")

    def reduced(dose: float | None) -> tuple[float | None, bool]:
        """The reduced dose, and whether the dose is already the lowest the label allows."""
        if dose is None:
            return None, False
        if dose in reductions.values() or dose < min(reductions.values()):
            return None, True
        return reductions.get(dose), False

    def resume(last: _Episode, eps: list[_Episode]) -> tuple[RuleRow, float | None, str]:
        ok = t.row("LABEL.asciminib.cytopenia.resume")
        if last.number == 1 and _recovery(last) <= _num(ok, "recovery_days_le"):
            return ok, last.dose, (f"recovered within {_num(ok, 'recovery_days_le'):g} days: "
                                   f"resume at the starting dose {_dose(last.dose)}")
        row = t.row("LABEL.asciminib.cytopenia.resume_reduced")
        why = ("the cytopenia recurred" if last.number > 1 else
               f"recovery took > {_num(row, 'any_of', 'recovery_days_gt'):g} days")
        dose, lowest = reduced(last.dose)
        if lowest:
            return floor, None, (f"{why} on {_dose(last.dose)}, the lowest dose the label "
                                 "allows: discontinue asciminib")
        return row, dose, f"{why}: resume at the reduced dose {_dose(dose)}"

    recs = _cytopenia(ctx, "LABEL.asciminib.cytopenia.hold", resume)
    recs += _asciminib_pancreas(ctx, reduced)
    return recs


def _asciminib_pancreas(
    ctx: _Context, reduced: Callable[[float | None], tuple[float | None, bool]]
) -> list[Recommendation]:
    t = table("asciminib")
    hold = t.row("LABEL.asciminib.pancreas.hold")
    ok = t.row("LABEL.asciminib.pancreas.resume")
    stop = t.row("LABEL.asciminib.pancreas.discontinue")
    floor = t.row("LABEL.asciminib.minimum_dose")
    results = _chem_results(ctx, hold)
    describe = functools.partial(_chem_text, limits=ctx.limits,
                                 names=("amylase_x_uln", "lipase_x_uln"))
    episodes = _episodes(ctx, results, describe)
    if not episodes:
        return []
    last = episodes[-1]
    trigger = (f"{_cond_text(hold.condition['any'], ' or ')} on asciminib "
               f"{_dose(last.dose)} ({last.start_basis})")
    dose, lowest = reduced(last.dose)
    if last.number > 1 and lowest:
        return _discontinue(ctx, stop, (f"recurrence (episode {last.number}) at the reduced "
                                        f"dose: {trigger}: discontinue asciminib"))
    restart = _cond_text(hold.condition["restart_all_measured"], " and ")
    if last.end is None:
        return list(_hold(hold, f"{trigger}; latest {describe(results[-1][1])} has not resolved "
                                f"to {restart}: withhold asciminib and exclude pancreatitis",
                          "asciminib"))
    if lowest:
        return _discontinue(ctx, floor, (f"{trigger}; resolved on {last.end_basis}, but "
                                         f"{_dose(last.dose)} is the lowest dose the label "
                                         "allows: discontinue asciminib"))
    return _resume(ctx, last, ok, dose, (f"{trigger}; resolved on {last.end_basis} ({restart}):"
                                         f" resume at the reduced dose {_dose(dose)}"),
                   results[-1][0], recheck="amylase and lipase")


# --- entry -------------------------------------------------------------------------------------

_BY_DRUG: dict[str, Callable[[_Context], list[Recommendation]]] = {
    "asciminib": _asciminib,
    "bosutinib": _bosutinib,
    "dasatinib": _dasatinib,
    "nilotinib": _nilotinib,
    "ponatinib": _ponatinib,
}


def recommend_tki_label(
    record: PatientRecord,
    *,
    as_of: dt.date,
    phase: Phase | None,
    limits: LabLimits = LabLimits(),  # noqa: B008 - frozen dataclass, safe as a default
    index: ObservationIndex | None = None,
) -> tuple[Recommendation, ...]:
    """The hold / resume / discontinue recommendations of the most recent TKI's label table
    (dasatinib, nilotinib, bosutinib, ponatinib, asciminib) standing at ``as_of``. ``phase`` is
    the phase the dose rules treat (``label.disease_phase``); the phase-specific rules
    (dasatinib, nilotinib cytopenias) are not evaluable without one."""
    for drug, rule in _BY_DRUG.items():
        if label_applies(record, as_of, drug):
            ctx = _Context(record, as_of, drug, phase, limits,
                           index or ObservationIndex.of(record))
            return tuple(rule(ctx))
    return ()
