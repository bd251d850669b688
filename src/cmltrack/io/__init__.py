"""Reading and writing patient records (patient-record contract v1) in its three forms.

- JSON (``.json``): one patient object or an array of them.
- JSON Lines (``.jsonl``): one object per line, read lazily; the form for large cohorts.
  Either JSON form may be gzip-compressed (``.json.gz``, ``.jsonl.gz``): the readers
  decompress it and the writers compress when the target's name ends in ``.gz``.
- A folder of CSV tables: ``patients.csv`` (required), ``therapy.csv``, ``labs.csv``,
  ``events.csv``.

Every reader validates each record whole and raises :class:`~cmltrack.errors.InputError` naming
the file, the JSON path or CSV row (header = row 1), the patient and the field. Every writer is
atomic (temp file beside the target, then rename) and streams an iterable of records, so that
``read_records(p) == records`` after ``write_*(records, p)``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

from cmltrack.domain.records import PatientRecord
from cmltrack.errors import InputError
from cmltrack.io._shape import record_to_dict, record_to_json
from cmltrack.io.csvio import read_csv_tables, write_csv_tables
from cmltrack.io.jsonio import read_json, read_jsonl, write_json, write_jsonl
from cmltrack.io.validate import OnError, validate_record

__all__ = [
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
    path: str | Path, *, today: dt.date | None = None, on_error: OnError | None = None
) -> Iterator[PatientRecord]:
    """Patient records from ``path``, by its form: ``.json``, ``.jsonl`` or a CSV folder
    (or its ``patients.csv``).

    A lazy generator. ``today`` bounds the dates (a future date is refused; default: the
    system date). A refused record raises InputError; with ``on_error`` it is passed there
    instead and reading goes on with the next record (errors in the file as a whole, such as
    malformed JSON outside JSON Lines or a missing patients.csv, always raise).
    """
    p = Path(path)
    day = today or dt.date.today()
    if p.name == "patients.csv" and p.is_file():
        p = p.parent  # the tables' folder, named by its one required table
    if p.is_dir():
        return read_csv_tables(p, today=day, on_error=on_error)
    if not p.exists():
        raise InputError("no such file or folder", code="not_found", file=str(p))
    name = p.name.lower().removesuffix(".gz")
    if name.endswith(".json"):
        return read_json(p, today=day, on_error=on_error)
    if name.endswith(".jsonl"):
        return read_jsonl(p, today=day, on_error=on_error)
    raise InputError(
        "expected a .json or .jsonl file (optionally .gz) or a folder of CSV tables",
        code="bad_format", file=str(p),
    )


def load_records(path: str | Path, *, today: dt.date | None = None) -> list[PatientRecord]:
    """All records of ``path`` as a list: every record loads, or an InputError is raised."""
    return list(read_records(path, today=today))
