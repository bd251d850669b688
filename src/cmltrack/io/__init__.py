"""Reading and writing patient records (patient-record contract v1) in its three forms.

- JSON (``.json``): one patient object or an array of them.
- JSON Lines (``.jsonl``): one object per line, read lazily; the form for large cohorts.
  Either JSON form may be gzip-compressed (``.json.gz``, ``.jsonl.gz``): the readers
  decompress it and the writers compress when the target's name ends in ``.gz``.
- A folder of CSV tables: ``patients.csv`` (required), ``therapy.csv``, ``labs.csv``,
  ``events.csv``.
- FHIR R4 (:mod:`cmltrack.io.fhir`): a Bundle (``.json``) or a Bulk Data export (a folder of
  ``.ndjson`` files), told apart from the others by content.

Every reader validates each record whole and raises :class:`~cmltrack.errors.InputError` naming
the file, the JSON path or CSV row (header = row 1), the patient and the field. Every writer is
atomic (temp file beside the target, then rename) and streams an iterable of records, so that
``read_records(p) == records`` after ``write_*(records, p)``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from cmltrack.domain.records import PatientRecord
from cmltrack.errors import InputError
from cmltrack.io._shape import record_to_dict, record_to_json
from cmltrack.io.csvio import read_csv_tables, write_csv_tables
from cmltrack.io.jsonio import read_json, read_jsonl, write_json, write_jsonl
from cmltrack.io.limits import Limits
from cmltrack.io.validate import OnError, validate_record

__all__ = [
    "Limits",
    "OnError",
    "load_records",
    "read_csv_tables",
    "read_json",
    "read_jsonl",
    "read_records",
    "record_to_dict",
    "record_to_json",
    "validate_record",
    "write_csv_tables",
    "write_json",
    "write_jsonl",
]


def read_records(
    path: str | Path, *, today: dt.date | None = None, on_error: OnError | None = None,
    on_warning: Callable[[str], None] | None = None,
    limits: Limits | None = None, fhir_ids: dict[str, Any] | None = None,
) -> Iterator[PatientRecord]:
    """Patient records from ``path``, by its form: ``.json``, ``.jsonl`` or a CSV folder
    (or its ``patients.csv``); FHIR R4 by content: a ``.json`` Bundle, a Bulk Data export
    folder of ``.ndjson`` files, or one ``.ndjson`` / FHIR ``.jsonl`` file.

    A lazy generator. ``today`` bounds the dates (a future date is refused; default: the
    system date). A refused record raises InputError; with ``on_error`` it is passed there
    instead and reading goes on with the next record (errors in the file as a whole, such as
    malformed JSON outside JSON Lines or a missing patients.csv, always raise). Warnings
    (FHIR input only: ignored codes and resources) go to ``on_warning``, or without it are
    issued as :class:`~cmltrack.errors.InputWarning`. ``limits``
    bounds file, line and text sizes (default: :class:`Limits` with the environment's
    ``CMLTRACK_MAX_*`` overrides). For FHIR input, ``fhir_ids`` (a dict) gets each record's
    input resource ids (:data:`cmltrack.io.fhir.reader.InputIds`), by record id.
    """
    p = Path(path)
    day = today or dt.date.today()
    if p.name == "patients.csv" and p.is_file():
        p = p.parent  # the tables' folder, named by its one required table
    if p.is_dir():
        if not (p / "patients.csv").exists() and _has_ndjson(p):
            from cmltrack.io.fhir import read_fhir_ndjson

            return read_fhir_ndjson(p, today=day, on_error=on_error, on_warning=on_warning,
                                    limits=limits, ids=fhir_ids)
        return read_csv_tables(p, today=day, on_error=on_error, limits=limits)
    if not p.exists():
        raise InputError("no such file or folder", code="not_found", file=str(p))
    name = p.name.lower().removesuffix(".gz")
    if name.endswith(".json"):
        # A FHIR Bundle is told by its content (resourceType), after the one parse.
        return read_json(p, today=day, on_error=on_error, on_warning=on_warning,
                         limits=limits, fhir_ids=fhir_ids)
    if name.endswith((".jsonl", ".ndjson")):
        from cmltrack.io.fhir import is_fhir_lines, read_fhir_ndjson

        if name.endswith(".ndjson") or is_fhir_lines(p):
            return read_fhir_ndjson(p, today=day, on_error=on_error, on_warning=on_warning,
                                    limits=limits, ids=fhir_ids)
        return read_jsonl(p, today=day, on_error=on_error, limits=limits)
    raise InputError(
        "expected a .json, .jsonl or .ndjson file (optionally .gz), a folder of CSV tables or "
        "a FHIR Bulk export folder",
        code="bad_format", file=str(p),
    )


def _has_ndjson(folder: Path) -> bool:
    return any(q.name.lower().endswith((".ndjson", ".ndjson.gz")) for q in folder.iterdir())


def load_records(path: str | Path, *, today: dt.date | None = None) -> list[PatientRecord]:
    """All records of ``path`` as a list: every record loads, or an InputError is raised."""
    return list(read_records(path, today=today))
