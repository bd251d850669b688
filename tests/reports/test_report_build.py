"""Cohort and patient reports: complete, self-contained, labelled, written all or nothing."""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from scipy.stats import binomtest

from cmltrack import DISCLAIMER
from cmltrack.domain.options import AssessOptions
from cmltrack.domain.records import PatientRecord
from cmltrack.errors import InputError
from cmltrack.io import load_records
from cmltrack.reports import write_reports
from cmltrack.reports.build import safe_name
from cmltrack.reports.cohort import exact_rate

EXAMPLES = Path(__file__).resolve().parents[2] / "src" / "cmltrack" / "examples"
DAY = dt.date(2025, 11, 1)


@pytest.fixture(scope="module")
def records() -> list[PatientRecord]:
    return load_records(EXAMPLES / "patients.jsonl")


@pytest.fixture(scope="module")
def report(records: list[PatientRecord], tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("rep") / "report"
    result = write_reports(records, out, options=AssessOptions(), generated=DAY,
                           source="patients.jsonl")
    assert result.patients == 12 and result.files == 2 * 12 + 2
    return out


def test_files(report: Path) -> None:
    assert (report / "index.html").is_file() and (report / "cohort.pdf").is_file()
    assert len(list((report / "patients").glob("*.html"))) == 12
    pdfs = [*list((report / "patients").glob("*.pdf")), report / "cohort.pdf"]
    assert len(pdfs) == 13 and all(p.read_bytes().startswith(b"%PDF") for p in pdfs)
    assert not [p for p in report.parent.iterdir() if p.name.startswith(".")]  # no temp left


def test_every_page_has_the_disclaimer_and_is_self_contained(report: Path) -> None:
    pages = [report / "index.html", *sorted((report / "patients").glob("*.html"))]
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert html.escape(DISCLAIMER) in text, page
        assert "http://" not in text and "https://" not in text, page
        sources = re.findall(r'src="([^"]*)"', text)
        assert all(s.startswith("data:image/png;base64,") for s in sources), page
        assert "<link" not in text and "<script" not in text
        assert "2025-11-01" in text  # the generation date passed in


def test_cohort_page_content(report: Path) -> None:
    text = (report / "index.html").read_text(encoding="utf-8")
    for heading in ("Current status", "Actions due", "Response rates", "swimmer plot",
                    "waterfall", "Progression-free survival", "Methods and sources"):
        assert heading in text
    assert text.count('src="data:image/png') == 4  # swimmer, waterfall, PFS, MMR incidence
    assert 'href="patients/P11.html"' in text


def test_patient_page_content(report: Path) -> None:
    text = (report / "patients" / "P03.html").read_text(encoding="utf-8")
    # P03 switched from imatinib to dasatinib: the landmarks count from the second line.
    for heading in ("Milestones (ELN2020, line 2: dasatinib from 2018-07-23)",
                    "Recommendations", "Events", "BCR::ABL1"):
        assert heading in text
    assert 'src="data:image/png' in text
    assert "dasatinib" in text


def test_cohort_tables_in_clinical_words(report: Path) -> None:
    text = (report / "index.html").read_text(encoding="utf-8")
    actions = text[text.index("Actions due (by patient)"):text.index("<h2>Patients</h2>")]
    # Actions as a clinician writes them (P12's atypical transcript: marrow cytogenetics),
    # sources as published, an unverified rule flagged in words.
    assert "<td>Marrow cytogenetics</td>" in actions and "marrow_cytogenetics</td>" not in actions
    assert "<th>daily dose</th>" in actions
    assert ".yaml" not in actions and "clinical-rules" not in actions
    assert "[rule not yet verified]" in actions
    patients = text[text.index("<h2>Patients</h2>"):]
    assert "400 mg" in patients and "400.0" not in patients


def test_chart_fills_the_page_width(report: Path) -> None:
    import base64
    import io

    from PIL import Image

    text = (report / "patients" / "P09.html").read_text(encoding="utf-8")
    (data,) = re.findall(r'src="data:image/png;base64,([^"]*)"', text)
    width, height = Image.open(io.BytesIO(base64.b64decode(data))).size
    # The page is at most 60em wide (960 px at 16 px); the chart is drawn at least that wide
    # and shown at 100% of the column, so it is never scaled up.
    assert width >= 960 and 0.45 < height / width < 0.7
    assert "img { width: 100%" in text


def test_exact_rate_matches_clopper_pearson() -> None:
    # The high-dose seed's 13 major cytogenetic responses of 34, against scipy's exact CI.
    rate = exact_rate("MCyR", 13, 34)
    ci = binomtest(13, 34).proportion_ci(method="exact")
    assert rate.estimate == pytest.approx(13 / 34)
    assert (rate.lower, rate.upper) == pytest.approx((ci.low, ci.high), abs=1e-9)
    assert exact_rate("none", 0, 0).estimate is None


def _failing(records: list[PatientRecord]) -> Iterator[PatientRecord]:
    yield from records[:3]
    raise InputError("broken line", code="bad_format", file="x.jsonl", row=4)


def test_nothing_half_written(records: list[PatientRecord], tmp_path: Path) -> None:
    out = tmp_path / "rep"
    with pytest.raises(InputError, match="broken line"):
        write_reports(_failing(records), out, options=AssessOptions(), generated=DAY)
    assert list(tmp_path.iterdir()) == []


def test_previous_report_kept_on_failure_and_replaced_on_success(
    records: list[PatientRecord], tmp_path: Path
) -> None:
    out = tmp_path / "rep"
    out.mkdir()
    (out / "old.txt").write_text("previous")
    with pytest.raises(InputError):
        write_reports(_failing(records), out, options=AssessOptions(), generated=DAY, pdf=False)
    assert (out / "old.txt").read_text() == "previous"
    write_reports(records[:2], out, options=AssessOptions(), generated=DAY, pdf=False)
    assert not (out / "old.txt").exists() and (out / "index.html").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rep"]


def test_duplicate_ids_refused(records: list[PatientRecord], tmp_path: Path) -> None:
    with pytest.raises(InputError, match="appears twice"):
        write_reports([records[0], records[0]], tmp_path / "r", options=AssessOptions(),
                      generated=DAY, pdf=False)


def test_empty_input_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no patient records"):
        write_reports([], tmp_path / "r", options=AssessOptions(), generated=DAY)


def test_safe_names() -> None:
    taken: set[str] = set()
    assert safe_name("P01", taken) == "P01"
    assert safe_name("p01", taken) == "p01-2"  # case-insensitive file systems
    assert safe_name("../etc/passwd", taken) == "_etc_passwd"


def test_worker_processes_give_the_same_pages(
    records: list[PatientRecord], report: Path, tmp_path: Path
) -> None:
    out = tmp_path / "rep2"
    write_reports(records, out, options=AssessOptions(), generated=DAY,
                  source="patients.jsonl", jobs=2)
    for page in ["index.html", "patients/P01.html", "patients/P11.html"]:
        assert (out / page).read_text() == (report / page).read_text()


def _pdf_text(path: Path) -> str:
    """The text of a PDF, by poppler's pdftotext (a real reader, not our own)."""
    import subprocess

    out = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                         text=True, check=True)
    return out.stdout


def test_every_pdf_page_carries_the_disclaimer(report: Path) -> None:
    for pdf in [report / "cohort.pdf", report / "patients" / "P11.pdf"]:
        text = _pdf_text(pdf)
        pages = text.count("\f")
        assert pages >= 2, pdf
        assert len(re.findall(r"page \d+ of \d+", text)) == pages
        assert text.count("not a medical device") >= pages, pdf
    assert "P11" in _pdf_text(report / "patients" / "P11.pdf")


def test_pdf_is_the_html_page_laid_out(report: Path) -> None:
    """The PDF is made from the HTML: its headings, table headers and cells are the page's,
    the chart is embedded as an image, and no table column is cut off at the page edge."""
    import subprocess

    page = (report / "patients" / "P04.html").read_text(encoding="utf-8")
    text = " ".join(_pdf_text(report / "patients" / "P04.pdf").split())
    for heading in re.findall(r"<h2>(.*?)</h2>", page):
        assert html.unescape(heading) in text, heading
    assert "Hochhaus A, et al. Leukemia 2020" in text
    images = subprocess.run(["pdfimages", "-list", str(report / "patients" / "P04.pdf")],
                            capture_output=True, text=True, check=True).stdout
    assert len(images.strip().splitlines()) >= 3  # header lines + the chart
    # The widest table's last column (rule ids) is on the page, not clipped.
    assert "ELN2020.any_time.optimal" in text.replace("- ", "").replace(" ", "") or \
        "ELN2020.any_time.optimal" in text.replace(" ", "")


def test_out_must_be_a_folder(records: list[PatientRecord], tmp_path: Path) -> None:
    target = tmp_path / "file.html"
    target.write_text("x")
    with pytest.raises(InputError, match="not a folder"):
        write_reports(records[:1], target, options=AssessOptions(), generated=DAY)
    assert target.read_text() == "x"


def test_survival_table_by_hand() -> None:
    from cmltrack.reports.cohort import survival_table

    # By hand (Kaplan-Meier): events at 10 (n=5), 15 (n=4; a censoring at 15 too), 25 (n=2):
    # S = 0.8 from 10, 0.6 from 15, 0.3 from 25; at risk (time >= t): 4 at 12, 2 at 24, 1 at 60.
    headers, rows = survival_table([10, 15, 15, 25, 70], [1, 0, 1, 1, 0], None)
    assert headers[:4] == ("group", "n", "events", "median (months)")
    (row,) = rows
    assert row[1:4] == (5, 3, "25.0")
    cells = [str(c) for c in row[4:]]
    assert [c.split(" ")[0] for c in cells] == ["80.0", "60.0", "30.0"]
    assert [c.rsplit(", ", 1)[1] for c in cells] == ["4", "2", "1"]


def test_a_refusal_in_a_worker_reaches_the_caller(
    records: list[PatientRecord], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cmltrack.reports import build

    def refuse(self: object, record: PatientRecord, name: str) -> object:
        raise InputError("cannot", code="inconsistent", file="f.jsonl", row=7, field="wbc",
                         patient=record.id)

    monkeypatch.setattr(build._Job, "one", refuse)  # the workers are forked: they see it
    with pytest.raises(InputError) as info:
        write_reports(records, tmp_path / "r", options=AssessOptions(), generated=DAY, jobs=2)
    assert str(info.value) == "f.jsonl, row 7, patient 'P01', field 'wbc': cannot"
    assert list(tmp_path.iterdir()) == []


def test_a_long_id_is_cut_to_a_file_name_that_fits() -> None:
    import hashlib

    taken: set[str] = set()
    long_id = "X" * 300
    name = safe_name(long_id, taken)
    # 80 characters of the id, "-", 8 of its SHA-1: 89 in all, room for "-2.html"
    assert name == "X" * 80 + "-" + hashlib.sha1(long_id.encode()).hexdigest()[:8]
    other = safe_name("X" * 299 + "Y", taken)
    assert other != name and len(other) == 89
