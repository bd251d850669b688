"""``cmltrack rules [TABLE] [--json]``: the rule tables cmltrack evaluates, to hold against the
papers.

An ELN milestone table's rows show their stable id, the time they apply (baseline, a landmark
month, any time), the status, the source's wording, the structured condition cmltrack evaluates
and the citation. The imatinib label, the Kantarjian 2003 protocol and the ELN 2020 TFR tables
show id, wording, condition (as stored), action and dose where given, and citation.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from cmltrack.cli.app import app
from cmltrack.domain.enums import Guideline
from cmltrack.domain.guidelines.label import RuleTable, load_rule_table
from cmltrack.errors import InputError
from cmltrack.rules.guideline_tables import (
    GuidelineTable,
    Row,
    load_guideline_table,
    load_mutation_table,
)


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


#: The tables other than the ELN milestones, by every name ``cmltrack rules`` takes for them.
OTHER_TABLES = {
    "label": "imatinib_label",
    "imatinib_label": "imatinib_label",
    "protocol": "kantarjian2003",
    "kantarjian2003": "kantarjian2003",
    "tfr": "eln2020_tfr",
    "eln2020_tfr": "eln2020_tfr",
    "monitoring": "monitoring",
    "doses": "tki_labels",
    "tki_labels": "tki_labels",
    "advanced": "advanced_phase",
    "advanced_phase": "advanced_phase",
    "interactions": "interactions",
    **{f"{d}_label": f"{d}_label" for d in ("dasatinib", "nilotinib", "bosutinib", "ponatinib",
                                            "asciminib")},
    **{d: f"{d}_label" for d in ("dasatinib", "nilotinib", "bosutinib", "ponatinib", "asciminib")},
}
#: The AML tables (aml spec): genetic risk, response categories, the two trial protocols.
AML_TABLES = ("aml_eln2022_risk", "aml_eln2017_risk", "aml_response", "protocol_clag_im",
              "protocol_actim")
_AML_NAMES = {"aml": AML_TABLES, **{name: (name,) for name in AML_TABLES},
              "clag-im": ("protocol_clag_im",), "actim": ("protocol_actim",)}
_ALL_OTHERS = ("imatinib_label", "dasatinib_label", "nilotinib_label", "bosutinib_label",
               "ponatinib_label", "asciminib_label", "kantarjian2003", "eln2020_tfr", "monitoring",
               "tki_labels", "advanced_phase", "interactions")


def mutation_table_to_dict() -> dict[str, Any]:
    """The mutation -> TKI table (``eln_mutations.yaml``) as JSON."""
    t = load_mutation_table()
    return {
        "table": "mutations", "source": t.citation, "verification": t.verification,
        "rows": [{"mutation": m, "avoid": sorted(d for d, ms in t.insensitive.items() if m in ms),
                  "source": src} for m, src in t.sources.items()],
    }


def render_mutation_table() -> str:
    data = mutation_table_to_dict()
    out = [f"mutations: {data['source']}", f"  verification: {data['verification']}", "",
           f"{'mutation':<10} avoid", "-" * 60]
    for row in data["rows"]:
        out.append(f"{row['mutation']:<10} {', '.join(row['avoid'])}")
        out.append(f"{'':<10} source: {row['source']}")
    out.append("Imatinib: every kinase-domain mutation found on it counts against it.")
    return "\n".join(out)


def _condition(condition: Any) -> str:
    return json.dumps(condition, ensure_ascii=False, default=str)


def rule_table_to_dict(table: RuleTable) -> dict[str, Any]:
    """The JSON form of a label, protocol or TFR table."""
    extra = {k: v for k, v in table.extra.items() if k not in ("table", "source")}
    return {
        "table": table.name,
        "source": table.source,
        "parameters": json.loads(_condition(extra)),
        "rows": [
            {"id": r.id, "wording": r.wording, "condition": json.loads(_condition(r.condition)),
             "action": r.action, "dose": r.dose, "source": r.source}
            for r in table.rows.values()
        ],
    }


def render_rule_table(table: RuleTable) -> str:
    """A plain-text label, protocol or TFR table: one block per row, in table order."""
    out = [f"{table.name}: {table.source}"]
    extra = {k: v for k, v in table.extra.items() if k not in ("table", "source")}
    out += [f"  {k}: {_condition(v)}" for k, v in extra.items()]
    out.append("")
    width = max(len(r) for r in table.rows) + 1
    header = f"{'id':<{width}} wording"
    out += [header, "-" * max(len(header), 60)]
    pad = " " * width
    for row in table.rows.values():
        out.append(f"{row.id:<{width}} {row.wording}")
        out.append(f"{pad} if {_condition(row.condition)}")
        if row.action is not None or row.dose is not None:
            dose = f", dose {row.dose}" if row.dose is not None else ""
            out.append(f"{pad} action: {row.action or '-'}{dose}")
        out.append(f"{pad} source: {row.source}")
    return "\n".join(out)


@app.command("rules")
def rules_command(
    table: Annotated[
        str | None,
        typer.Argument(
            metavar="TABLE",
            help="An ELN edition (ELN2006, ELN2009, ELN2013, ELN2020), label (imatinib), "
            "dasatinib, nilotinib, bosutinib, ponatinib, asciminib (their label dose "
            "modifications), protocol "
            "(Kantarjian 2003), tfr (ELN 2020 TFR), monitoring (next tests due), doses (TKI "
            "label doses by phase), advanced (AP/BP and post-transplant), mutations (TKI choice "
            "by mutation), aml (ELN 2022/2017 AML risk and response, clag-im and actim "
            "protocols), or all (default: the four ELN editions).",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Print the rule tables cmltrack evaluates, with wording, condition and source."""
    if table is not None and table.lower() in _AML_NAMES:
        _print_aml(_AML_NAMES[table.lower()], as_json)
        return
    others: list[str] = []
    mutations = False
    if table is not None and table.lower() == "mutations":
        if as_json:
            typer.echo(json.dumps(mutation_table_to_dict(), ensure_ascii=False))
        else:
            typer.echo(render_mutation_table())
        return
    if table is None:
        editions = list(Guideline)
    elif table.lower() == "all":
        editions, others, mutations = list(Guideline), list(_ALL_OTHERS), True
    elif table.lower() in OTHER_TABLES:
        editions, others = [], [OTHER_TABLES[table.lower()]]
    else:
        try:
            editions = [Guideline(table.upper())]
        except ValueError:
            names = ", ".join([g.value for g in Guideline]
                              + ["label", "dasatinib", "nilotinib", "bosutinib", "ponatinib",
                                 "asciminib", "protocol", "tfr", "monitoring", "doses", "advanced",
                                 "mutations", "aml", "clag-im", "actim", "all"])
            raise InputError(
                f"{table!r} is not one of {names}", code="bad_argument", field="TABLE",
            ) from None
    tables = [load_guideline_table(g) for g in sorted(editions, key=lambda g: g.value)]
    rule_tables = [load_rule_table(name) for name in others]
    if as_json:
        payload: Any
        if len(tables) == 1 and not rule_tables:
            payload = table_to_dict(tables[0])
        elif len(rule_tables) == 1 and not tables:
            payload = rule_table_to_dict(rule_tables[0])
        else:
            payload = {"editions": [table_to_dict(t) for t in tables]}
            if rule_tables:
                payload["tables"] = [rule_table_to_dict(t) for t in rule_tables]
            if mutations:
                payload["tables"].append(mutation_table_to_dict())
        typer.echo(json.dumps(payload, ensure_ascii=False))
    else:
        blocks = [render_table(t) for t in tables] + [render_rule_table(t) for t in rule_tables]
        if mutations:
            blocks.append(render_mutation_table())
        typer.echo("\n\n".join(blocks))


def _aml_rows(data: dict[str, Any]) -> list[dict[str, Any]]:
    for key in ("rules", "categories", "criteria"):
        if key in data:
            rows: list[dict[str, Any]] = data[key]
            return rows
    return []


def _print_aml(names: tuple[str, ...], as_json: bool) -> None:
    from cmltrack.rules.loader import load_table

    tables = [(name, load_table(name)) for name in names]
    if as_json:
        payload = [{"table": name, **data} for name, data in tables]
        typer.echo(json.dumps(payload[0] if len(payload) == 1 else {"tables": payload},
                              ensure_ascii=False, default=str))
        return
    blocks = []
    for name, data in tables:
        out = [f"{name}: {data.get('source') or data.get('source22', '')}"]
        for key in ("thresholds", "inclusion", "endpoints"):
            if key in data:
                out.append(f"  {key}: {_condition(data[key])}")
        out.append("")
        for row in _aml_rows(data):
            label = row.get("group") or row.get("rule") or ""
            out.append(f"{row['id']}  {label}  [{row.get('status', '')}]")
            out.append(f"    {row.get('wording', '')}")
            if "condition" in row:
                out.append(f"    if {_condition(row['condition'])}")
            if row.get("source"):
                out.append(f"    source: {row['source']}")
        blocks.append("\n".join(out))
    typer.echo("\n\n".join(blocks))
