"""Write the cohort report and one report per patient, HTML and PDF, all or nothing.

Layout of the output folder::

    index.html, cohort.pdf          the cohort
    patients/<id>.html, <id>.pdf    each patient

Everything is written into a temporary folder beside the target and renamed into place at the
end, so a refused record, a full disk or an interruption never leaves half a report behind.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cmltrack.domain.assess import Assessment, assess
from cmltrack.domain.endpoints import derive_endpoints
from cmltrack.domain.options import AssessOptions
from cmltrack.domain.records import PatientRecord, Pcr
from cmltrack.errors import InputError
from cmltrack.reports.cohort import (
    CohortMeta,
    PatientSummary,
    cohort_figures,
    cohort_html,
    write_cohort_pdf,
)
from cmltrack.reports.patient import patient_html, write_patient_pdf

if TYPE_CHECKING:
    from concurrent.futures import Future

    from cmltrack.plots.bcr_abl1 import ChartRenderer

#: Resolution of the per-patient chart: its 7.5 inches make 960 pixels, the full width of the
#: HTML page (60em of 16 px) without scaling up, and sharp across an A4 page.
CHART_DPI = 128


@dataclass(frozen=True, slots=True)
class ReportResult:
    out: Path
    patients: int
    files: int


_MAX_NAME = 89  # characters of a name before its suffixes (-2, .html, .pdf)


def safe_name(patient_id: str, taken: set[str]) -> str:
    """A file name from a patient id: unsafe characters become '_', clashes get a suffix, and
    an id too long for a file name (most file systems allow 255 bytes) is cut to 80
    characters plus 8 of its SHA-1, which keeps distinct ids apart."""
    base = re.sub(r"[^A-Za-z0-9._-]", "_", patient_id).lstrip(".") or "patient"
    if len(base) > _MAX_NAME:
        digest = hashlib.sha1(patient_id.encode("utf-8")).hexdigest()[:8]
        base = f"{base[:_MAX_NAME - 9]}-{digest}"
    name, n = base, 1
    while name.lower() in taken:
        n += 1
        name = f"{base}-{n}"
    taken.add(name.lower())
    return name


def write_reports(
    records: Iterable[PatientRecord],
    out: Path,
    *,
    options: AssessOptions,
    generated: dt.date,
    as_of: dt.date | None = None,
    source: str = "",
    pdf: bool = True,
    jobs: int = 1,
    progress: Callable[[int], None] | None = None,
) -> ReportResult:
    """Assess every record and write the reports into ``out`` (replacing a previous report).

    ``jobs`` > 1 renders patients in that many worker processes; the output is the same.
    ``progress`` is called with the number of patients finished after each chunk.
    """
    if out.exists() and not out.is_dir():
        raise InputError(f"{out} exists and is not a folder", code="bad_argument", field="--out")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    try:
        n_files = _write_all(
            records, tmp, options, generated.isoformat(), as_of, source, pdf, jobs, progress
        )
        os.chmod(tmp, 0o755)
        _swap_into_place(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return ReportResult(out, n_files[0], n_files[1])


def _swap_into_place(tmp: Path, out: Path) -> None:
    if not out.exists():
        os.replace(tmp, out)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".old", dir=out.parent))
    old.rmdir()
    os.replace(out, old)
    os.replace(tmp, out)
    shutil.rmtree(old, ignore_errors=True)


Chunk = list[tuple[PatientRecord, str]]
#: Patients handed to a worker at a time: large enough to amortise the hand-over, small enough
#: to keep memory bounded and the workers evenly busy.
CHUNK = 16


def _write_all(
    records: Iterable[PatientRecord],
    folder: Path,
    options: AssessOptions,
    generated: str,
    as_of: dt.date | None,
    source: str,
    pdf: bool,
    jobs: int,
    progress: Callable[[int], None] | None = None,
) -> tuple[int, int]:
    (folder / "patients").mkdir()
    job = _Job(folder, options, generated, as_of, pdf)
    summaries: list[PatientSummary] = []
    for done in _map_chunks(job, _chunks(records), jobs):
        summaries += done
        if progress is not None:
            progress(len(done))
    if not summaries:
        raise InputError("no patient records to report on", code="empty", file=source or None)
    figs = cohort_figures(summaries)
    meta = CohortMeta(
        source=source,
        guideline=str(options.guideline),
        as_of=as_of.isoformat() if as_of else "the latest date of each record",
        generated=generated,
    )
    index = cohort_html(summaries, figs, meta)
    (folder / "index.html").write_text(index, encoding="utf-8")
    if pdf:
        write_cohort_pdf(index, folder / "cohort.pdf")
    per_patient = 2 if pdf else 1
    return len(summaries), per_patient * (len(summaries) + 1)


def _chunks(records: Iterable[PatientRecord]) -> Iterator[Chunk]:
    """Records in chunks with their file names; a repeated patient id is refused."""
    taken: set[str] = set()
    seen: set[str] = set()
    chunk: Chunk = []
    for record in records:
        if record.id in seen:
            raise InputError(f"patient id {record.id!r} appears twice", code="duplicate",
                             field="id", patient=record.id)
        seen.add(record.id)
        chunk.append((record, safe_name(record.id, taken)))
        if len(chunk) == CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _map_chunks(job: _Job, chunks: Iterator[Chunk], jobs: int) -> Iterator[list[PatientSummary]]:
    """Run ``job`` over the chunks in order, in ``jobs`` processes (forked) when above 1."""
    import multiprocessing
    from collections import deque
    from concurrent.futures import ProcessPoolExecutor

    # Workers are forked (they inherit the loaded code and need no re-import); where the
    # platform cannot fork, the work is done in this process.
    if jobs <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        for chunk in chunks:
            yield job(chunk)
        return

    ctx = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
        pending: deque[Future[list[PatientSummary]]] = deque()
        try:
            for chunk in chunks:
                pending.append(pool.submit(job, chunk))
                if len(pending) >= 2 * jobs:  # bounded: the reader never runs far ahead
                    yield _result(pending.popleft())
            while pending:
                yield _result(pending.popleft())
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise


_RENDERER: list[ChartRenderer] = []  # one per process (workers are forked)


def _renderer() -> ChartRenderer:
    from cmltrack.plots.bcr_abl1 import ChartRenderer

    if not _RENDERER:
        _RENDERER.append(ChartRenderer(CHART_DPI))
    return _RENDERER[0]


class _Refused(Exception):
    """An InputError on its way back from a worker (InputError itself does not pickle)."""


def _result(future: Future[list[PatientSummary]]) -> list[PatientSummary]:
    try:
        return future.result()
    except _Refused as exc:
        message, code, file, row, path, field, patient = exc.args
        raise InputError(message, code=code, file=file, row=row, path=path, field=field,
                         patient=patient) from None


@dataclass(frozen=True, slots=True)
class _Job:
    """Assess and write the reports of a chunk of patients (picklable for worker processes)."""

    folder: Path
    options: AssessOptions
    generated: str
    as_of: dt.date | None
    pdf: bool

    def __call__(self, chunk: Chunk) -> list[PatientSummary]:
        try:
            return [self.one(record, name) for record, name in chunk]
        except InputError as exc:  # crosses the process boundary as plain fields
            raise _Refused(exc.message, exc.code, exc.file, exc.row, exc.path, exc.field,
                           exc.patient) from None

    def one(self, record: PatientRecord, name: str) -> PatientSummary:
        from cmltrack.plots._mpl import png_bytes
        from cmltrack.plots.cohort import ph_change, swimmer_rows

        a = assess(record, options=self.options, as_of=self.as_of)
        if a.aml is not None:
            return self.one_aml(record, a, name)
        rgba = png = None
        if any(isinstance(o, Pcr) and o.date <= a.as_of for o in record.observations):
            rgba = _renderer().render(record, a)
            png = png_bytes(rgba)
        html = patient_html(record, a, png, generated=self.generated,
                            cohort_href="../index.html")
        (self.folder / "patients" / f"{name}.html").write_text(html, encoding="utf-8")
        if self.pdf:
            write_patient_pdf(html, self.folder / "patients" / f"{name}.pdf", record.id)
        swim = swimmer_rows([(record, a)])
        return PatientSummary(
            patient_id=record.id,
            href=f"patients/{name}.html",
            status=None if a.current.status is None else str(a.current.status),
            drug=a.current.drug,
            dose=a.current.dose_mg_per_day,
            recommendations=a.recommendations,
            endpoints=tuple(derive_endpoints(record, a)),
            swimmer=swim[0] if swim else None,
            waterfall=ph_change(a),
            elts=a.risk["elts"].group if "elts" in a.risk else None,
        )

    def one_aml(self, record: PatientRecord, a: Assessment, name: str) -> PatientSummary:
        """An AML patient's page: course chart, risk, responses, events, regimen days."""
        from cmltrack.plots.cohort import swimmer_rows
        from cmltrack.reports.aml import aml_course_png, aml_patient_html
        from cmltrack.reports.pdf import html_to_pdf

        assert a.aml is not None
        png = aml_course_png(record, a, dpi=CHART_DPI)
        html = aml_patient_html(record, a, png, generated=self.generated,
                                cohort_href="../index.html")
        (self.folder / "patients" / f"{name}.html").write_text(html, encoding="utf-8")
        if self.pdf:
            html_to_pdf(html, self.folder / "patients" / f"{name}.pdf",
                        f"AML patient report {record.id}")
        swim = swimmer_rows([(record, a)])
        return PatientSummary(
            patient_id=record.id,
            href=f"patients/{name}.html",
            status=a.aml.latest_response,
            drug=a.current.drug,
            dose=a.current.dose_mg_per_day,
            recommendations=a.recommendations,
            endpoints=tuple(derive_endpoints(record, a)),
            swimmer=swim[0] if swim else None,
            waterfall=None,
            elts=None,
        )
