"""``cmltrack rules [EDITION] [--json]``: the ELN milestone tables, to hold against the papers.

Each row shows its stable id, the time it applies (baseline, a landmark month, any time), the
status, the source's wording, the structured condition cmltrack evaluates, and the citation.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from cmltrack.cli.app import app
from cmltrack.domain.enums import Guideline
from cmltrack.errors import InputError
from cmltrack.rules.guideline_tables import GuidelineTable, Row, load_guideline_table


def _time(row: Row) -> str:
    if row.time == "any":
        return "any time"
    return "baseline" if row.time == 0 else f"{row.time} mo"


def _row_dict(row: Row) -> dict[str, Any]:
    return {
        "id": row.id,
        "time": row.time,
        "status": str(row.status),
        "wording": row.wording,
        "condition": row.describe_condition(),
        "source": row.source,
        "note": row.note or None,
    }


def table_to_dict(table: GuidelineTable) -> dict[str, Any]:
    """The JSON form of one edition's table."""
    return {
        "edition": table.edition.value,
        "name": table.name,
        "citation": table.citation,
        "verification": table.verification,
        "landmarks": [
            {"month": lm.month, "window": [lm.start, lm.end]} for lm in table.landmarks
        ],
        "loss_of_mmr": {
            "consecutive": table.loss_of_mmr_consecutive,
            "one_at_least": table.loss_of_mmr_one_at_least,
        },
        "notes": list(table.notes),
        "rows": [_row_dict(r) for r in table.rows],
    }


def render_table(table: GuidelineTable) -> str:
    """A plain-text table: one block per row, in table order."""
    out = [
        f"{table.edition.value}: {table.name}",
        f"  {table.citation}",
        f"  verification: {table.verification}",
        "  landmark windows: "
        + ", ".join(f"{lm.month} mo {lm.start:g}-{lm.end:g}" for lm in table.landmarks),
    ]
    out += [f"  note: {n}" for n in table.notes]
    out.append("")
    header = f"{'id':<40} {'time':<9} {'status':<10} wording"
    out += [header, "-" * len(header)]
    for row in table.rows:
        out.append(f"{row.id:<40} {_time(row):<9} {row.status!s:<10} {row.wording}")
        out.append(f"{'':<40} {'':<9} {'':<10} if {row.describe_condition()}")
        out.append(f"{'':<40} {'':<9} {'':<10} source: {row.source}")
        if row.note:
            out.append(f"{'':<40} {'':<9} {'':<10} note: {row.note}")
    return "\n".join(out)


@app.command("rules")
def rules_command(
    edition: Annotated[
        str | None,
        typer.Argument(help="ELN2006, ELN2009, ELN2013 or ELN2020 (default: all four)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Print the ELN milestone tables cmltrack evaluates, with wording, condition and source."""
    if edition is None:
        editions = list(Guideline)
    else:
        try:
            editions = [Guideline(edition.upper())]
        except ValueError:
            raise InputError(
                f"{edition!r} is not one of {', '.join(g.value for g in Guideline)}",
                code="bad_argument", field="EDITION",
            ) from None
    tables = [load_guideline_table(g) for g in sorted(editions, key=lambda g: g.value)]
    if as_json:
        payload: Any = (table_to_dict(tables[0]) if len(tables) == 1
                        else {"editions": [table_to_dict(t) for t in tables]})
        typer.echo(json.dumps(payload, ensure_ascii=False))
    else:
        typer.echo("\n\n".join(render_table(t) for t in tables))
