"""``cmltrack synth``: write a synthetic cohort, or check the generator against its calibration."""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from cmltrack.cli.app import app
from cmltrack.cli.assess import parse_as_of
from cmltrack.errors import InputError

#: FDA approval of imatinib (Gleevec), 10 May 2001: the earliest generation date.
IMATINIB_APPROVED = dt.date(2001, 5, 10)


@app.command()
def synth(
    patients: Annotated[int, typer.Option("--patients", help="Number of patients.")] = 1000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same cohort).")] = 1,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", help="Output: a .jsonl or .jsonl.gz file, or a folder (no extension) of CSVs."
        ),
    ] = None,
    profile: Annotated[
        str,
        typer.Option("--profile", help="first-line, high-dose-rescue or tfr-clinic (CML); "
                     "aml-trial (CLAG + imatinib in relapsed/refractory AML, seed 003)."),
    ] = "first-line",
    as_of: Annotated[
        str, typer.Option("--as-of", help="Generation date: nothing is dated later.")
    ] = "2025-12-31",
    batch_size: Annotated[
        int, typer.Option("--batch-size", help="Patients simulated together (bounds memory).")
    ] = 10_000,
    workers: Annotated[
        int, typer.Option("--workers", help="Worker processes (0: one per CPU).")
    ] = 0,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar.")] = False,
    validate: Annotated[
        bool,
        typer.Option("--validate", help="Generate 20,000 patients and check every calibration "
                     "target (writes nothing)."),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="With --validate: print JSON.")] = False,
    fmt: Annotated[
        str | None,
        typer.Option("--format", help="jsonl, csv or fhir (a FHIR Bulk Data folder of NDJSON); "
                     "default: told by --out."),
    ] = None,
) -> None:
    """Generate a calibrated synthetic CML cohort (decision-support test data, not patients)."""
    from cmltrack.synth.cohort import DEFAULT_AS_OF, write_cohort
    from cmltrack.synth.profiles import get_profile

    day = parse_as_of(as_of) or DEFAULT_AS_OF
    # The cohorts are imatinib-era courses, and every record must pass the readers' "not in
    # the future" check: the generation date lies between imatinib's approval and today.
    if not IMATINIB_APPROVED <= day <= dt.date.today():
        raise InputError(
            f"{day} is outside {IMATINIB_APPROVED} (imatinib's first approval) to today",
            code="impossible_value", field="--as-of",
        )
    if profile == "aml-trial":
        _aml_trial(patients, seed, out, day, validate, quiet)
        return
    prof = get_profile(profile)
    if validate:
        _validate(seed, day, as_json)
        return
    if out is None:
        raise InputError("--out is required (a .jsonl file or a folder)", code="missing_field",
                         field="--out")
    if fmt not in (None, "jsonl", "csv", "fhir"):
        raise InputError(f"{fmt!r} is not one of jsonl, csv, fhir", code="bad_argument",
                         field="--format")
    if fmt not in (None, "fhir") and fmt != _told_by(out):
        raise InputError(f"--out {out} is not a {fmt} target (jsonl: a .jsonl file, csv: a "
                         "folder)", code="bad_argument", field="--out")
    n_workers = workers if workers > 0 else min(os.cpu_count() or 1, 8)
    if fmt == "fhir":
        _write_fhir(patients, seed, out, prof, day, batch_size)
    elif quiet or patients < 5000:
        write_cohort(patients, seed, out, prof, as_of=day, batch_size=batch_size,
                     workers=n_workers)
    else:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        with Progress(TextColumn("synth"), BarColumn(), TextColumn("{task.completed:,} patients"),
                      TimeRemainingColumn(), transient=True,
                      console=Console(stderr=True)) as bar:
            task = bar.add_task("synth", total=patients)
            write_cohort(patients, seed, out, prof, as_of=day, batch_size=batch_size,
                         workers=n_workers, progress=lambda k: bar.advance(task, k))
    if not quiet:
        sys.stderr.write(f"cmltrack synth: {patients:,} patients ({prof.name}) -> {out}\n")


def _told_by(out: Path) -> str:
    from cmltrack.synth.cohort import output_format

    return output_format(out)


def _write_fhir(n: int, seed: int, out: Path, prof: Any, day: dt.date, batch_size: int) -> None:
    """The cohort as a FHIR Bulk Data folder (one <Type>.ndjson per resource type)."""
    from cmltrack.io.fhir.writer import write_fhir_ndjson
    from cmltrack.synth.cohort import generate_cohort

    if out.suffix:
        raise InputError(f"--format fhir writes a folder: {out} has an extension",
                         code="bad_argument", field="--out")
    if out.exists() and not out.is_dir():
        raise InputError(f"{out} is a file, not a folder", code="bad_argument", field="--out")
    write_fhir_ndjson(generate_cohort(n, seed, prof, as_of=day, batch_size=batch_size), out)


def _validate(seed: int, day: dt.date, as_json: bool) -> None:
    from cmltrack.synth.calibration import CALIBRATION_N, format_table, run_calibration

    rows = run_calibration(CALIBRATION_N, seed, as_of=day)
    if as_json:
        typer.echo(json.dumps({"n": CALIBRATION_N, "seed": seed,
                               "targets": [r.to_dict() for r in rows]}))
    else:
        typer.echo(f"Calibration of the first-line profile: {CALIBRATION_N:,} patients, "
                   f"seed {seed}")
        typer.echo(format_table(rows))
    if not all(r.passed for r in rows):
        raise typer.Exit(1)


def _aml_trial(patients: int, seed: int, out: Path | None, day: dt.date, validate: bool,
               quiet: bool) -> None:
    """The AML trial profile: JSON Lines (or CSV tables) of CLAG + imatinib trial patients."""
    from cmltrack.domain.records import PatientRecord
    from cmltrack.io import write_csv_tables, write_jsonl
    from cmltrack.synth.aml import aml_trial_cohort

    if validate:
        raise InputError("--validate is for the CML profiles", code="bad_argument",
                         field="--validate")
    if out is None:
        raise InputError("--out is required (a .jsonl file or a folder)", code="missing_field",
                         field="--out")
    if not 1 <= patients <= 1_000_000:
        raise InputError(f"{patients} patients is outside 1-1,000,000", code="bad_argument",
                         field="--patients")
    start = dt.date(day.year - 6, 1, 1)
    context = {"today": day}
    records = (PatientRecord.model_validate(r, context=context)
               for r in aml_trial_cohort(patients, seed, start=start, as_of=day))
    name = out.name.lower()
    if name.endswith((".jsonl", ".jsonl.gz")):
        write_jsonl(records, out)
    else:
        write_csv_tables(records, out)
    if not quiet:
        sys.stderr.write(f"cmltrack synth: {patients:,} patients (aml-trial) -> {out}\n")
