"""``cmltrack endpoints``: per-patient time-to-event endpoints as an ADaM-shaped table."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from cmltrack.cli.app import app
from cmltrack.cli.assess import GuidelineOpt, PhaseOpt, SchemeOpt, make_options
from cmltrack.domain.enums import CtcaeVersion, CytogeneticScheme, Guideline, PhaseCriteria
from cmltrack.errors import InputError


@app.command()
def endpoints(
    input: Annotated[Path, typer.Argument(help="Patient records: .json, .jsonl or a CSV folder.")],
    out: Annotated[Path, typer.Option("--out", help="Output table: FILE.csv or FILE.parquet.")],
    guideline: GuidelineOpt = Guideline.ELN2020,
    cytogenetic_scheme: SchemeOpt = CytogeneticScheme.ELN,
    phase_criteria: PhaseOpt = PhaseCriteria.ELN,
) -> None:
    """Time to CHR, CCyR, MMR, MR4, MR4.5; duration of MMR; PFS, EFS, OS, TTF (ADTTE shape)."""

    from cmltrack.io import read_records
    from cmltrack.stats.tables import derive_cohort_tables

    suffix = out.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise InputError(
            f"output must end in .csv or .parquet, got {out.name!r}",
            code="bad_argument",
            field="--out",
        )
    options = make_options(guideline, cytogenetic_scheme, phase_criteria, None, CtcaeVersion.V5)
    frame, _ = derive_cohort_tables(read_records(input), options)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    os.close(fd)
    # mkstemp makes the file private (0600): give it the target's mode or an ordinary 0644,
    # as the other writers do.
    os.chmod(tmp, out.stat().st_mode & 0o777 if out.exists() else 0o644)
    try:
        if suffix == ".csv":
            frame.to_csv(tmp, index=False)
        else:
            frame.to_parquet(tmp, index=False)
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    typer.echo(f"wrote {len(frame)} rows for {frame['USUBJID'].nunique()} patients to {out}")
