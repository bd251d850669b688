"""Patient records as a folder of CSV tables: patients.csv (required), therapy.csv, labs.csv and
events.csv (optional), the shape trial data comes in (compare CDISC SDTM DM, EX, LB and DS).

Row numbers in error messages count like a spreadsheet: the header is row 1, the first data row
is row 2. ``labs.csv`` is long: one value per row (``patient_id,date,test,value,unit``); the rows
of one patient, date and observation kind form one observation. A value in a non-standard unit
is converted here, with the row at hand. Records come out in patients.csv order.

Reading takes two passes. The first checks the structure of every table (columns, cell counts,
duplicate and orphan patient ids) before any record is built. Where the child tables list
patients in patients.csv order, as :func:`write_csv_tables` writes them, the second pass merges
the tables one patient at a time (memory stays flat for any cohort size); otherwise the child
tables are grouped by patient in memory first.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from cmltrack.domain.records import FIELD_KIND, MAX_PATIENT_ID, OBSERVATION_MODELS, PatientRecord
from cmltrack.errors import InputError
from cmltrack.io._atomic import atomic_files
from cmltrack.io.limits import Limits, bounded_text_lines, resolve
from cmltrack.io.validate import Loc, OnError, validate_record
from cmltrack.units import UnitError, to_standard

PATIENT_COLUMNS = (
    "patient_id", "sex", "birth_date", "diagnosis_date", "disease", "phase", "transcript", "age",
    "spleen_cm", "wbc", "platelets", "hemoglobin", "blasts_pb", "basophils_pb",
    "eosinophils_pb", "aca",
    # AML (aml spec section 1): optional, empty for CML.
    "aml_type", "status", "anc", "blasts_bm", "extramedullary", "ecog", "karyotype",
    "karyotype_done", "findings", "mutations_tested", "mutations",
)
THERAPY_COLUMNS = ("patient_id", "drug", "dose_mg_per_day", "start", "end", "reason_end")
LAB_COLUMNS = ("patient_id", "date", "test", "value", "unit")
EVENT_COLUMNS = ("patient_id", "date", "event", "detail")
_REQUIRED = {
    "patients.csv": ("patient_id",),
    "therapy.csv": ("patient_id", "drug", "start"),
    "labs.csv": ("patient_id", "date", "test", "value"),
    "events.csv": ("patient_id", "date", "event"),
}

# patients.csv column -> where it goes in the record.
_PATIENT_TOP = {"patient_id": "id", "sex": "sex", "birth_date": "birth_date"}
_DIAGNOSIS_TEXT = {"diagnosis_date": "date", "disease": "disease", "phase": "phase",
                   "transcript": "transcript"}
_DIAGNOSIS_NUMBERS = ("age", "spleen_cm", "wbc", "platelets", "hemoglobin", "blasts_pb",
                      "basophils_pb", "eosinophils_pb")
_AML_TEXT = ("aml_type", "status")
_AML_NUMBERS = ("anc", "blasts_bm", "ecog")
# patients.csv genetics columns: `findings` and `mutations_tested` as ;-lists; `mutations` as
# ;-separated variants, each a gene then optional key=value attributes ("TP53 vaf=12.5").
_GENETICS_LISTS = ("findings", "mutations_tested")
_MUTATION_ATTRS = {"allelic_ratio": "number", "vaf": "number", "bzip_inframe": "bool",
                   "biallelic": "bool"}

# labs.csv test -> record field; the contract names the mutation test in the singular.
LAB_TESTS: dict[str, str] = {
    **{name: name for name in FIELD_KIND if name != "mutations"}, "mutation": "mutations"
}
_BOOL_TESTS = frozenset({"detected", "extramedullary_blasts", "rbc_transfused_7d",
                        "platelets_transfused_7d", "auer_rods", "spicules", "present",
                        "related_to_therapy"})
_TEXT_TESTS = frozenset({"control_gene", "method", "target", "tissue", "result", "site",
                         "blast_lineage"})
_LIST_TESTS = frozenset({"aca", "aca_ph_neg", "mutation"})
_INTEGER = re.compile(r"^[+-]?\d+$")
# Which event field the `detail` column holds for each event kind.
_EVENT_DETAIL = {"progression": "phase", "death": "cause", "transplant": "detail"}
# An adverse_event's `detail` is its term and grade: "pleural_effusion grade 3".
_ADVERSE_DETAIL = re.compile(r"^\s*(\S+)\s+grade\s+(\S+)\s*$", re.IGNORECASE)
_UNDETECTED = "undetected"

Row = tuple[int, dict[str, str]]


# ----------------------------------------------------------------------------------- reading


def split_list(text: str) -> list[str]:
    """Split ``;``-separated shorthand, leaving ``;`` inside brackets alone (``t(9;22)``)."""
    parts: list[str] = []
    depth, start = 0, 0
    for i, ch in enumerate(text):
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth = max(depth - 1, 0)
        elif ch == ";" and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


def _check_header(path: Path, header: list[str], columns: tuple[str, ...]) -> None:
    if not header:
        raise InputError("the header row is missing", code="bad_format", file=str(path))
    for col in header:
        if col not in columns:
            raise InputError(
                f"unknown column {col!r} (expected some of {', '.join(columns)})",
                code="unknown_field", file=str(path), row=1, field=col,
            )
        if header.count(col) > 1:
            raise InputError(f"column {col!r} appears twice", code="duplicate",
                             file=str(path), row=1, field=col)
    for col in _REQUIRED[path.name]:
        if col not in header:
            raise InputError(f"required column {col!r} is missing", code="missing_field",
                             file=str(path), row=1, field=col)


def _raw_rows(
    path: Path, columns: tuple[str, ...], limits: Limits
) -> Iterator[tuple[int, list[str]]]:
    """(spreadsheet row number, cells) of the data rows; the header (row 0 here) comes first."""
    try:
        fh = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise InputError(
            f"cannot be opened: {exc.strerror}", code="not_found", file=str(path)
        ) from None
    with fh:
        # Lines are read with a bound, so a 50 MB line is refused without being held whole.
        reader = csv.reader(bounded_text_lines(fh, limits, file=str(path)))
        rownum, ncols = 0, 0
        try:
            for cells in reader:
                rownum += 1
                if rownum == 1:
                    header = [h.strip() for h in cells]
                    _check_header(path, header, columns)
                    ncols = len(header)
                    yield 0, header
                elif len(cells) == ncols and any(cells):
                    yield rownum, cells
                elif "".join(cells).strip():
                    raise InputError(f"has {len(cells)} cells, the header has {ncols}",
                                     code="bad_format", file=str(path), row=rownum)
        except csv.Error as exc:
            raise InputError(f"not valid CSV: {exc}", code="bad_format", file=str(path),
                             row=rownum + 1) from None
        except UnicodeDecodeError as exc:
            # Text is decoded a block ahead of the rows read, so no row can be named.
            raise InputError(
                f"is not UTF-8 text (a byte 0x{exc.object[exc.start]:02x}); save it as UTF-8",
                code="bad_format", file=str(path),
            ) from None
        if rownum == 0:
            _check_header(path, [], columns)


def _read_table(path: Path, columns: tuple[str, ...], limits: Limits) -> Iterator[Row]:
    """Rows of one table as (spreadsheet row number, {column: stripped cell})."""
    rows = _raw_rows(path, columns, limits)
    _, header = next(rows)
    for rownum, cells in rows:
        yield rownum, dict(zip(header, map(str.strip, cells), strict=True))


def _patient_ids(
    path: Path, columns: tuple[str, ...], limits: Limits
) -> Iterator[tuple[int, str]]:
    """(row, patient_id) of each data row: a quick first pass over a table."""
    rows = _raw_rows(path, columns, limits)
    _, header = next(rows)
    at = header.index("patient_id")
    for rownum, cells in rows:
        pid = cells[at].strip()
        if len(pid) > MAX_PATIENT_ID:
            # Before any message echoes it.
            raise InputError(f"a patient_id of {len(pid)} characters is over the limit of "
                             f"{MAX_PATIENT_ID}", code="impossible_value", file=str(path),
                             row=rownum, field="patient_id")
        yield rownum, pid


def _number(text: str, *, file: str, row: int, field: str, patient: str) -> int | float:
    try:
        value: int | float = int(text) if _INTEGER.match(text) else float(text)
    except ValueError:
        value = math.nan
    if isinstance(value, float) and not math.isfinite(value):
        raise InputError(f"{text!r} is not a number", code="bad_type", file=file, row=row,
                         field=field, patient=patient)
    return value


def _bool(text: str, *, file: str, row: int, field: str, patient: str) -> bool:
    low = text.lower()
    if low in ("true", "yes", "1"):
        return True
    if low in ("false", "no", "0"):
        return False
    raise InputError(f"{text!r} is not true or false", code="bad_type", file=file, row=row,
                     field=field, patient=patient)


@dataclass
class _Patient:
    """One patient's raw data and where each piece came from (file, spreadsheet row)."""

    data: dict[str, Any]
    where: dict[Loc, tuple[str, int]]
    # (date, kind) -> index of that observation in data["observations"]
    obs_index: dict[tuple[str, str], int] = field(default_factory=dict)


def _patient_from_row(row: int, cells: dict[str, str], file: str) -> _Patient:
    pid = cells["patient_id"]
    data: dict[str, Any] = {}
    diagnosis: dict[str, Any] = {}
    for col, text in cells.items():
        if not text:
            continue
        if col in _PATIENT_TOP:
            data[_PATIENT_TOP[col]] = text
        elif col in _DIAGNOSIS_TEXT:
            diagnosis[_DIAGNOSIS_TEXT[col]] = text
        elif col == "aca":
            diagnosis["aca"] = split_list(text)
        elif col in _AML_TEXT:
            diagnosis[col] = text
        elif col == "extramedullary":
            diagnosis[col] = _bool(text, file=file, row=row, field=col, patient=pid)
        elif col == "karyotype":
            diagnosis.setdefault("genetics", {})[col] = text
        elif col == "karyotype_done":
            diagnosis.setdefault("genetics", {})[col] = _bool(
                text, file=file, row=row, field=col, patient=pid)
        elif col in _GENETICS_LISTS:
            diagnosis.setdefault("genetics", {})[col] = split_list(text)
        elif col == "mutations":
            diagnosis.setdefault("genetics", {})[col] = [
                _aml_mutation(item, file=file, row=row, patient=pid)
                for item in split_list(text)
            ]
        else:
            diagnosis[col] = _number(text, file=file, row=row, field=col, patient=pid)
    if diagnosis:
        data["diagnosis"] = diagnosis
    return _Patient(data=data, where={(): (file, row)})


def _aml_mutation(text: str, *, file: str, row: int, patient: str) -> dict[str, Any]:
    """One ``mutations`` item: ``GENE [key=value ...]`` (``FLT3-ITD allelic_ratio=0.3``)."""
    gene, *attrs = text.split()
    out: dict[str, Any] = {"gene": gene}
    for attr in attrs:
        key, sep, value = attr.partition("=")
        kind = _MUTATION_ATTRS.get(key)
        if not sep or kind is None:
            raise InputError(
                f"{attr!r} in mutation {text!r} is not one of "
                f"{', '.join(k + '=...' for k in _MUTATION_ATTRS)}",
                code="unknown_field", file=file, row=row, field="mutations", patient=patient)
        out[key] = (_number(value, file=file, row=row, field="mutations", patient=patient)
                    if kind == "number"
                    else _bool(value, file=file, row=row, field="mutations", patient=patient))
    return out


def _add_therapy(patient: _Patient, row: int, cells: dict[str, str], file: str) -> None:
    line: dict[str, Any] = {}
    for col, text in cells.items():
        if col == "patient_id" or not text:
            continue
        if col == "dose_mg_per_day":
            line[col] = _number(text, file=file, row=row, field=col, patient=cells["patient_id"])
        else:
            line[col] = text
    lines = patient.data.setdefault("therapy", [])
    patient.where[("therapy", len(lines))] = (file, row)
    lines.append(line)


def _add_event(patient: _Patient, row: int, cells: dict[str, str], file: str) -> None:
    event: dict[str, Any] = {"date": cells["date"], "kind": cells["event"]}
    detail = cells.get("detail", "")
    if cells["event"] == "adverse_event":
        match = _ADVERSE_DETAIL.match(detail)
        if match is None:
            raise InputError(
                f"an adverse_event's detail must be its term and grade, e.g. 'pleural_effusion "
                f"grade 3', not {detail!r}", code="missing_field" if not detail else "bad_format",
                file=file, row=row, field="detail", patient=cells["patient_id"])
        event["term"] = match.group(1)
        event["grade"] = _number(match.group(2), file=file, row=row, field="detail",
                                 patient=cells["patient_id"])
    elif detail:
        event[_EVENT_DETAIL.get(cells["event"], "note")] = detail
    events = patient.data.setdefault("events", [])
    patient.where[("events", len(events))] = (file, row)
    events.append(event)


def _lab_value(cells: dict[str, str], test: str, *, file: str, row: int, pid: str) -> Any:
    text, unit = cells["value"], cells.get("unit", "")
    if not text:
        raise InputError("value is empty", code="missing_field", file=file, row=row,
                         field=test, patient=pid)
    if unit and (test in _BOOL_TESTS | _TEXT_TESTS | _LIST_TESTS or text.lower() == _UNDETECTED):
        raise InputError(f"unit {unit!r} given for a value without unit", code="bad_unit",
                         file=file, row=row, field=test, patient=pid)
    if test == "bcr_abl1_is" and text.lower() == _UNDETECTED:
        return False
    if test in _BOOL_TESTS:
        return _bool(text, file=file, row=row, field=test, patient=pid)
    if test in _TEXT_TESTS:
        return text
    if test in _LIST_TESTS:
        return split_list(text)
    value = _number(text, file=file, row=row, field=test, patient=pid)
    if unit:
        try:
            return to_standard(test, float(value), unit)
        except UnitError as exc:
            raise InputError(str(exc), code="bad_unit", file=file, row=row, field=test,
                             patient=pid) from None
    return value


def _add_lab(patient: _Patient, row: int, cells: dict[str, str], file: str) -> None:
    pid, test, date = cells["patient_id"], cells["test"], cells["date"]
    if test not in LAB_TESTS:
        raise InputError(f"unknown test {test!r}", code="unknown_value", file=file,
                         row=row, field="test", patient=pid)
    value = _lab_value(cells, test, file=file, row=row, pid=pid)
    # 'undetected' is the value False of the field `detected` (bcr_abl1_is stays empty).
    name = "detected" if value is False and test == "bcr_abl1_is" else LAB_TESTS[test]
    kind = FIELD_KIND[name]
    observations = patient.data.setdefault("observations", [])
    i = patient.obs_index.get((date, kind))
    if i is None:
        i = patient.obs_index[(date, kind)] = len(observations)
        observations.append({"date": date, "kind": kind})
        patient.where[("observations", i)] = (file, row)
    obs = observations[i]
    seen = patient.where.get(("observations", i, name))
    if seen is None:
        patient.where[("observations", i, name)] = (file, row)
    elif test not in _LIST_TESTS:
        raise InputError(f"{test} for {date} is given twice (rows {seen[1]} and {row})",
                         code="duplicate", file=file, row=row, field=test, patient=pid)
    obs[name] = [*obs.get(name, []), *value] if test in _LIST_TESTS else value


_CHILDREN: tuple[tuple[str, tuple[str, ...], Callable[[_Patient, int, dict[str, str], str],
                                                      None]], ...] = (
    ("therapy.csv", THERAPY_COLUMNS, _add_therapy),
    ("labs.csv", LAB_COLUMNS, _add_lab),
    ("events.csv", EVENT_COLUMNS, _add_event),
)
# One patient's rows: patients.csv row and cells, and the rows of each child table.
_Group = tuple[int, dict[str, str], dict[str, list[Row]]]


def _column(loc: Loc, field: str | None) -> str | None:
    """The table column that holds a record field (labs name the test, e.g. 'wbc')."""
    if loc[:1] == ("events",) and field == "kind":
        return "event"
    if loc[:1] == ("events",) and field in ("phase", "cause", "note", "detail", "term", "grade"):
        return "detail"
    if loc == ("diagnosis", "date"):
        return "diagnosis_date"
    if loc[:3] == ("diagnosis", "genetics", "mutations"):
        return "mutations"
    if loc == ("id",):
        return "patient_id"
    return field


def _patient_positions(path: Path, limits: Limits) -> dict[str, int]:
    """patients.csv ids -> position; refuses empty and duplicated ids."""
    positions: dict[str, int] = {}
    rows: dict[str, int] = {}
    for row, pid in _patient_ids(path, PATIENT_COLUMNS, limits):
        if not pid:
            raise InputError("patient_id is empty", code="missing_field", file=str(path),
                             row=row, field="patient_id")
        if pid in positions:
            raise InputError(f"patient_id {pid!r} is also in row {rows[pid]}", code="duplicate",
                             file=str(path), row=row, field="patient_id", patient=pid)
        positions[pid], rows[pid] = len(positions), row
    return positions


def _in_patient_order(
    path: Path, columns: tuple[str, ...], positions: dict[str, int], limits: Limits
) -> bool:
    """Refuse orphan patient ids; tell whether the table lists patients in patients.csv order."""
    last, ordered = -1, True
    for row, pid in _patient_ids(path, columns, limits):
        pos = positions.get(pid)
        if pos is None:
            raise InputError(f"patient_id {pid!r} is not in patients.csv", code="inconsistent",
                             file=str(path), row=row, field="patient_id", patient=pid or None)
        ordered = ordered and pos >= last
        last = pos
    return ordered


def _streamed_groups(
    patients_csv: Path, children: dict[str, Path], limits: Limits
) -> Iterator[_Group]:
    """Tables in patients.csv order: merge them, holding one patient's rows at a time."""
    readers = {name: _read_table(path, cols, limits) for name, cols, _ in _CHILDREN
               if (path := children.get(name)) is not None}
    pending: dict[str, Row | None] = {name: next(it, None) for name, it in readers.items()}
    for row, cells in _read_table(patients_csv, PATIENT_COLUMNS, limits):
        pid = cells["patient_id"]
        rows: dict[str, list[Row]] = {}
        for name, it in readers.items():
            mine = rows[name] = []
            while (head := pending[name]) is not None and head[1]["patient_id"] == pid:
                mine.append(head)
                pending[name] = next(it, None)
        yield row, cells, rows


def _loaded_groups(
    patients_csv: Path, children: dict[str, Path], limits: Limits
) -> Iterator[_Group]:
    """Tables in any order: group every child row by patient first."""
    grouped: dict[str, dict[str, list[Row]]] = {}
    for name, cols, _ in _CHILDREN:
        if name in children:
            by_patient = grouped[name] = {}
            for row, cells in _read_table(children[name], cols, limits):
                by_patient.setdefault(cells["patient_id"], []).append((row, cells))
    for row, cells in _read_table(patients_csv, PATIENT_COLUMNS, limits):
        pid = cells["patient_id"]
        yield row, cells, {name: g.pop(pid, []) for name, g in grouped.items()}


def read_csv_tables(
    folder: str | Path, *, today: dt.date, on_error: OnError | None = None,
    limits: Limits | None = None,
) -> Iterator[PatientRecord]:
    """Records from a folder of CSV tables, in patients.csv order.

    A first pass checks the tables' structure (columns, duplicate and orphan patient ids) before
    any record is built. Where the child tables list patients in patients.csv order (as
    :func:`write_csv_tables` writes them) the second pass streams, one patient at a time;
    otherwise the child tables are grouped in memory first. A line over ``limits.max_line_mb``
    is refused (a cell is bounded by the csv module's 131,072 characters).
    """
    folder = Path(folder)
    lim = resolve(limits)
    patients_csv = folder / "patients.csv"
    if not patients_csv.is_file():
        raise InputError("patients.csv is required in a folder of CSV tables",
                         code="not_found", file=str(patients_csv))
    positions = _patient_positions(patients_csv, lim)
    children = {name: folder / name for name, _, _ in _CHILDREN if (folder / name).is_file()}
    ordered = all([_in_patient_order(children[name], cols, positions, lim)
                   for name, cols, _ in _CHILDREN if name in children])
    del positions
    groups = (_streamed_groups if ordered else _loaded_groups)(patients_csv, children, lim)
    adders = {name: add for name, _, add in _CHILDREN}
    for row, cells, rows in groups:
        try:
            patient = _patient_from_row(row, cells, str(patients_csv))
            for name, table_rows in rows.items():
                for child_row, child_cells in table_rows:
                    adders[name](patient, child_row, child_cells, str(children[name]))
            record = validate_record(patient.data, today=today, file=str(patients_csv),
                                     provenance=patient.where, column=_column,
                                     max_text=lim.max_text_chars)
        except InputError as exc:
            if on_error is None:
                raise
            on_error(exc)
            continue
        yield record


# ----------------------------------------------------------------------------------- writing


def _fmt(value: Any) -> str:
    if type(value) is float:
        # Whole numbers without ".0" (a dose of 400, not 400.0); others exactly, as repr does.
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, tuple):
        return ";".join(map(_fmt_item, value))
    return str(value)


def _fmt_item(item: Any) -> str:
    """One ;-list item: text as it is, an AML mutation as ``GENE key=value ...``."""
    if isinstance(item, str):
        return item
    attrs = [f"{k}={_fmt(getattr(item, k))}" for k in _MUTATION_ATTRS
             if getattr(item, k) is not None]
    return " ".join([item.gene, *attrs])


def _unwritable(record: PatientRecord, what: str) -> InputError:
    return InputError(f"cannot be written as CSV tables: {what}", code="inconsistent",
                      patient=record.id)


_OBS_FIELDS = {
    kind: tuple(f for f in model.model_fields if f not in ("date", "kind"))
    for kind, model in OBSERVATION_MODELS.items()
}


def _lab_rows(record: PatientRecord) -> Iterator[tuple[str, str, str, str, str]]:
    pid = record.id
    seen: set[tuple[dt.date, str]] = set()
    for obs in record.observations:
        key = (obs.date, obs.kind)
        if key in seen:
            raise _unwritable(record, f"two {obs.kind} observations on {obs.date}")
        seen.add(key)
        date = obs.date.isoformat()
        values = obs.__dict__
        wrote = False
        undetected = obs.kind == "pcr" and values["detected"] is False and (
            values["bcr_abl1_is"] is None
        )
        for name in _OBS_FIELDS[obs.kind]:
            value = values[name]
            if undetected and name == "detected":
                continue
            if undetected and name == "bcr_abl1_is":
                yield pid, date, "bcr_abl1_is", _UNDETECTED, ""
                wrote = True
                continue
            if name == "mutations":
                # One row, "none" when the analysis found no mutation.
                yield pid, date, "mutation", ";".join(value) or "none", ""
                wrote = True
                continue
            if value is None or value == ():
                continue
            yield pid, date, name, _fmt(value), ""
            wrote = True
        if not wrote:
            raise _unwritable(record, f"the {obs.kind} observation on {obs.date} has no values")


def _event_row(record: PatientRecord, event: Any) -> tuple[str, str, str, str]:
    if event.kind == "adverse_event":
        if event.note or event.detail:
            raise _unwritable(record, "an adverse_event with a note has no CSV column")
        return (record.id, event.date.isoformat(), event.kind,
                f"{event.term} grade {event.grade}")
    detail_field = _EVENT_DETAIL.get(event.kind, "note")
    others = [f for f in ("phase", "cause", "note", "detail")
              if f != detail_field and getattr(event, f)]
    if others:
        raise _unwritable(record, f"a {event.kind} event with {others[0]} has no CSV column")
    return record.id, event.date.isoformat(), event.kind, _fmt(getattr(event, detail_field))


def _patient_row(record: PatientRecord) -> list[str]:
    dx = record.diagnosis
    row = [record.id, _fmt(record.sex), _fmt(record.birth_date)]
    if dx is None:
        return row + [""] * (len(PATIENT_COLUMNS) - len(row))
    row += [_fmt(dx.date), dx.disease, _fmt(dx.phase), _fmt(dx.transcript)]
    row += [_fmt(getattr(dx, name)) for name in _DIAGNOSIS_NUMBERS]
    row.append(_fmt(dx.aca))
    row += [_fmt(getattr(dx, name)) for name in ("aml_type", "status", "anc", "blasts_bm",
                                                  "extramedullary", "ecog")]
    g = dx.genetics
    if g is None:
        return row + [""] * 5
    row += [_fmt(g.karyotype), _fmt(g.karyotype_done), _fmt(g.findings),
            _fmt(g.mutations_tested), _fmt(g.mutations)]
    return row


def write_csv_tables(records: Iterable[PatientRecord], folder: str | Path) -> int:
    """Write patients.csv, therapy.csv, labs.csv and events.csv into ``folder``; returns the count.

    Streams (the four files grow together, one record at a time) and is atomic: on any error
    the folder's existing tables are left untouched. Values are written in standard units.
    A record the tables cannot hold (two observations of one kind on one date, an observation
    without values, an event note beside its detail) is refused with an InputError.
    """
    folder = Path(folder)
    names = ("patients.csv", "therapy.csv", "labs.csv", "events.csv")
    n = 0
    with atomic_files([folder / name for name in names], newline="") as files:
        w_patients, w_therapy, w_labs, w_events = (_writer(fh) for fh in files)
        w_patients.writerow(PATIENT_COLUMNS)
        w_therapy.writerow(THERAPY_COLUMNS)
        w_labs.writerow(LAB_COLUMNS)
        w_events.writerow(EVENT_COLUMNS)
        for record in records:
            labs = list(_lab_rows(record))
            events = [_event_row(record, e) for e in record.events]
            w_patients.writerow(_patient_row(record))
            w_therapy.writerows(
                (record.id, t.drug, _fmt(t.dose_mg_per_day), _fmt(t.start), _fmt(t.end),
                 _fmt(t.reason_end))
                for t in record.therapy
            )
            w_labs.writerows(labs)
            w_events.writerows(events)
            n += 1
    return n


def _writer(fh: TextIO) -> Any:
    return csv.writer(fh, lineterminator="\n")
