"""The cohort report: status counts, actions due, response rates, swimmer, waterfall, PFS."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from cmltrack.display import clinical_text, display_name, format_dose, source_text
from cmltrack.domain.endpoints import EndpointRow
from cmltrack.domain.results import Recommendation
from cmltrack.plots.cohort import SwimmerRow, WaterfallBar

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: Responses whose rates the report gives: label -> endpoint PARAMCD.
RESPONSES: tuple[tuple[str, str], ...] = (
    ("CHR", "TTCHR"),
    ("CCyR", "TTCCYR"),
    ("MMR", "TTMMR"),
    ("MR4", "TTMR4"),
    ("MR4.5", "TTMR45"),
)
LANDMARK_MONTHS = 12.0


@dataclass(frozen=True, slots=True)
class PatientSummary:
    """What the cohort report keeps of one patient (the assessment itself is let go)."""

    patient_id: str
    href: str
    status: str | None
    drug: str | None
    dose: float | None
    recommendations: tuple[Recommendation, ...]
    endpoints: tuple[EndpointRow, ...]
    swimmer: SwimmerRow | None
    waterfall: WaterfallBar | None
    elts: str | None = None  # ELTS risk group at diagnosis, for the survival curves


@dataclass(frozen=True, slots=True)
class Rate:
    label: str
    k: int
    n: int
    estimate: float | None
    lower: float | None
    upper: float | None


def exact_rate(label: str, k: int, n: int) -> Rate:
    """k of n with the Clopper-Pearson 95% interval (None when n is 0)."""
    if n == 0:
        return Rate(label, k, n, None, None, None)
    from cmltrack.stats.rates import rate_ci

    r = rate_ci(k, n, "exact")
    return Rate(label, k, n, r.estimate, r.lower, r.upper)


def response_rates(patients: Sequence[PatientSummary]) -> list[Rate]:
    """Best response ever and by 12 months, among patients with a TKI start.

    Ever: k = patients with the response at any time, n = every patient with a TKI start
    (intention to treat). By 12 months: k = response at <= 12.0 months; n = those who reached
    it by then or were followed for at least 12 months (others cannot show it yet).
    """
    out: list[Rate] = []
    with_start = [p for p in patients if p.endpoints]
    for label, code in RESPONSES:
        rows = [r for p in with_start for r in p.endpoints if code == r.PARAMCD]
        k = sum(1 for r in rows if r.CNSR == 0)
        out.append(exact_rate(f"{label}, ever", k, len(with_start)))
    for label, code in RESPONSES:
        k = n = 0
        for p in with_start:
            row = next((r for r in p.endpoints if code == r.PARAMCD), None)
            os_row = next((r for r in p.endpoints if r.PARAMCD == "OS"), None)
            hit = row is not None and row.CNSR == 0 and row.AVAL <= LANDMARK_MONTHS
            followed = os_row is not None and os_row.AVAL >= LANDMARK_MONTHS
            if hit or followed:
                n += 1
                k += int(hit)
        out.append(exact_rate(f"{label} by {LANDMARK_MONTHS:g} months", k, n))
    return out


def status_counts(patients: Sequence[PatientSummary]) -> list[tuple[str, int]]:
    counts = Counter((p.status or "not assessed").replace("_", " ") for p in patients)
    order = ["optimal", "warning", "suboptimal", "failure", "not evaluable", "pending",
             "not assessed"]
    return [(s, counts[s]) for s in order if counts[s]] + [
        (s, c) for s, c in sorted(counts.items()) if s not in order
    ]


def actions_due(patients: Sequence[PatientSummary]) -> list[tuple[PatientSummary, Recommendation]]:
    """Every recommendation other than 'continue', patient by patient."""
    return [
        (p, r) for p in patients for r in p.recommendations if str(r.action) != "continue"
    ]


def endpoint_arrays(
    patients: Sequence[PatientSummary], code: str
) -> tuple[list[float], list[int]]:
    """(months, event 1 / censored 0) of one time-to-event endpoint."""
    rows = [r for p in patients for r in p.endpoints if code == r.PARAMCD]
    return [r.AVAL for r in rows], [1 - r.CNSR for r in rows]


def competing_arrays(
    patients: Sequence[PatientSummary], code: str
) -> tuple[list[float], list[int]]:
    """(months, 1 response / 2 competing death or progression / 0 censored)."""
    rows = [r for p in patients for r in p.endpoints if code == r.PARAMCD]
    return [r.AVAL for r in rows], [1 if r.CNSR == 0 else 2 * r.CMPEVNT for r in rows]


@dataclass
class CohortFigures:
    """The cohort's figures (None where not computable) and their PNG bytes."""

    figures: dict[str, Figure] = field(default_factory=dict)
    png: dict[str, bytes] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    tables: dict[str, tuple[tuple[str, ...], list[tuple[object, ...]]]] = field(
        default_factory=dict
    )


#: Times (months) at which the survival table reads the curves.
PFS_TIMES = (12.0, 24.0, 60.0)


def _pct_ci(est: float, low: float, high: float) -> str | None:
    """'93.1 (88.0-96.0)'; no interval where there is none (S = 1 or S = 0)."""
    if est != est:
        return None
    if low != low or high != high or low >= high:
        return f"{100 * est:.1f}"
    return f"{100 * est:.1f} ({100 * low:.1f}-{100 * high:.1f})"


def survival_table(
    t: Sequence[float], e: Sequence[int], groups: Sequence[str] | None
) -> tuple[tuple[str, ...], list[tuple[object, ...]]]:
    """Per group: n, events, median and survival at :data:`PFS_TIMES` with 95% CI (log
    transform, R's survfit default) and the number still at risk
    (cmltrack.stats.kaplan_meier)."""
    from cmltrack.stats import kaplan_meier

    km = kaplan_meier(list(t), list(e), None if groups is None else list(groups),
                      at=list(PFS_TIMES))
    headers = ("group", "n", "events", "median (months)",
               *(f"{m:g} months: % (95% CI), at risk" for m in PFS_TIMES))
    rows: list[tuple[object, ...]] = []
    for g in km.groups:
        cells: list[object] = [
            str(g.group), g.n, g.events,
            "not reached" if g.median != g.median else f"{g.median:.1f}",
        ]
        for at in g.at:
            ci = _pct_ci(at.survival, at.lower, at.upper)
            # Nobody left at risk: the curve is not read beyond the group's follow-up.
            cells.append(None if ci is None or at.at_risk == 0 else f"{ci}, {at.at_risk}")
        rows.append(tuple(cells))
    return headers, rows


def cohort_figures(patients: Sequence[PatientSummary], dpi: float = 90) -> CohortFigures:
    """Swimmer, waterfall, PFS (Kaplan-Meier) and MMR cumulative incidence, where computable."""
    from cmltrack.plots._mpl import figure_bytes, figure_of
    from cmltrack.plots.cohort import plot_swimmer, plot_waterfall
    from cmltrack.plots.survival import plot_cif, plot_km

    out = CohortFigures()
    swim = [p.swimmer for p in patients if p.swimmer is not None]
    if swim:
        out.figures["swimmer"] = figure_of(plot_swimmer(swim, max_patients=60))
    else:
        out.notes["swimmer"] = "No patient has a start of TKI therapy."
    bars = [p.waterfall for p in patients if p.waterfall is not None]
    if bars:
        out.figures["waterfall"] = figure_of(plot_waterfall(bars))
    nc = sum(1 for b in bars if not b.classifiable)
    out.notes["waterfall"] = (
        f"{len(bars)} of {len(patients)} patients have a Ph+ baseline on or before the start "
        "of TKI therapy and a later Ph+ result"
        + (f"; {nc} with no classifiable result after baseline (every one inadequate, "
           "fewer than 20 metaphases), marked n.c." if nc else "") + "."
    )
    t, e = endpoint_arrays(patients, "PFS")
    if t:
        with_start = [p for p in patients if p.endpoints]
        elts = [f"ELTS {p.elts}" if p.elts else "ELTS not computable" for p in with_start]
        known = {g for g in elts if g != "ELTS not computable"}
        groups = elts if len(known) >= 2 else None  # by risk group where there are groups
        out.figures["pfs"] = figure_of(
            plot_km(t, e, groups, xlabel="months since start of TKI therapy",
                    ylabel="progression-free survival", title="Progression-free survival")
        )
        out.notes["pfs"] = (
            f"{len(t)} patients, events (progression to AP/BP or death): {sum(e)}. "
            "Survival with 95% intervals on the log scale, R survfit's default."
        )
        out.tables["pfs"] = survival_table(t, e, groups)
    t, c = competing_arrays(patients, "TTMMR")
    if t:
        out.figures["mmr_cif"] = figure_of(
            plot_cif(t, c, xlabel="months since start of TKI therapy",
                     ylabel="cumulative incidence of MMR",
                     title="Cumulative incidence of MMR", event_label="MMR",
                     competing_label="death or progression first")
        )
        out.notes["mmr_cif"] = (
            f"{sum(1 for x in c if x == 1)} reached MMR; {sum(1 for x in c if x == 2)} had a "
            "competing event first."
        )
    for name, fig in out.figures.items():
        out.png[name] = figure_bytes(fig, "png", dpi)
    return out


METHODS: tuple[tuple[str, str], ...] = (
    ("Time origin", "Months count from the start of the first TKI; 1 month = 30.4375 days "
     "(cmltrack conventions, clinical-rules section 14)."),
    ("Responses", "CHR per ELN 2006 (Baccarani et al., Blood 2006;108:1809-20); cytogenetic "
     "response by % Ph+ metaphases (ELN bands); molecular response on the International Scale, "
     "MMR <= 0.1%, MR4 <= 0.01%, MR4.5 <= 0.0032%, undetected results scored by control-gene "
     "copies (Cross et al., Leukemia 2015;29:999-1003)."),
    ("Milestones", "The chosen ELN edition: 2006 (Blood 2006;108:1809-20), 2009 (J Clin Oncol "
     "2009;27:6041-51), 2013 (Blood 2013;122:872-84) or 2020 (Hochhaus et al., Leukemia "
     "2020;34:966-84); landmark windows 3 mo 2.0-4.5, 6 mo 4.5-8.0, 12 mo 10.0-15.0, "
     "18 mo 15.0-21.0 months."),
    ("Endpoints", "Time to response, PFS (progression to accelerated or blast phase, or death) "
     "and overall survival as cmltrack.domain.endpoints derives them (CDISC ADaM ADTTE shape); "
     "follow-up ends at the assessment date."),
    ("Response rates", "Exact (Clopper-Pearson) 95% intervals (Clopper & Pearson, Biometrika "
     "1934;26:404-13; statsmodels proportion_confint method 'beta'). 'Ever': all patients with "
     "a TKI start as denominator. 'By 12 months': patients who responded by 12.0 months or were "
     "followed at least 12 months."),
    ("Survival", "Kaplan-Meier product-limit estimate (Kaplan & Meier, JASA 1958;53:457-81); "
     "numbers at risk are the patients still followed at each time (follow-up >= t), as R's "
     "summary.survfit reports them."),
    ("Cumulative incidence", "Aalen-Johansen estimate with death or progression before MMR as "
     "a competing event (Aalen & Johansen, Scand J Stat 1978;5:141-50), as cmprsk::cuminc."),
    ("Ph+ waterfall", "Best relative change of Ph+ metaphases (or FISH where only FISH was "
     "done) from the last result on or before the start of TKI therapy, among classifiable "
     "results (an inadequate one, fewer than 20 metaphases, is not used; a patient with none "
     "is marked not classifiable)."),
)


@dataclass(frozen=True, slots=True)
class CohortMeta:
    source: str
    guideline: str
    as_of: str
    generated: str


def _pct(x: float | None) -> str | None:
    return None if x is None else f"{100 * x:.1f}"


def cohort_tables(
    patients: Sequence[PatientSummary],
) -> list[tuple[str, tuple[str, ...], list[tuple[object, ...]]]]:
    """(title, headers, rows) of every cohort table; the HTML links patient ids."""
    due = actions_due(patients)
    by_action = Counter(display_name(str(r.action)) for _, r in due)
    rates = response_rates(patients)
    return [
        ("Current status", ("status", "patients"), list(status_counts(patients))),
        ("Actions due (count)", ("action", "recommendations"), sorted(by_action.items())),
        (
            "Response rates (exact 95% CI)",
            ("response", "k", "n", "%", "95% CI"),
            [
                (r.label, r.k, r.n, _pct(r.estimate),
                 None if r.lower is None else f"{_pct(r.lower)}-{_pct(r.upper)}")
                for r in rates
            ],
        ),
        (
            "Actions due (by patient)",
            ("patient", "action", "drug", "daily dose", "because", "source", "rule"),
            [
                (p.patient_id, display_name(str(r.action)), r.drug,
                 None if r.dose_mg_per_day is None else format_dose(r.dose_mg_per_day),
                 clinical_text(r.because), source_text(r.source), r.rule)
                for p, r in due
            ],
        ),
        (
            "Patients",
            ("patient", "current status", "drug", "daily dose"),
            [
                (p.patient_id, (p.status or "not assessed").replace("_", " "), p.drug,
                 None if p.dose is None else format_dose(p.dose))
                for p in patients
            ],
        ),
    ]


_FIGURE_TITLES = {
    "swimmer": "Course per patient (swimmer plot)",
    "waterfall": "Ph+ reduction (waterfall)",
    "pfs": "Progression-free survival",
    "mmr_cif": "Cumulative incidence of MMR",
}


def cohort_html(
    patients: Sequence[PatientSummary], figs: CohortFigures, meta: CohortMeta
) -> str:
    from cmltrack.reports.html import Raw, esc, page, png_img, table

    href = {p.patient_id: p.href for p in patients}
    parts = [
        f'<p class="meta">input: <b>{esc(meta.source)}</b> &middot; patients: '
        f"<b>{len(patients)}</b> &middot; guideline: <b>{esc(meta.guideline)}</b> &middot; "
        f"assessed as of: <b>{esc(meta.as_of)}</b></p>"
    ]
    tables = cohort_tables(patients)
    for title, headers, rows in tables[:3]:
        parts.append(f"<h2>{esc(title)}</h2>" + table(headers, rows, numeric=(1, 2, 3)))
    for key, title in _FIGURE_TITLES.items():
        parts.append(f"<h2>{esc(title)}</h2>")
        if key in figs.png:
            parts.append(png_img(figs.png[key], title))
        if key in figs.tables:
            parts.append(table(*figs.tables[key], numeric=(1, 2, 3)))
        if key in figs.notes:
            parts.append(f'<p class="small">{esc(figs.notes[key])}</p>')
        elif key not in figs.png:
            parts.append('<p class="small">Not computable from these records.</p>')
    for title, headers, rows in tables[3:]:
        linked = [
            (Raw(f'<a href="{esc(href[str(r[0])])}">{esc(r[0])}</a>'), *r[1:]) for r in rows
        ]
        parts.append(f"<h2>{esc(title)}</h2>" + table(headers, linked, numeric=(3,)))
    parts.append("<h2>Methods and sources</h2>")
    parts.append(table(("topic", "method and source"), METHODS))
    return page("CML cohort report", "\n".join(parts), generated=meta.generated)


def write_cohort_pdf(html: str, path: Path) -> None:
    """The cohort report's PDF: its HTML page, laid out for A4."""
    from cmltrack.reports.pdf import html_to_pdf

    html_to_pdf(html, path, "CML cohort report")
