"""HL7 FHIR R4 as a fourth form of the patient record (contract: spec/fhir.md).

Reading: a Bundle (``collection``, ``searchset``, ``transaction``, ``batch``) in a ``.json``
file, or a FHIR Bulk Data export (a folder of ``*.ndjson`` / ``*.ndjson.gz`` files, or one such
file), into exactly the :class:`~cmltrack.domain.records.PatientRecord` the JSON form of the
same data gives. :func:`cmltrack.io.read_records` detects both by content, so every command that
takes INPUT reads FHIR with no flag. Writing: :func:`write_fhir_bundle` and
:func:`write_fhir_ndjson` (see :mod:`cmltrack.io.fhir.writer`); the assessment as FHIR is
:func:`cmltrack.io.fhir.assessment.assessment_bundle`.

Warnings (ignored resources and codes, skipped statuses) are never silent: the readers pass each
line to ``on_warning`` or, without one, issue it as an :class:`~cmltrack.errors.InputWarning`,
which the CLI prints to standard error as ``warning: ...``.
"""

from __future__ import annotations

import bisect
import contextlib
import datetime as dt
import gc
import gzip
import warnings
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import orjson

from cmltrack.domain.records import PatientRecord
from cmltrack.errors import InputError, InputWarning
from cmltrack.io.fhir.bulk import BulkLines
from cmltrack.io.fhir.reader import InputIds, Reader, resource_label
from cmltrack.io.limits import Limits, resolve
from cmltrack.io.validate import OnError

__all__ = [
    "BUNDLE_TYPES",
    "is_fhir_lines",
    "ndjson_files",
    "read_fhir_bundle",
    "read_fhir_ndjson",
    "records_from_bundle",
]

#: The Bundle types read as patient data.
BUNDLE_TYPES = ("collection", "searchset", "transaction", "batch")
OnWarning = Callable[[str], None]


def _warn(line: str) -> None:
    warnings.warn(line, InputWarning, stacklevel=3)


def _bundle_reader(bundle: Mapping[str, Any], file: str, today: dt.date,
                   limits: Limits | None = None, ids: dict[str, InputIds] | None = None,
                   ) -> Reader:
    """A Reader holding every entry of ``bundle``."""
    if bundle.get("resourceType") != "Bundle":
        raise InputError(f"expected a FHIR Bundle, got resourceType "
                         f"{bundle.get('resourceType')!r}", code="bad_format", file=file,
                         path="resourceType")
    btype = bundle.get("type")
    if btype not in BUNDLE_TYPES:
        raise InputError(f"Bundle type {btype!r} is not read (one of {', '.join(BUNDLE_TYPES)})",
                         code="unknown_value", file=file, path="type")
    entries = bundle.get("entry") or []
    if not isinstance(entries, list):
        raise InputError("Bundle.entry must be a list", code="bad_format", file=file,
                         path="entry")

    def describe(i: int) -> tuple[str, str]:
        res = entries[i].get("resource") if isinstance(entries[i], dict) else None
        if isinstance(res, dict):
            return file, f"entry[{i}] {resource_label(res)}"
        return file, f"entry[{i}]"

    reader = Reader(describe, today=today, max_text=resolve(limits).max_text_chars)
    reader.ids = ids
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise InputError("a Bundle entry must be an object", code="bad_format", file=file,
                             path=f"entry[{i}]")
        res = entry.get("resource")
        if res is None:
            reader.warnings.count("{n} Bundle entries without a resource skipped")
            continue
        if btype == "searchset" and (entry.get("search") or {}).get("mode") == "outcome":
            reader.warnings.count("{n} searchset entries with search.mode 'outcome' skipped")
            continue
        full_url = entry.get("fullUrl")
        reader.add(res, i, full_url if isinstance(full_url, str) else None)
    return reader


def records_from_bundle(
    bundle: Mapping[str, Any], *, source: str = "bundle", today: dt.date | None = None
) -> tuple[list[PatientRecord], list[str]]:
    """Read an already-parsed FHIR R4 Bundle (e.g. a CDS Hooks prefetch) into patient records.

    ``bundle`` is the Bundle as JSON data (``collection``, ``searchset``, ``transaction`` or
    ``batch``); ``source`` names it in error messages (in place of a file name); ``today``
    bounds the dates (default: the system date; a future date is refused).

    Returns ``(records, warnings)``: the records in the order of the Patient resources, and
    one line per kind of ignored or skipped input ("3 Observations with code
    http://loinc.org|2345-7 ignored"), which the caller should show. Every record loads, or an
    :class:`~cmltrack.errors.InputError` is raised naming the entry (``entry[12]
    (Observation/obs-12) valueQuantity.code``), the record field and the patient.
    """
    reader = _bundle_reader(bundle, source, today or dt.date.today())
    records = list(reader.records())
    return records, reader.warnings.render()


def _emit(reader: Reader, on_warning: OnWarning | None) -> None:
    for line in reader.warnings.render():
        (on_warning or _warn)(line)


def read_fhir_bundle(
    path: str | Path, *, today: dt.date, on_error: OnError | None = None,
    on_warning: OnWarning | None = None, data: Any = None, limits: Limits | None = None,
    ids: dict[str, InputIds] | None = None,
) -> Iterator[PatientRecord]:
    """Records from a Bundle file (``data``: the file already parsed, within ``limits``);
    ``ids`` gets, per record id, the ids of the input resources behind it (InputIds)."""
    file = str(path)
    if data is None:
        try:
            raw = Path(path).read_bytes()
            if file.lower().endswith(".gz"):
                raw = gzip.decompress(raw)
            data = orjson.loads(raw)
        except (OSError, EOFError) as exc:
            raise InputError(f"cannot be read: {exc}", code="bad_format", file=file) from None
        except orjson.JSONDecodeError as exc:
            raise InputError(f"not valid JSON: {exc}", code="bad_format", file=file) from None
    if not isinstance(data, dict):
        raise InputError("expected a FHIR Bundle object", code="bad_format", file=file)
    reader = _bundle_reader(data, file, today, limits, ids)
    return _records(reader, on_error, on_warning)


def _records(reader: Reader, on_error: OnError | None,
             on_warning: OnWarning | None) -> Iterator[PatientRecord]:
    records = reader.records(on_error)
    try:
        first = next(records)
    except StopIteration:
        _emit(reader, on_warning)
        return
    # Warnings of the resources are known once the first record is built; those of later
    # records (a field given twice) follow at the end.
    shown = len(reader.warnings.lines)
    counts = dict(reader.warnings.counts)
    _emit(reader, on_warning)
    yield first
    yield from records
    late = [reader.warnings.fill(t, n - counts.get(t, 0))
            for t, n in reader.warnings.counts.items()
            if n > counts.get(t, 0)]
    for line in late + reader.warnings.lines[shown:]:
        (on_warning or _warn)(line)


def ndjson_files(path: Path) -> list[Path]:
    """The NDJSON files of a Bulk export folder, in name order (or the one file given)."""
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.is_file() and p.name.lower().endswith(
            (".ndjson", ".ndjson.gz")))
    return [path]


def is_fhir_lines(path: Path) -> bool:
    """Whether a JSON Lines file holds FHIR resources (its first object has resourceType)."""
    try:
        opener = gzip.open if path.name.lower().endswith(".gz") else open
        with opener(path, "rb") as fh:
            for raw in fh:
                if raw.strip():
                    return b'"resourceType"' in raw
    except (OSError, EOFError):
        return False
    return False


def read_fhir_ndjson(
    path: str | Path, *, today: dt.date, on_error: OnError | None = None,
    on_warning: OnWarning | None = None, limits: Limits | None = None,
    ids: dict[str, InputIds] | None = None,
) -> Iterator[PatientRecord]:
    """Records from a FHIR Bulk Data export: a folder of ``*.ndjson`` (or ``.ndjson.gz``)
    files, or one such file. Every file is read (a patient's resources are spread over them)
    before the first record is built; what is kept of each resource is only what it adds to
    its patient's record, and that goes to a temporary file as it grows (bounded memory; see
    :mod:`cmltrack.io.fhir.bulk`). A line over ``limits.max_line_mb`` is refused."""
    root = Path(path)
    files = ndjson_files(root)
    if not files:
        raise InputError("no .ndjson files in the folder", code="not_found", file=str(root))
    names = [str(p) for p in files]
    lines: BulkLines

    def describe(ordinal: int) -> tuple[str, str]:
        # Resource n's file and line, without a record per line: each file's first ordinal
        # and its blank lines (the only lines that hold no resource).
        fi = bisect.bisect_right(lines.starts, ordinal) - 1
        lineno = ordinal - lines.starts[fi] + 1
        for b in lines.blanks[fi]:
            if b <= lineno:
                lineno += 1
        name = names[fi]
        where = ""
        try:
            opener = gzip.open if name.lower().endswith(".gz") else open
            with opener(name, "rb") as fh:
                for n, raw in enumerate(fh, start=1):
                    if n == lineno:
                        res = orjson.loads(raw)
                        where = resource_label(res)
                        break
        except (OSError, EOFError, orjson.JSONDecodeError, AttributeError):
            pass
        return f"{name}:{lineno}", where

    lim = resolve(limits)
    reader = Reader(describe, today=today, max_text=lim.max_text_chars)
    reader.ids = ids
    lines = BulkLines(reader, lim)
    try:
        with _no_gc():
            lines.read(files)
    except BaseException:
        reader.spill.close()
        raise
    return _frozen(_records(reader, on_error, on_warning))


def _frozen(records: Iterator[PatientRecord]) -> Iterator[PatientRecord]:
    """``records``, each built with the cyclic garbage collector paused: what the reader holds
    (hundreds of thousands of small objects that make no cycles) would be walked by every
    collection the building triggers. The caller's own code runs with the collector as it was
    (not gc.freeze: the service freezes its startup heap, and unfreezing would undo that)."""
    while True:
        with _no_gc():
            record = next(records, None)
        if record is None:
            return
        yield record


@contextlib.contextmanager
def _no_gc() -> Iterator[None]:
    """The cyclic garbage collector paused while the resources are collected: they make no
    cycles, and its passes over a heap that only grows cost a third of the reading time."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
