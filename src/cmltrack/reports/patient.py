"""One patient's report: the BCR::ABL1 chart, milestones, events and recommendations."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from cmltrack.display import (
    clinical_text,
    display_name,
    format_bcr_abl1,
    format_dose,
    source_text,
)
from cmltrack.domain.assess import Assessment
from cmltrack.domain.followup import ECHOED
from cmltrack.domain.guidelines.eln import tki_lines
from cmltrack.domain.records import PatientRecord
from cmltrack.reports.html import Raw, esc, page, png_img, table
from cmltrack.reports.pdf import html_to_pdf


@dataclass(frozen=True, slots=True)
class Section:
    """A table both renderings share: HTML and the PDF text page show the same rows."""

    title: str
    headers: tuple[str, ...]
    rows: tuple[tuple[object, ...], ...]


CHART_CAPTION = (
    "Log scale; months on TKI therapy below, calendar years above. Filled circles: detected "
    "BCR::ABL1; open triangles: undetected, drawn at the sample's sensitivity (one BCR::ABL1 "
    "copy among the control-gene copies; grey on the axis floor: sensitivity not given); "
    "horizontal lines: MMR 0.1% (solid), MR4 0.01% (dashed), MR4.5 0.0032% (dotted); shaded: "
    "the guideline's BCR::ABL1 milestone cells, each line of TKI therapy from its own start "
    "(plain optimal, dotted warning, back-hatched suboptimal, hatched failure); blue band: "
    "treatment-free remission (off TKI); orange diamonds: kinase-domain mutations found, "
    "named; blue rings: loss of MMR; strip: drug and dose in mg/day (gaps are holds); dotted "
    "verticals: reported events."
)


def _status(value: object) -> object:
    return None if value is None else str(value).replace("_", " ")


def sections(record: PatientRecord, a: Assessment) -> list[Section]:
    """The report's tables, in reading order."""
    cur = a.current
    out = [
        Section(
            "Current status",
            ("status", "phase", "drug", "daily dose", "best hematologic",
             "best cytogenetic", "best molecular"),
            ((_status(cur.status), cur.phase, cur.drug, _dose(cur.dose_mg_per_day),
              cur.best_hematologic, cur.best_cytogenetic, cur.best_molecular),),
        ),
        Section(
            "Recommendations",
            ("action", "drug", "daily dose", "because", "source", "rule"),
            tuple(
                (display_name(str(r.action)), r.drug, _dose(r.dose_mg_per_day),
                 clinical_text(r.because), _source(r.source), r.rule)
                for r in a.recommendations
            ),
        ),
        Section(
            "Next tests due",
            ("test", "due", "overdue", "why"),
            tuple(
                (display_name(test), day, "overdue" if test in a.next_due.overdue else None,
                 clinical_text(a.next_due.basis.get(test)) or None)
                for test, day in a.next_due.due.items()
                if day is not None or test in a.next_due.basis
            ),
        ),
        Section(
            f"Milestones ({a.guideline}{_line_note(record, a)})",
            ("month", "status", "result date", "basis", "rule"),
            tuple(
                (m.month, _status(m.status), m.date, clinical_text(m.basis), m.rule)
                for m in a.milestones
            ),
        ),
        Section(
            "Events",
            ("date", "event", "basis", "rule"),
            tuple(
                sorted(
                    [(e.date, display_name(str(e.kind)), clinical_text(e.basis), e.rule)
                     for e in a.events]
                    + [
                        (e.date, f"{display_name(str(e.kind))} (reported)",
                         _reported(e.phase, e.cause, e.note),
                         "record")
                        for e in record.events
                        if e.kind not in ECHOED  # already among the assessment's events
                    ],
                    key=lambda row: (str(row[0]), str(row[1])),
                )
            ),
        ),
        Section(
            "Therapy",
            ("drug", "daily dose", "start", "end", "reason for end"),
            tuple(
                (t.drug, _dose(t.dose_mg_per_day), t.start, t.end, _status(t.reason_end))
                for t in sorted(record.therapy, key=lambda t: t.start)
            ),
        ),
        Section(
            "Baseline risk",
            ("score", "value", "group", "missing inputs"),
            tuple(
                (name, None if r.score is None else round(r.score, 4), r.group,
                 ", ".join(r.missing) or None)
                for name, r in a.risk.items()
            ),
        ),
        Section(
            "Results by date",
            ("date", "months", "hematologic", "cytogenetic", "molecular", "BCR::ABL1 (IS)",
             "Ph+ %", "phase", "CTCAE grades (before therapy: baseline findings)"),
            tuple(
                (t.date, None if t.months is None else f"{t.months:.1f}", t.hematologic,
                 t.cytogenetic, t.molecular,
                 None if t.bcr_abl1_is is None else format_bcr_abl1(t.bcr_abl1_is),
                 None if t.ph_pct is None else f"{t.ph_pct:.1f}" + (" FISH" if t.fish_based
                                                                    else ""),
                 t.phase, _grades(t.toxicity, t.months))
                for t in a.timepoints
            ),
        ),
    ]
    return out


def _dose(mg: float | None) -> str | None:
    return None if mg is None else format_dose(mg)


def _source(source: str | None) -> str | None:
    return source_text(source)


def _grades(grades: Mapping[str, int], months: float | None) -> str | None:
    """CTCAE grades above 0 by name; before the first TKI they are the disease at diagnosis
    (baseline findings), not toxicity."""
    text = ", ".join(f"{display_name(k)} {v}" for k, v in grades.items() if v > 0)
    if not text:
        return None
    return f"baseline: {text}" if months is not None and months < 0 else text


def _line_note(record: PatientRecord, a: Assessment) -> str:
    """After a switch of TKI the landmarks restart: say from which line they count."""
    lines = tki_lines(record, a.as_of)
    if len(lines) < 2:
        return ""
    return f", line {len(lines)}: {lines[-1].drug} from {lines[-1].start.isoformat()}"


def _reported(*parts: str | None) -> str | None:
    text = "; ".join(p for p in parts if p)
    return text or None


def header_lines(record: PatientRecord, a: Assessment) -> list[tuple[str, object]]:
    return [
        ("patient", record.id),
        ("assessed as of", a.as_of),
        ("guideline", a.guideline),
        ("start of TKI therapy", a.therapy_start),
        ("sex", record.sex),
        ("age at diagnosis", None if record.age_at_diagnosis is None
         else f"{record.age_at_diagnosis:.0f}"),
    ]


def patient_html(
    record: PatientRecord,
    a: Assessment,
    chart_png: bytes | None,
    *,
    generated: str,
    cohort_href: str | None = None,
) -> str:
    """The patient's self-contained HTML page."""
    meta = " &middot; ".join(f"{esc(k)}: <b>{esc(v)}</b>" for k, v in header_lines(record, a))
    parts = [f'<p class="meta">{meta}</p>']
    if cohort_href:
        parts.append(f'<p class="small"><a href="{esc(cohort_href)}">Back to the cohort</a></p>')
    secs = sections(record, a)
    parts.append(_section_html(secs[0]))
    parts.append("<h2>BCR::ABL1</h2>")
    if chart_png is not None:
        parts.append(png_img(chart_png, f"BCR::ABL1 course of patient {record.id}"))
        parts.append(f'<p class="small">{esc(CHART_CAPTION)}</p>')
    else:
        parts.append('<p class="small">No PCR results to chart.</p>')
    parts += [_section_html(s) for s in secs[1:]]
    return page(f"CML patient report: {record.id}", "\n".join(parts), generated=generated)


def _section_html(s: Section) -> str:
    rows: Sequence[Sequence[object]] = [
        tuple(Raw(f'<span class="status-{esc(c)}">{esc(c)}</span>') if h == "status" and c
              else c for h, c in zip(s.headers, row, strict=True))
        for row in s.rows
    ]
    return f"<h2>{esc(s.title)}</h2>\n" + table(s.headers, rows)


def write_patient_pdf(html: str, path: Path, patient_id: str) -> None:
    """The patient's PDF: the HTML page itself, laid out for A4."""
    html_to_pdf(html, path, f"CML patient report {patient_id}")
