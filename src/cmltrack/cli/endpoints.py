"""``cmltrack endpoints``: per-patient time-to-event endpoints as an ADaM-shaped table."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cmltrack.cli._input import AllowEmptyOpt, patient_records
from cmltrack.cli._progress import count_records, progress
from cmltrack.cli.app import app
from cmltrack.cli.assess import GuidelineOpt, PhaseOpt, ProtocolOpt, SchemeOpt, make_options
from cmltrack.domain.enums import CtcaeVersion, CytogeneticScheme, Guideline, PhaseCriteria
from cmltrack.errors import InputError

if TYPE_CHECKING:
    import pandas as pd


@app.command()
def endpoints(
    input: Annotated[Path, typer.Argument(help="Patient records: .json, .jsonl or a CSV folder.")],
    out: Annotated[
        Path, typer.Option("--out", help="Output table: FILE.csv, FILE.csv.gz or FILE.parquet.")
    ],
    baseline: Annotated[
        Path | None,
        typer.Option(
            "--baseline",
            help="Also write the baseline table (one row per patient: age, sex, risk groups; "
            "ADSL shape) to FILE.csv[.gz] or FILE.parquet, for stats table1 and stats --baseline.",
        ),
    ] = None,
    guideline: GuidelineOpt = Guideline.ELN2020,
    cytogenetic_scheme: SchemeOpt = CytogeneticScheme.ELN,
    phase_criteria: PhaseOpt = PhaseCriteria.ELN,
    protocol: ProtocolOpt = None,
    allow_empty: AllowEmptyOpt = False,
) -> None:
    """Time to CHR, CCyR, MMR, MR4, MR4.5; duration of MMR; PFS, EFS, OS, TTF (ADTTE shape).

    AML records give OS, EFS, RFS, PFS and DOR, from the protocol's inclusion with
    --protocol clag-im, else from the first therapy row."""

    from cmltrack.stats.tables import derive_cohort_tables

    kind = _table_kind(out, "--out")
    if baseline is not None:
        _table_kind(baseline, "--baseline")
    options = make_options(guideline, cytogenetic_scheme, phase_criteria, protocol,
                           CtcaeVersion.V5)
    records = progress(
        patient_records(input, allow_empty=allow_empty), "endpoints", count_records(input)
    )
    frame, base = derive_cohort_tables(records, options)
    _write_table(frame, out, kind)
    if baseline is not None:
        _write_table(base, baseline, _table_kind(baseline, "--baseline"))
    typer.echo(f"wrote {len(frame)} rows for {frame['USUBJID'].nunique()} patients to {out}"
               + (f" and the baseline table to {baseline}" if baseline is not None else ""))


def _table_kind(out: Path, option: str) -> str:
    name = out.name.lower()
    for kind in (".csv", ".csv.gz", ".parquet"):
        if name.endswith(kind):
            return kind
    raise InputError(
        f"output must end in .csv, .csv.gz or .parquet, got {out.name!r}",
        code="bad_argument",
        field=option,
    )


def _write_table(frame: pd.DataFrame, out: Path, kind: str) -> None:
    """Write atomically: a temp file beside the target, then rename."""
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    os.close(fd)
    # mkstemp makes the file private (0600): give it the target's mode or an ordinary 0644,
    # as the other writers do.
    os.chmod(tmp, out.stat().st_mode & 0o777 if out.exists() else 0o644)
    try:
        if kind == ".parquet":
            frame.to_parquet(tmp, index=False)
        else:
            frame.to_csv(tmp, index=False, compression="gzip" if kind == ".csv.gz" else None)
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
