"""``cmltrack convert``: any form of the patient record to any other (spec/fhir.md)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from cmltrack.cli._input import AllowEmptyOpt, patient_records
from cmltrack.cli.app import app
from cmltrack.errors import InputError

#: ``--to`` values and what OUTPUT is for each.
FORMATS = {
    "json": "a .json file (an array of records)",
    "jsonl": "a .jsonl file (one record per line; .jsonl.gz compressed)",
    "csv": "a folder of CSV tables",
    "fhir": "a .json file holding one FHIR R4 Bundle (collection)",
    "fhir-ndjson": "a folder of FHIR Bulk Data NDJSON files (one <Type>.ndjson per type)",
}


@app.command()
def convert(
    input: Annotated[Path, typer.Argument(
        help="Patient records in any form: .json, .jsonl, CSV folder, FHIR Bundle or Bulk.")],
    output: Annotated[Path, typer.Argument(help="Where to write (a file or a folder).")],
    to: Annotated[str, typer.Option(
        "--to", help="Output form: json, jsonl, csv, fhir (a Bundle) or fhir-ndjson (Bulk).")],
    allow_empty: AllowEmptyOpt = False,
) -> None:
    """Convert patient records between forms; atomic: OUTPUT is complete or untouched."""
    from cmltrack.io import write_csv_tables, write_json, write_jsonl
    from cmltrack.io.fhir.writer import write_fhir_bundle, write_fhir_ndjson

    if to not in FORMATS:
        raise InputError(f"unknown form {to!r} (one of {', '.join(FORMATS)})",
                         code="bad_argument", field="--to")
    if to in ("csv", "fhir-ndjson") and output.exists() and not output.is_dir():
        raise InputError(f"{to} writes a folder, and {output} is a file", code="bad_argument",
                         field="OUTPUT")
    writer = {"json": write_json, "jsonl": write_jsonl, "csv": write_csv_tables,
              "fhir": write_fhir_bundle, "fhir-ndjson": write_fhir_ndjson}[to]
    n = writer(patient_records(input, allow_empty=allow_empty), output)
    sys.stderr.write(f"cmltrack convert: {n:,} patients -> {output} ({to})\n")
