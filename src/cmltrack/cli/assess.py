"""``cmltrack assess`` and ``cmltrack explain``: judge patient records against a guideline."""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, TextIO

import typer

from cmltrack import DISCLAIMER
from cmltrack.cli._input import AllowEmptyOpt, patient_records
from cmltrack.cli.app import app
from cmltrack.domain.enums import CtcaeVersion, CytogeneticScheme, Guideline, PhaseCriteria
from cmltrack.domain.options import AssessOptions, LabLimits
from cmltrack.errors import InputError
from cmltrack.textsafe import terminal_safe

if TYPE_CHECKING:
    from cmltrack.domain.assess import Assessment

GuidelineOpt = Annotated[
    Guideline, typer.Option("--guideline", help="Guideline edition for milestones.")
]
SchemeOpt = Annotated[
    CytogeneticScheme,
    typer.Option("--cytogenetic-scheme", help="eln (PCyR 1-35%) or mdacc (PCyR 1-34%)."),
]
PhaseOpt = Annotated[
    PhaseCriteria, typer.Option("--phase-criteria", help="Criteria for accelerated/blast phase.")
]
ProtocolOpt = Annotated[
    str | None,
    typer.Option(
        "--protocol",
        help="Add a protocol: kantarjian2003 (CML dose escalation), clag-im (AML trial, seed "
             "003) or actim (CML trial, seed 000): eligibility and endpoints.",
    ),
]
AmlCriteriaOpt = Annotated[
    str,
    typer.Option("--aml-criteria",
                 help="AML response and genetic risk: ELN2022 (default) or ELN2017 (adds "
                      "eln2017_risk)."),
]
AsOfOpt = Annotated[
    str | None,
    typer.Option("--as-of", help="Assess as on this date (YYYY-MM-DD); nothing later is used."),
]
StandingOpt = Annotated[
    str,
    typer.Option(
        "--standing",
        help="current.status: latest (landmark until a later result replaces it) or worst.",
    ),
]
FailureOpt = Annotated[
    str,
    typer.Option(
        "--failure-stands",
        help="A failure stands until_change (of therapy; section 14) or until_optimal.",
    ),
]
SiteOpt = Annotated[
    Path | None,
    typer.Option(
        "--site-config",
        help="TOML file with the laboratory's reference limits ([limits] anc_lln = 1.5 ...).",
    ),
]
CtcaeOpt = Annotated[
    CtcaeVersion, typer.Option("--ctcae-version", help="CTCAE version for toxicity grades.")
]
EngineOpt = Annotated[
    str,
    typer.Option(
        "--engine",
        help="single (this process) or spark (PySpark, cmltrack[spark]; the same answers).",
    ),
]
MasterOpt = Annotated[
    str,
    typer.Option(
        "--spark-master",
        help="Spark master for --engine spark: local[*], local[N], a cluster URL or sc://...",
    ),
]


def check_engine(engine: str) -> None:
    if engine not in ("single", "spark"):
        raise InputError(
            f"unknown engine {engine!r} (single or spark)", code="bad_argument", field="--engine"
        )


def contract_line(result: Assessment) -> str:
    """The assessment contract as one compact JSON line (``assess --format jsonl``)."""
    return json.dumps(result.to_dict(), separators=(",", ":"))


def text_block(result: Assessment) -> str:
    """The readable assessment, made safe for a terminal (``assess --format text``)."""
    from cmltrack.cli.render import render_assessment

    return terminal_safe(render_assessment(result))


def parse_as_of(value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InputError(
            f"{value!r} is not a date YYYY-MM-DD", code="bad_date", field="--as-of"
        ) from None


def make_options(
    guideline: Guideline,
    scheme: CytogeneticScheme,
    phase: PhaseCriteria,
    protocol: str | None,
    ctcae: CtcaeVersion,
    standing: str = "latest",
    failure_stands: str = "until_change",
    site_config: Path | None = None,
    aml_criteria: str = "ELN2022",
) -> AssessOptions:
    if protocol not in (None, *PROTOCOLS):
        raise InputError(
            f"unknown protocol {protocol!r} (known: {', '.join(PROTOCOLS)})",
            code="bad_argument",
            field="--protocol",
        )
    if aml_criteria not in ("ELN2022", "ELN2017"):
        raise InputError(
            f"unknown AML criteria {aml_criteria!r} (ELN2022 or ELN2017)",
            code="bad_argument",
            field="--aml-criteria",
        )
    if standing not in ("latest", "worst"):
        raise InputError(
            f"unknown standing rule {standing!r} (latest or worst)",
            code="bad_argument",
            field="--standing",
        )
    if failure_stands not in ("until_change", "until_optimal"):
        raise InputError(
            f"unknown rule {failure_stands!r} (until_change or until_optimal)",
            code="bad_argument",
            field="--failure-stands",
        )
    limits = LabLimits()
    if site_config is not None:
        from cmltrack.io.site import read_site_config

        limits = read_site_config(site_config)
    return AssessOptions(
        limits=limits,
        failure_stands="until_optimal" if failure_stands == "until_optimal" else "until_change",
        standing_rule="worst" if standing == "worst" else "latest",
        guideline=guideline,
        cytogenetic_scheme=scheme,
        phase_criteria=phase,
        protocol=_PROTOCOL_NAMES.get(protocol or ""),
        ctcae_version=ctcae,
        aml_criteria="ELN2017" if aml_criteria == "ELN2017" else "ELN2022",
    )


PROTOCOLS = ("kantarjian2003", "clag-im", "actim")
_PROTOCOL_NAMES: dict[str, Literal["kantarjian2003", "clag-im", "actim"]] = {
    "kantarjian2003": "kantarjian2003", "clag-im": "clag-im", "actim": "actim"}


@app.command()
def assess(
    input: Annotated[
        str,
        typer.Argument(
            help="Patient records: .json, .jsonl or a CSV folder (--engine spark: JSON Lines "
            "or Parquet, a file or a folder, any path Spark reads)."
        ),
    ],
    json_out: Annotated[bool, typer.Option("--json", help="One JSON object per patient.")] = False,
    guideline: GuidelineOpt = Guideline.ELN2020,
    cytogenetic_scheme: SchemeOpt = CytogeneticScheme.ELN,
    phase_criteria: PhaseOpt = PhaseCriteria.ELN,
    protocol: ProtocolOpt = None,
    as_of: AsOfOpt = None,
    ctcae_version: CtcaeOpt = CtcaeVersion.V5,
    standing: StandingOpt = "latest",
    failure_stands: FailureOpt = "until_change",
    site_config: SiteOpt = None,
    aml_criteria: AmlCriteriaOpt = "ELN2022",
    skip_invalid: Annotated[
        bool, typer.Option("--skip-invalid", help="Report refused records and go on.")
    ] = False,
    allow_empty: AllowEmptyOpt = False,
    fmt: Annotated[
        str,
        typer.Option("--format", help="text (readable), jsonl (the contract, as --json), csv or "
                     "parquet (one row per patient), fhir (one FHIR R4 Bundle per patient "
                     "and line: the record and its assessment as resources)."),
    ] = "text",
    out_file: Annotated[
        Path | None,
        typer.Option("--out", help="Write to FILE instead of standard output (.gz: compressed; "
                     "needed for parquet). With --engine spark, a FOLDER (no suffix) gets a "
                     "Parquet dataset: patient_id and the contract as JSON."),
    ] = None,
    engine: EngineOpt = "single",
    spark_master: MasterOpt = "local[*]",
) -> None:
    """Assess each patient: responses, phase, risk, toxicity, milestones, events, actions."""
    from cmltrack.cli.render import render_assessment
    from cmltrack.domain.assess import assess as run_assess

    options = make_options(
        guideline, cytogenetic_scheme, phase_criteria, protocol, ctcae_version, standing,
        failure_stands, site_config, aml_criteria,
    )
    from cmltrack.io.assessments import FORMATS, write_assessments

    if fmt not in (*FORMATS, "fhir"):
        raise InputError(f"{fmt!r} is not one of {', '.join(FORMATS)}, fhir",
                         code="bad_argument", field="--format")
    if json_out:
        if fmt not in ("text", "jsonl"):
            raise InputError("--json is --format jsonl; give one of them", code="bad_argument",
                             field="--format")
        fmt = "jsonl"
    if fmt == "parquet" and out_file is None:
        raise InputError("parquet is a binary file: name it with --out FILE.parquet",
                         code="missing_field", field="--out")
    check_engine(engine)
    day = parse_as_of(as_of)
    on_error = _report_skipped if skip_invalid else None
    if engine == "spark":
        _assess_on_spark(input, spark_master, options, day, fmt, out_file, on_error, allow_empty)
        return
    # For FHIR input, the ids of the input resources behind each record (--format fhir).
    input_ids: dict[str, Any] = {}
    records = patient_records(Path(input), allow_empty=allow_empty, on_error=on_error,
                              fhir_ids=input_ids if fmt == "fhir" else None)
    if out_file is not None or not sys.stdout.isatty():  # the bar never mixes with the table
        from cmltrack.cli._progress import count_records, progress

        records = progress(records, "assess", count_records(Path(input)))
    if fmt == "text":
        # The readable table goes to the terminal: whatever a record holds is made visible,
        # never obeyed.
        fh = sys.stdout if out_file is None else None
        texts = (terminal_safe(render_assessment(run_assess(r, options=options, as_of=day)))
                 for r in records)
        if fh is not None:
            _write_texts(texts, fh)
            return
        from cmltrack.io._atomic import atomic_files

        with atomic_files([out_file]) as (target,):  # type: ignore[list-item]
            _write_texts(texts, target)
        return
    if fmt == "fhir":
        from cmltrack.io.fhir.assessment import assessment_bundle_json

        bundles = (assessment_bundle_json(r, run_assess(r, options=options, as_of=day),
                                          input_ids.pop(r.id, None))
                   for r in records)
        _write_lines(bundles, out_file)
        return
    contracts = (run_assess(r, options=options, as_of=day).to_dict() for r in records)
    write_assessments(contracts, fmt, out_file, sys.stdout)


def _write_lines(lines: Iterable[str], out_file: Path | None) -> None:
    """One line each, to standard output or atomically to ``out_file`` (.gz compressed)."""
    if out_file is None:
        for line in lines:
            sys.stdout.write(line + "\n")
        return
    from cmltrack.io._atomic import atomic_files

    with atomic_files([out_file], newline="\n") as (fh,):
        for line in lines:
            fh.write(line + "\n")


def _assess_on_spark(
    input: str,
    master: str,
    options: AssessOptions,
    as_of: dt.date | None,
    fmt: str,
    out_file: Path | None,
    on_error: Callable[[InputError], None] | None,
    allow_empty: bool,
) -> None:
    """``assess --engine spark``: the executors assess, the driver writes what the single
    engine writes (in input order), or Spark writes a Parquet dataset to a folder."""
    import functools

    from cmltrack.engines import spark as sp
    from cmltrack.io.assessments import write_assessments

    if fmt == "fhir":
        raise InputError("--format fhir is written by the single engine only",
                         code="bad_argument", field="--format")
    dataset = out_file is not None and out_file.suffix == ""
    if dataset and fmt not in ("jsonl", "parquet"):
        raise InputError(
            "a folder --out is a Parquet dataset: use --format jsonl or parquet",
            code="bad_argument", field="--format",
        )
    session = sp.start(master)
    source = sp.read_source(session, input)
    render = text_block if fmt == "text" else contract_line
    payload = functools.partial(sp.assessment_line, options=options, as_of=as_of, render=render)
    results = sp.per_patient(source, payload, (sp.ASSESSMENT_OUT,), today=dt.date.today())
    try:
        ok = sp.accepted(results, on_error, allow_empty=allow_empty, file=source.name)
        if dataset:
            assert out_file is not None
            frame = ok.sortWithinPartitions("pos").selectExpr(
                "id AS patient_id", "out AS assessment"
            )
            sp.write_dataset(frame, str(out_file))
            return
        outs = (row["out"] for row in sp.in_order(ok, "out"))
        if fmt == "text":
            if out_file is None:
                _write_texts(outs, sys.stdout)
                return
            from cmltrack.io._atomic import atomic_files

            with atomic_files([out_file]) as (target,):
                _write_texts(outs, target)
            return
        contracts = (json.loads(out) for out in outs)
        write_assessments(contracts, fmt, out_file, sys.stdout)
    finally:
        results.unpersist()


@app.command()
def explain(
    input: Annotated[Path, typer.Argument(help="Patient records: .json, .jsonl or a CSV folder.")],
    patient: Annotated[str | None, typer.Option("--patient", help="Only this patient id.")] = None,
    guideline: GuidelineOpt = Guideline.ELN2020,
    cytogenetic_scheme: SchemeOpt = CytogeneticScheme.ELN,
    phase_criteria: PhaseOpt = PhaseCriteria.ELN,
    protocol: ProtocolOpt = None,
    as_of: AsOfOpt = None,
    ctcae_version: CtcaeOpt = CtcaeVersion.V5,
    standing: StandingOpt = "latest",
    failure_stands: FailureOpt = "until_change",
    site_config: SiteOpt = None,
    aml_criteria: AmlCriteriaOpt = "ELN2022",
    allow_empty: AllowEmptyOpt = False,
) -> None:
    """Explain, in date order, what was judged, from which result, by which rule and source."""
    from cmltrack.cli.render import render_explanation
    from cmltrack.domain.assess import assess as run_assess

    options = make_options(
        guideline, cytogenetic_scheme, phase_criteria, protocol, ctcae_version, standing,
        failure_stands, site_config, aml_criteria,
    )
    day = parse_as_of(as_of)
    found = False
    for rec in patient_records(input, allow_empty=allow_empty):
        if patient is not None and rec.id != patient:
            continue
        found = True
        result = run_assess(rec, options=options, as_of=day)
        sys.stdout.write(terminal_safe(render_explanation(result)) + "\n")
    if patient is not None and not found:
        raise InputError(
            f"no patient {patient!r} in {input}", code="unknown_value", field="--patient"
        )


def _write_texts(texts: Iterable[str], fh: TextIO) -> None:
    """Each patient's table, then the decision-support notice once (not after every patient)."""
    any_written = False
    for text in texts:
        fh.write(text + "\n")
        any_written = True
    if any_written:
        fh.write(DISCLAIMER + "\n")


def _report_skipped(exc: InputError) -> None:
    sys.stderr.write(terminal_safe(f"cmltrack: skipped: {exc}") + "\n")
