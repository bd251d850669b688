"""``cmltrack endpoints``: per-patient time-to-event endpoints as an ADaM-shaped table.

The endpoint rows are written as each patient is assessed (memory stays flat with the cohort
size); the baseline table, when asked for, is one row per patient and is written at the end.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

from cmltrack.cli._input import AllowEmptyOpt, patient_records
from cmltrack.cli._progress import count_records, progress
from cmltrack.cli.app import app
from cmltrack.cli.assess import (
    EngineOpt,
    GuidelineOpt,
    MasterOpt,
    PhaseOpt,
    ProtocolOpt,
    SchemeOpt,
    check_engine,
    make_options,
)
from cmltrack.domain.enums import CtcaeVersion, CytogeneticScheme, Guideline, PhaseCriteria
from cmltrack.domain.options import AssessOptions

#: A patient's endpoint rows and (with --baseline) baseline row.
PatientRows = tuple[list[dict[str, Any]], dict[str, Any] | None]


class _Split:
    """Endpoint rows passed on as they come; patients counted, baseline rows kept."""

    def __init__(self) -> None:
        self.patients = 0
        self.baseline: list[dict[str, Any]] = []

    def rows(self, patients: Iterable[PatientRows]) -> Iterator[dict[str, Any]]:
        for rows, base in patients:
            self.patients += bool(rows)
            if base is not None:
                self.baseline.append(base)
            yield from rows


@app.command()
def endpoints(
    input: Annotated[
        str,
        typer.Argument(
            help="Patient records: .json, .jsonl or a CSV folder (--engine spark: JSON Lines "
            "or Parquet)."
        ),
    ],
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            help="Output table: FILE.csv, FILE.csv.gz or FILE.parquet; with --engine spark "
            "also a FOLDER (no suffix): a Parquet dataset partitioned by PARAMCD.",
        ),
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
    engine: EngineOpt = "single",
    spark_master: MasterOpt = "local[*]",
) -> None:
    """Time to CHR, CCyR, MMR, MR4, MR4.5; duration of MMR; PFS, EFS, OS, TTF (ADTTE shape).

    AML records give OS, EFS, RFS, PFS and DOR, from the protocol's inclusion with
    --protocol clag-im, else from the first therapy row."""
    from cmltrack.domain.endpoints import COLUMNS
    from cmltrack.io.tables import table_kind, write_table
    from cmltrack.stats.tables import BASELINE_COLUMNS, patient_tables

    check_engine(engine)
    dataset = engine == "spark" and out.suffix == ""
    if not dataset:
        table_kind(out, "--out")
    if baseline is not None:
        table_kind(baseline, "--baseline")
    options = make_options(guideline, cytogenetic_scheme, phase_criteria, protocol,
                           CtcaeVersion.V5)
    with_base = baseline is not None
    split = _Split()
    if engine == "spark":
        spark_rows = _endpoints_on_spark(
            input, spark_master, options, str(out) if dataset else None, with_base, allow_empty
        )
        if isinstance(spark_rows, str):
            typer.echo(spark_rows)
            return
        patients: Iterable[PatientRows] = spark_rows
    else:
        records = progress(
            patient_records(Path(input), allow_empty=allow_empty), "endpoints",
            count_records(Path(input)),
        )
        patients = patient_tables(records, options, baseline=with_base)
    n = write_table(split.rows(patients), out, COLUMNS)
    if baseline is not None:
        write_table(split.baseline, baseline, BASELINE_COLUMNS, chunk=max(1, len(split.baseline)))
    typer.echo(f"wrote {n} rows for {split.patients} patients to {out}"
               + (f" and the baseline table to {baseline}" if baseline is not None else ""))


def _endpoints_on_spark(
    input: str,
    master: str,
    options: AssessOptions,
    dataset: str | None,
    with_base: bool,
    allow_empty: bool,
) -> Iterator[PatientRows] | str:
    """Each patient's rows in input order; or, for a dataset, the line saying what was written."""
    import datetime as dt
    import functools

    from cmltrack.engines import spark as sp

    session = sp.start(master)
    source = sp.read_source(session, input)
    payload = functools.partial(sp.endpoint_rows, options=options, baseline=with_base)
    fields = (sp.ENDPOINT_ROWS, sp.BASELINE_ROW)
    results = sp.per_patient(source, payload, fields, today=dt.date.today())
    try:
        ok = sp.accepted(results, allow_empty=allow_empty, file=source.name)
    except BaseException:
        results.unpersist()
        raise
    if dataset is not None:
        try:
            rows = ok.selectExpr("pos", "posexplode(rows) AS (i, r)")
            counts = rows.selectExpr("count(*) AS n", "count(DISTINCT pos) AS p").first()
            assert counts is not None
            sp.write_dataset(
                rows.sortWithinPartitions("pos", "i").select("r.*"), dataset,
                partition_by="PARAMCD",
            )
        finally:
            results.unpersist()
        return (
            f"wrote {counts['n']} rows for {counts['p']} patients to {dataset} "
            "(Parquet dataset, partitioned by PARAMCD)"
        )

    def patients() -> Iterator[PatientRows]:
        try:
            for row in sp.in_order(ok, "rows", "baseline"):
                base = None if row["baseline"] is None else json.loads(row["baseline"])
                yield [r.asDict() for r in row["rows"]], base
        finally:
            results.unpersist()

    return patients()
