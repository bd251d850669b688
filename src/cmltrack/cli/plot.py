"""``cmltrack plot``: single figures as PNG, SVG or PDF."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from cmltrack.cli.app import app
from cmltrack.cli.assess import AsOfOpt, GuidelineOpt
from cmltrack.cli.report import parse_date
from cmltrack.domain.enums import Guideline
from cmltrack.errors import InputError

plot_app = typer.Typer(help="Draw one figure (PNG, SVG or PDF, chosen by the extension).",
                       no_args_is_help=True)
app.add_typer(plot_app, name="plot")

InputArg = Annotated[Path, typer.Argument(help="Patient records: .json, .jsonl or a CSV folder.")]
OutOpt = Annotated[Path, typer.Option("--out", help="Figure file: .png, .svg or .pdf.")]
DpiOpt = Annotated[int, typer.Option("--dpi", min=30, max=600, help="Resolution of a PNG.")]


def _check_out(out: Path) -> None:
    from cmltrack.plots._mpl import FORMATS

    if out.suffix.lower() not in FORMATS:
        raise InputError(
            f"cannot write {out.name!r}: the extension must be one of {', '.join(FORMATS)}",
            code="bad_argument",
            field="--out",
        )


@plot_app.command("bcr-abl1")
def bcr_abl1(
    input: InputArg,
    patient: Annotated[str, typer.Option("--patient", help="Patient id.")],
    out: OutOpt,
    guideline: GuidelineOpt = Guideline.ELN2020,
    as_of: AsOfOpt = None,
    dpi: DpiOpt = 120,
) -> None:
    """One patient's BCR::ABL1 course with the guideline's milestone zones."""
    from cmltrack.domain.assess import assess, restrict_record
    from cmltrack.domain.options import AssessOptions
    from cmltrack.io import read_records
    from cmltrack.plots import figure_of, plot_bcr_abl1, save_figure

    _check_out(out)
    day = parse_date(as_of, "--as-of")
    for record in read_records(input):
        if record.id == patient:
            a = assess(record, options=AssessOptions(guideline=guideline), as_of=day)
            # drawn from the record as known on as_of: nothing later is shown either
            known = restrict_record(record, a.as_of)
            save_figure(figure_of(plot_bcr_abl1(known, a)), out, dpi=dpi)
            sys.stdout.write(f"wrote {out}\n")
            return
    raise InputError(f"no patient {patient!r} in {input}", code="unknown_value",
                     field="--patient")


@plot_app.command("swimmer")
def swimmer(
    input: InputArg,
    out: OutOpt,
    guideline: GuidelineOpt = Guideline.ELN2020,
    as_of: AsOfOpt = None,
    max_patients: Annotated[
        int, typer.Option("--max-patients", min=1, help="Draw at most this many bars.")
    ] = 60,
    dpi: DpiOpt = 120,
) -> None:
    """One bar per patient with first CHR, CCyR, MMR, MR4.5, progression and death."""
    from cmltrack.domain.assess import assess, restrict_record
    from cmltrack.domain.options import AssessOptions
    from cmltrack.io import read_records
    from cmltrack.plots import figure_of, plot_swimmer, save_figure, swimmer_rows

    _check_out(out)
    day = parse_date(as_of, "--as-of")
    options = AssessOptions(guideline=guideline)
    rows = []
    for record in read_records(input):
        a = assess(record, options=options, as_of=day)
        rows += swimmer_rows([(restrict_record(record, a.as_of), a)])
    if not rows:
        raise InputError("no patient with a start of TKI therapy", code="empty", file=str(input))
    save_figure(figure_of(plot_swimmer(rows, max_patients=max_patients)), out, dpi=dpi)
    sys.stdout.write(f"wrote {out}\n")


@plot_app.command("waterfall")
def waterfall(
    input: InputArg,
    out: OutOpt,
    as_of: AsOfOpt = None,
    dpi: DpiOpt = 120,
) -> None:
    """Best Ph+ reduction from baseline per patient, sorted."""
    from cmltrack.domain.assess import assess
    from cmltrack.io import read_records
    from cmltrack.plots import figure_of, ph_change, plot_waterfall, save_figure

    _check_out(out)
    day = parse_date(as_of, "--as-of")
    bars = [b for b in (ph_change(assess(r, as_of=day)) for r in read_records(input)) if b]
    if not bars:
        raise InputError(
            "no patient has a Ph+ result before and after the start of TKI therapy",
            code="empty", file=str(input),
        )
    save_figure(figure_of(plot_waterfall(bars)), out, dpi=dpi)
    sys.stdout.write(f"wrote {out}\n")


#: Time-to-event endpoints ``plot km`` draws, and the response endpoints ``plot cif`` draws
#: (definitions in cmltrack.domain.endpoints).
SURVIVAL_ENDPOINTS = ("PFS", "EFS", "OS", "TTF")
RESPONSE_ENDPOINTS = ("TTCHR", "TTCCYR", "TTMMR", "TTMR4", "TTMR45")
RISK_SCORES = ("sokal", "hasford", "eutos", "elts")

EndpointOpt = Annotated[str, typer.Option("--endpoint", help="Endpoint PARAMCD.")]
ByOpt = Annotated[
    str | None,
    typer.Option("--by", help="Group by a baseline risk score: sokal, hasford, eutos or elts."),
]


def _endpoint_table(
    input: Path, endpoint: str, allowed: tuple[str, ...], by: str | None, as_of: str | None
) -> tuple[list[float], list[int], list[str] | None]:
    """(months, event code, groups) of one endpoint over every patient with a TKI start.

    Event codes: 1 event, 0 censored, 2 a competing event (death or progression first).
    """
    from cmltrack.domain.assess import assess
    from cmltrack.domain.endpoints import derive_endpoints
    from cmltrack.io import read_records

    if endpoint not in allowed:
        raise InputError(f"endpoint {endpoint!r} is not one of {', '.join(allowed)}",
                         code="bad_argument", field="--endpoint")
    if by is not None and by not in RISK_SCORES:
        raise InputError(f"--by {by!r} is not one of {', '.join(RISK_SCORES)}",
                         code="bad_argument", field="--by")
    day = parse_date(as_of, "--as-of")
    times: list[float] = []
    codes: list[int] = []
    groups: list[str] = []
    for record in read_records(input):
        a = assess(record, as_of=day)
        row = next((r for r in derive_endpoints(record, a) if endpoint == r.PARAMCD), None)
        if row is None:
            continue
        times.append(row.AVAL)
        codes.append(1 if row.CNSR == 0 else 2 * row.CMPEVNT)
        if by is not None:
            score = a.risk.get(by)
            group = score.group if score is not None else None
            groups.append(f"{by} {group}" if group else f"{by} not computable")
    if not times:
        raise InputError("no patient with a start of TKI therapy", code="empty", file=str(input))
    return times, codes, (groups if by is not None else None)


def _curves(
    kind: str, input: Path, out: Path, endpoint: str, by: str | None, as_of: str | None,
    dpi: int,
) -> None:
    """Draw Kaplan-Meier (``km``) or cumulative incidence (``cif``) curves of an endpoint."""
    from cmltrack.domain.endpoints import PARAMS
    from cmltrack.plots import figure_of, plot_cif, plot_km, save_figure

    _check_out(out)
    name = PARAMS.get(endpoint, endpoint).replace(" (months)", "")
    xlabel = "months since start of TKI therapy"
    if kind == "km":
        t, c, g = _endpoint_table(input, endpoint, SURVIVAL_ENDPOINTS, by, as_of)
        ax = plot_km(t, [1 if x == 1 else 0 for x in c], g, xlabel=xlabel,
                     ylabel="probability", title=name)
    else:
        t, c, g = _endpoint_table(input, endpoint, RESPONSE_ENDPOINTS, by, as_of)
        what = name.replace("Time to ", "")
        ax = plot_cif(t, c, g, xlabel=xlabel, ylabel="cumulative incidence",
                      title=f"Cumulative incidence of {what}", event_label=what,
                      competing_label="death or progression first")
    save_figure(figure_of(ax), out, dpi=dpi)
    sys.stdout.write(f"wrote {out}\n")


@plot_app.command("km")
def km(
    input: InputArg,
    out: OutOpt,
    endpoint: EndpointOpt = "PFS",
    by: ByOpt = None,
    as_of: AsOfOpt = None,
    dpi: DpiOpt = 120,
) -> None:
    """Kaplan-Meier curves of PFS, EFS, OS or TTF with numbers at risk."""
    _curves("km", input, out, endpoint, by, as_of, dpi)


@plot_app.command("cif")
def cif(
    input: InputArg,
    out: OutOpt,
    endpoint: EndpointOpt = "TTMMR",
    by: ByOpt = None,
    as_of: AsOfOpt = None,
    dpi: DpiOpt = 120,
) -> None:
    """Cumulative incidence of a response, death or progression before it competing."""
    _curves("cif", input, out, endpoint, by, as_of, dpi)
