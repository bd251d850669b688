"""``cmltrack trial report``: a trial cohort summarised by its protocol (aml spec section 5)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from cmltrack.cli._input import AllowEmptyOpt, patient_records
from cmltrack.cli.app import app
from cmltrack.cli.assess import AsOfOpt, parse_as_of

trial_app = typer.Typer(name="trial", help="Trial cohorts: the protocol's report.",
                        no_args_is_help=True)
app.add_typer(trial_app, name="trial")


@trial_app.command("report")
def report(
    input: Annotated[Path, typer.Argument(help="Patient records: .json, .jsonl or a CSV folder.")],
    protocol: Annotated[str, typer.Option("--protocol", help="clag-im.")] = "clag-im",
    as_of: AsOfOpt = None,
    json_out: Annotated[bool, typer.Option("--json", help="cmltrack.trial_report/1 JSON.")] = False,
    out: Annotated[Path | None, typer.Option(
        "--out", help="Also write the trial page (trial.html and trial.pdf: response table, "
                      "KM of OS and PFS by response, swimmer plot) into this folder.")] = None,
    no_pdf: Annotated[bool, typer.Option("--no-pdf", help="With --out: HTML only.")] = False,
    allow_empty: AllowEmptyOpt = False,
) -> None:
    """ORR with exact CI, KM medians of OS and PFS, log-rank by response, allo-HCT."""
    from cmltrack import DISCLAIMER
    from cmltrack.stats.trial import render_trial_report, trial_report
    from cmltrack.textsafe import terminal_safe

    day = parse_as_of(as_of)
    result = trial_report(patient_records(input, allow_empty=allow_empty), protocol, day)
    if out is not None:
        import datetime as dt

        from cmltrack.reports.aml import write_trial_report

        names = write_trial_report(result, out, generated=dt.date.today().isoformat(),
                                   source=str(input), pdf=not no_pdf)
        sys.stderr.write(f"cmltrack trial report: wrote {', '.join(names)} to {out}\n")
    if json_out:
        sys.stdout.write(json.dumps(result.to_dict(), separators=(",", ":")) + "\n")
    else:
        sys.stdout.write(terminal_safe(render_trial_report(result, DISCLAIMER)) + "\n")
