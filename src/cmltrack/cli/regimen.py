"""``cmltrack regimen NAME --start DATE``: a regimen's dosing calendar (aml spec section 4)."""

from __future__ import annotations

import datetime as dt
import json
import sys
from typing import Annotated

import typer

from cmltrack import DISCLAIMER
from cmltrack.cli.app import app
from cmltrack.errors import InputError


@app.command()
def regimen(
    name: Annotated[str, typer.Argument(help="clag-im, imatinib-400, imatinib-600, "
                                             "imatinib-800 or imatinib-pioglitazone.")],
    start: Annotated[str, typer.Option("--start", help="Day 1 (YYYY-MM-DD).")],
    height_cm: Annotated[float | None, typer.Option("--height-cm", help="Height, cm.")] = None,
    weight_kg: Annotated[float | None, typer.Option("--weight-kg", help="Weight, kg.")] = None,
    bsa_formula: Annotated[str, typer.Option(
        "--bsa-formula", help="mosteller (default) or dubois.")] = "mosteller",
    bsa_cap: Annotated[float | None, typer.Option(
        "--bsa-cap", help="Cap the BSA at this many m^2 (no cap by default).")] = None,
    days: Annotated[int | None, typer.Option(
        "--days", help="Days of a continuous regimen (default 28; 365 for "
                       "imatinib-pioglitazone; ignored for clag-im).")] = None,
    imatinib_mg: Annotated[int | None, typer.Option(
        "--imatinib-mg", help="imatinib-pioglitazone: daily imatinib dose (default 400).")] = None,
    pioglitazone_mg: Annotated[int | None, typer.Option(
        "--pioglitazone-mg", help="imatinib-pioglitazone: 30 (default) or 45 mg.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="cmltrack.regimen/1 JSON.")] = False,
) -> None:
    """Print a regimen's calendar with body-surface-area doses, each drug with its source."""
    from cmltrack.domain.regimens import plan_regimen, render_calendar

    try:
        day1 = dt.date.fromisoformat(start)
    except ValueError:
        raise InputError(f"{start!r} is not a date YYYY-MM-DD", code="bad_date",
                         field="--start") from None
    if bsa_formula not in ("mosteller", "dubois"):
        raise InputError(f"unknown BSA formula {bsa_formula!r} (mosteller or dubois)",
                         code="bad_argument", field="--bsa-formula")
    plan = plan_regimen(
        name, day1, height_cm=height_cm, weight_kg=weight_kg,
        bsa_formula="dubois" if bsa_formula == "dubois" else "mosteller", days=days,
        imatinib_mg=imatinib_mg, pioglitazone_mg=pioglitazone_mg, bsa_cap_m2=bsa_cap)
    if json_out:
        sys.stdout.write(json.dumps(plan.to_dict(), separators=(",", ":")) + "\n")
    else:
        sys.stdout.write(render_calendar(plan, DISCLAIMER) + "\n")
