"""AML pages: one patient (marrow and blood over time, responses, regimen days, risk, events,
protocol) and a trial report (response table, KM of OS and PFS by response, swimmer plot)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import TYPE_CHECKING, Any

from cmltrack.domain.assess import Assessment
from cmltrack.domain.records import PatientRecord
from cmltrack.reports.html import esc, page, png_img, table

if TYPE_CHECKING:
    from cmltrack.stats.trial import TrialReport

Rows = tuple[tuple[object, ...], ...]
COURSE_CAPTION = (
    "Top: marrow blasts (circles) and blood blasts (squares), % of nucleated cells, with each "
    "marrow's response (n.e.: not evaluable) and the 5% line. Middle: ANC and platelets "
    "(log scale) with the CR thresholds 1.0 and 100. Bottom: therapy rows by drug. Dash-dot "
    "verticals: reported events. Day 0 is the first therapy row."
)


def aml_sections(record: PatientRecord, a: Assessment) -> list[tuple[str, tuple[str, ...], Rows]]:
    """(title, headers, rows) of the AML patient page, in reading order."""
    aml = a.aml
    assert aml is not None
    risk = [("ELN 2022", aml.eln2022_risk)]
    if aml.eln2017_risk is not None:
        risk.append(("ELN 2017", aml.eln2017_risk))
    out: list[tuple[str, tuple[str, ...], Rows]] = [
        ("Current", ("latest response", "best response", "drug"),
         ((aml.latest_response, aml.best_response, a.current.drug),)),
        ("Genetic risk", ("classification", "group", "rule", "basis", "missing"),
         tuple((name, r.group, r.rule, r.basis, ", ".join(r.missing) or None)
               for name, r in risk)),
        (f"Responses ({aml.criteria})", ("date", "months", "response", "MRD", "rule", "basis"),
         tuple((d.date, _months(a, d.date), d.response or "not evaluable", d.mrd, d.rule,
                d.basis) for d in aml.course.days)),
        ("Events", ("date", "event", "basis", "rule"),
         tuple(sorted([(e.date, e.kind, e.basis, e.rule) for e in aml.course.events]
                      + [(e.date, f"{e.kind} (reported)", e.detail or e.cause or e.note,
                          "record") for e in record.events],
                      key=lambda r: str(r[0])))),
        ("Therapy (regimen days)", ("drug", "dose (mg/day)", "start", "end", "days"),
         tuple((t.drug, t.dose_mg_per_day, t.start, t.end,
                None if t.end is None else (t.end - t.start).days + 1)
               for t in sorted(record.therapy, key=lambda t: t.start))),
    ]
    if a.protocol is not None:
        p = a.protocol
        word = {True: "met", False: "not met", None: "not evaluable"}
        out.append((f"Protocol {p.id}: eligible {word[p.eligible]}",
                    ("criterion", "met", "basis"),
                    tuple((c.id, word[c.met], c.basis) for c in p.criteria)))
        out.append(("Protocol endpoints", ("endpoint", "value"),
                    tuple((k, v) for k, v in p.endpoints.items())))
    return out


def _months(a: Assessment, day: dt.date) -> str | None:
    if a.therapy_start is None:
        return None
    return f"{(day - a.therapy_start).days / 30.4375:.2f}"


def _header(record: PatientRecord, a: Assessment) -> list[tuple[str, object]]:
    dx = record.diagnosis
    return [("patient", record.id), ("assessed as of", a.as_of),
            ("therapy start", a.therapy_start), ("sex", record.sex),
            ("AML type", dx.aml_type if dx else None), ("status", dx.status if dx else None)]


def aml_patient_html(record: PatientRecord, a: Assessment, chart_png: bytes | None, *,
                     generated: str, cohort_href: str | None = None) -> str:
    meta = " &middot; ".join(f"{esc(k)}: <b>{esc(v)}</b>" for k, v in _header(record, a))
    parts = [f'<p class="meta">{meta}</p>']
    if cohort_href:
        parts.append(f'<p class="small"><a href="{esc(cohort_href)}">Back to the cohort</a></p>')
    secs = aml_sections(record, a)
    parts.append(f"<h2>{esc(secs[0][0])}</h2>" + table(secs[0][1], secs[0][2]))
    parts.append("<h2>Course</h2>")
    if chart_png is not None:
        parts.append(png_img(chart_png, f"AML course of patient {record.id}"))
        parts.append(f'<p class="small">{esc(COURSE_CAPTION)}</p>')
    parts += [f"<h2>{esc(t)}</h2>\n" + table(h, r) for t, h, r in secs[1:]]
    return page(f"AML patient report: {record.id}", "\n".join(parts), generated=generated)


def aml_course_png(record: PatientRecord, a: Assessment, dpi: float = 80) -> bytes:
    """The course figure as PNG bytes (the HTML page, and through it the PDF, show it)."""
    import matplotlib.pyplot as plt

    from cmltrack.plots._mpl import png_bytes, render_rgba
    from cmltrack.plots.aml import plot_aml_course

    fig = plot_aml_course(record, a)
    try:
        rgba = render_rgba(fig, dpi)
    finally:
        plt.close(fig)
    return png_bytes(rgba)


# ----------------------------------------------------------------------------- trial report


def trial_figures(report: TrialReport, dpi: float = 90) -> dict[str, bytes]:
    """PNGs: KM of OS and of PFS by responder status, and the swimmer plot."""
    import matplotlib.pyplot as plt

    from cmltrack.plots._mpl import figure_bytes, figure_of
    from cmltrack.plots.aml import TrialSwimmerRow, plot_trial_swimmer
    from cmltrack.plots.survival import plot_km

    rows = report.rows
    group = ["responder" if r.responder else "non-responder" for r in rows]
    out: dict[str, bytes] = {}
    for key, times, events, title in (
            ("os", [r.os_months for r in rows], [int(r.os_event) for r in rows],
             "Overall survival by response"),
            ("pfs", [r.pfs_months for r in rows], [int(r.pfs_event) for r in rows],
             "Progression-free survival by response")):
        ax = plot_km(times, events, group, xlabel="months from inclusion", title=title)
        fig = figure_of(ax)
        out[key] = figure_bytes(fig, "png", dpi)
        plt.close(fig)
    swim = []
    for r in rows:
        marks: dict[str, float] = {}
        if r.first_response_day is not None:
            marks["response"] = r.first_response_day / 30.4375
        if r.allo_hct_day is not None:
            marks["allo-HCT"] = r.allo_hct_day / 30.4375
        if r.pfs_event and not (r.os_event and r.pfs_months == r.os_months):
            marks["relapse or progression"] = r.pfs_months
        if r.os_event:
            marks["death"] = r.os_months
        swim.append(TrialSwimmerRow(r.patient_id, r.os_months, not r.os_event, marks))
    ax = plot_trial_swimmer(swim)
    fig = figure_of(ax)
    out["swimmer"] = figure_bytes(fig, "png", dpi)
    plt.close(fig)
    return out


def trial_tables(report: TrialReport) -> list[tuple[str, tuple[str, ...], Rows]]:
    d = report.to_dict()

    def ci(x: dict[str, Any]) -> str:
        lo, hi = x["ci"]
        return f"{'NA' if lo is None else f'{lo:.1f}'}-{'NA' if hi is None else f'{hi:.1f}'}"

    orr = d["orr"]
    best: Counter[str] = Counter(d["best_response"])
    order = ["CR_MRD_neg", "CR", "CRh", "CRi", "PR", "MLFS", "SD", "PD", "not evaluable"]
    p = d["logrank_p_os_responders"]
    return [
        ("Summary", ("measure", "value"), (
            ("patients", d["n"]), ("eligible", d["eligible"]),
            ("responders", f"{orr['k']} of {orr['n']}"),
            ("ORR (exact 95% CI)", f"{orr['percent']:.1f}% ({100 * orr['ci'][0]:.1f}-"
                                   f"{100 * orr['ci'][1]:.1f}%)"),
            ("median OS, months (95% CI)", f"{d['os']['median']:.1f} ({ci(d['os'])})"
             if d["os"]["median"] is not None else "not reached"),
            ("median PFS, months (95% CI)", f"{d['pfs']['median']:.1f} ({ci(d['pfs'])})"
             if d["pfs"]["median"] is not None else "not reached"),
            ("log-rank P, OS responders vs non-responders",
             "not computed" if p is None else f"{p:.4f}"),
            ("allo-HCT among responders", f"{d['allo_hct_among_responders']['k']} of "
                                          f"{d['allo_hct_among_responders']['n']}"),
            ("status", ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in d["status"].items())),
            ("age at inclusion", f"median {d['age']['median']} "
                                 f"(range {d['age']['min']}-{d['age']['max']})"),
        )),
        ("Best response", ("response", "patients", "%"),
         tuple((k, best[k], f"{100 * best[k] / d['n']:.1f}") for k in order if best[k])),
        ("Patients", ("patient", "status", "best response", "OS months", "died",
                      "PFS months", "PFS event", "allo-HCT"),
         tuple((r.patient_id, (r.relapse_timing and f"{r.relapse_timing} relapse") or r.status,
                r.best_response or "not evaluable", f"{r.os_months:.1f}", r.os_event,
                f"{r.pfs_months:.1f}", r.pfs_event, r.allo_hct) for r in report.rows)),
    ]


def trial_html(report: TrialReport, figures: dict[str, bytes], *, generated: str,
               source: str) -> str:
    from cmltrack.stats.trial import GUARANTEE_TIME_CAVEAT

    tables = trial_tables(report)
    parts = [f'<p class="meta">protocol: <b>{esc(report.protocol)}</b> &middot; input: '
             f"<b>{esc(source)}</b></p>"]
    title, headers, rows = tables[0]
    parts.append(f"<h2>{esc(title)}</h2>" + table(headers, rows))
    parts.append(f'<p class="small"><b>Caveat.</b> {esc(GUARANTEE_TIME_CAVEAT)}</p>')
    parts.append('<p class="small">Kaplan-Meier intervals: log transform, 95% (R '
                 "survival::survfit defaults); months = days / 30.4375 from inclusion.</p>")
    for t, h, r in tables[1:2]:
        parts.append(f"<h2>{esc(t)}</h2>" + table(h, r))
    parts.append("<h2>Overall survival by response</h2>" + png_img(figures["os"], "KM of OS"))
    parts.append("<h2>Progression-free survival by response</h2>"
                 + png_img(figures["pfs"], "KM of PFS"))
    parts.append("<h2>Course per patient</h2>" + png_img(figures["swimmer"], "swimmer plot"))
    for t, h, r in tables[2:]:
        parts.append(f"<h2>{esc(t)}</h2>" + table(h, r))
    return page(f"Trial report: {report.protocol}", "\n".join(parts), generated=generated)


def write_trial_report(report: TrialReport, out: Any, *, generated: str, source: str,
                       pdf: bool = True) -> list[str]:
    """Write trial.html (and trial.pdf) into the folder ``out``; returns the file names."""
    from pathlib import Path

    from cmltrack.plots._mpl import write_bytes_atomic
    from cmltrack.reports.pdf import html_to_pdf

    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    figures = trial_figures(report)
    html = trial_html(report, figures, generated=generated, source=source)
    write_bytes_atomic(folder / "trial.html", html.encode("utf-8"))
    names = ["trial.html"]
    if pdf:
        tmp = folder / ".trial.pdf.tmp"
        html_to_pdf(html, tmp, f"Trial report {report.protocol}")
        tmp.replace(folder / "trial.pdf")
        names.append("trial.pdf")
    return names


