"""``cmltrack report``: the cohort and per-patient reports, HTML and PDF."""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from cmltrack.cli._input import AllowEmptyOpt, patient_records
from cmltrack.cli.app import app
from cmltrack.cli.assess import AsOfOpt, GuidelineOpt, parse_as_of
from cmltrack.domain.enums import Guideline
from cmltrack.errors import InputError


def parse_date(value: str | None, option: str) -> dt.date | None:
    """An ISO date from the command line; a bad one is refused naming ``option``."""
    try:
        return parse_as_of(value)
    except InputError as exc:
        raise InputError(exc.message, code=exc.code, field=option) from None


@app.command()
def report(
    input: Annotated[Path, typer.Argument(help="Patient records: .json, .jsonl or a CSV folder.")],
    out: Annotated[Path, typer.Option("--out", help="Folder to write the reports into.")],
    guideline: GuidelineOpt = Guideline.ELN2020,
    as_of: AsOfOpt = None,
    date: Annotated[
        str | None,
        typer.Option("--date", help="Date of generation printed in the reports (default today)."),
    ] = None,
    pdf: Annotated[bool, typer.Option("--pdf/--no-pdf", help="Also write PDF versions.")] = True,
    jobs: Annotated[
        int | None,
        typer.Option("--jobs", min=1, max=64, help="Worker processes (default: the CPUs)."),
    ] = None,
    allow_empty: AllowEmptyOpt = False,
) -> None:
    """Write index.html + cohort.pdf and patients/<id>.html + .pdf; all or nothing."""
    import time

    from cmltrack.domain.options import AssessOptions
    from cmltrack.reports import write_reports

    day = parse_date(as_of, "--as-of")
    generated = parse_date(date, "--date") or dt.date.today()
    if not input.exists():
        raise InputError(f"{input} does not exist", code="not_found", file=str(input))
    from cmltrack.cli._progress import Bar, count_records

    started = time.perf_counter()
    with Bar("report", count_records(input)) as bar:
        result = write_reports(
            patient_records(input, allow_empty=allow_empty),
            out,
            options=AssessOptions(guideline=guideline),
            generated=generated,
            as_of=day,
            source=input.name,
            pdf=pdf,
            jobs=jobs or os.cpu_count() or 1,
            progress=bar.advance,
        )
    took = time.perf_counter() - started
    sys.stdout.write(
        f"wrote {result.files} files for {result.patients} patients to {result.out} "
        f"in {took:.1f} s\n"
    )
