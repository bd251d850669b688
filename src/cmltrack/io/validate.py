"""Validate one record's raw data and turn pydantic's complaint into an :class:`InputError`.

The error names the file, the JSON path (``$[3].observations[5].wbc``) or, for CSV tables, the
row the offending value came from, the patient id where known, and the field. Validation is
all or nothing: ``PatientRecord.model_validate`` builds the whole record or raises.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from cmltrack.domain import records as rec
from cmltrack.errors import ERROR_CODES, InputError
from cmltrack.units import UnitError, to_standard

Loc = tuple[str | int, ...]
#: Where a piece of a record came from in a table: (file, row), keyed by its path in the record.
Provenance = Mapping[Loc, tuple[str, int]]
#: What a reader calls with a refused record when asked to skip it and go on.
OnError = Callable[[InputError], None]
#: The name a table gives a record field at a location (``events.kind`` is column ``event``).
ColumnName = Callable[[Loc, str | None], str | None]

_MODELS: tuple[type[BaseModel], ...] = (
    rec.PatientRecord, rec.Diagnosis, rec.TherapyLine, rec.Event, rec.AmlGenetics,
    rec.AmlMutation, *rec.OBSERVATION_MODELS.values(),
)
_FIELDS = frozenset(name for model in _MODELS for name in model.model_fields)

# pydantic's own error types -> our codes (ours pass through unchanged).
_EXACT = {
    "extra_forbidden": "unknown_field",
    "missing": "missing_field",
    "union_tag_not_found": "missing_field",
    "string_too_short": "missing_field",
    "string_too_long": "impossible_value",
    "literal_error": "unknown_value",
    "union_tag_invalid": "unknown_value",
    "enum": "unknown_value",
    "finite_number": "impossible_value",
}
_PREFIXES = (
    ("date", "bad_date"),
    ("datetime", "bad_date"),
    ("greater_than", "impossible_value"),
    ("less_than", "impossible_value"),
)
# A dotted path at the start of a message from a record-level check: "observations[3].date ...".
_PATH_WORD = re.compile(r"^([a-z_]+)(?:\[(\d+)\])?((?:\.[a-z_]+)*)$")


def error_code(pydantic_type: str) -> str:
    """Our error code for a pydantic error type."""
    if pydantic_type in ERROR_CODES:
        return pydantic_type
    if pydantic_type in _EXACT:
        return _EXACT[pydantic_type]
    for prefix, code in _PREFIXES:
        if pydantic_type.startswith(prefix):
            return code
    return "bad_type"


def format_path(prefix: str, loc: Loc) -> str:
    """``$`` + loc as a JSON path: ``$[3].observations[5].wbc``."""
    parts = [prefix]
    for part in loc:
        parts.append(f"[{part}]" if isinstance(part, int) else f".{part}")
    return "".join(parts)


def _strip_tags(data: Any, loc: Loc) -> Loc:
    """Drop the union tags pydantic puts in a location (``observations, 5, 'blood', wbc``)."""
    out: list[str | int] = []
    cur = data
    for part in loc:
        if isinstance(part, int):
            out.append(part)
            cur = cur[part] if isinstance(cur, list) and -len(cur) <= part < len(cur) else None
        elif isinstance(cur, dict) and part not in cur and cur.get("kind") == part:
            continue
        else:
            out.append(part)
            cur = cur.get(part) if isinstance(cur, dict) else None
    return tuple(out)


def _at(data: Any, loc: Loc) -> Any:
    cur = data
    for part in loc:
        if isinstance(part, int) and isinstance(cur, list) and 0 <= part < len(cur):
            cur = cur[part]
        elif isinstance(part, str) and isinstance(cur, dict):
            cur = cur.get(part)
        else:
            return None
    return cur


def _unit_field(obj: Any) -> str | None:
    """The field of a ``{"value", "unit"}`` pair that cannot be converted."""
    if not isinstance(obj, dict):
        return None
    for key, val in obj.items():
        if isinstance(val, dict) and "value" in val and set(val) <= {"value", "unit"}:
            v = val["value"]
            if isinstance(v, bool) or not isinstance(v, int | float):
                return str(key)
            try:
                to_standard(str(key), float(v), val.get("unit"))
            except UnitError:
                return str(key)
    return None


def _field_from_message(message: str) -> tuple[Loc, str | None]:
    """For a check on a whole model: the (sub)path and field its message starts with or names."""
    words = message.split()
    m = _PATH_WORD.match(words[0]) if words else None
    if m and (m.group(2) is not None or m.group(3)):
        loc: list[str | int] = [m.group(1)]
        if m.group(2) is not None:
            loc.append(int(m.group(2)))
        loc.extend(p for p in m.group(3).split(".") if p)
        last = loc[-1]
        return tuple(loc[:-1]), last if isinstance(last, str) else None
    for word in words:
        word = word.strip(",;:()'\"")
        if word in _FIELDS and word not in ("kind",):
            return (), word
    return (), None


_LIMITS = (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<"))


def _message(err: ErrorDetails, code: str) -> str:
    """A short "what is wrong" in our words for pydantic's own errors; ours pass through."""
    kind, ctx, value = err["type"], err.get("ctx") or {}, err.get("input")
    if kind in ERROR_CODES:
        return err["msg"]
    if kind == "string_too_long":
        return (f"a text of {len(value) if isinstance(value, str) else '?'} characters is over "
                f"the limit of {ctx.get('max_length')}")
    if code == "impossible_value":
        for key, op in _LIMITS:
            if key in ctx:
                return f"{value!r} is impossible here (must be {op} {ctx[key]:g})"
    if kind == "literal_error":
        return f"{value!r} is not one of {ctx.get('expected')}"
    if kind == "union_tag_invalid":
        return f"kind {ctx.get('tag')!r} is not one of {ctx.get('expected_tags')}"
    if kind == "union_tag_not_found":
        return ("kind is missing (blood, marrow, cytogenetics, fish, pcr, mutation, chemistry, "
                "mrd, extramedullary)")
    if kind == "extra_forbidden":
        return "unknown field (not in the patient-record contract)"
    if kind == "missing":
        return "required field is missing"
    if kind == "int_from_float":
        return f"{value!r} is not a whole number"
    if kind.startswith(("float_", "int_")):
        return f"{value!r} is not a number"
    if kind.startswith("bool_"):
        return f"{value!r} is not true or false"
    return f"{value!r}: {err['msg']}"


def to_input_error(
    exc: ValidationError,
    data: Any,
    *,
    file: str,
    prefix: str = "$",
    provenance: Provenance | None = None,
    column: ColumnName | None = None,
) -> InputError:
    """The first complaint of ``exc`` as an InputError located in ``file``."""
    err = exc.errors()[0]
    code = error_code(err["type"])
    loc = _strip_tags(data, tuple(err["loc"]))
    field: str | None = loc[-1] if loc and isinstance(loc[-1], str) else None
    if err["type"] in ("union_tag_invalid", "union_tag_not_found"):
        loc, field = (*loc, "kind"), "kind"
    elif err["type"] in ERROR_CODES and isinstance(target := _at(data, loc), dict):
        # A check on a whole model (or the unit hook): find the field it is about.
        unit_field = _unit_field(target) if code in ("bad_unit", "bad_type") else None
        sub: Loc = ()
        if unit_field is not None:
            field = unit_field
        else:
            sub, field = _field_from_message(err["msg"])
        loc = (*loc, *sub, field) if field is not None else (*loc, *sub)
    patient = data.get("id") if isinstance(data, dict) else None
    ok = isinstance(patient, str) and 0 < len(patient) <= rec.MAX_PATIENT_ID
    patient = patient if ok else None
    message = _message(err, code)
    if provenance is not None:
        field = column(loc, field) if column is not None else field
        for n in range(len(loc), -1, -1):
            if loc[:n] in provenance:
                src, row = provenance[loc[:n]]
                return InputError(
                    message, code=code, file=src, row=row, field=field, patient=patient
                )
        return InputError(message, code=code, file=file, field=field, patient=patient)
    return InputError(
        message, code=code, file=file, path=format_path(prefix, loc), field=field,
        patient=patient,
    )


def validate_record(
    data: Any,
    *,
    today: dt.date,
    file: str,
    prefix: str = "$",
    provenance: Provenance | None = None,
    column: ColumnName | None = None,
    max_text: int = rec.MAX_TEXT_CHARS,
) -> rec.PatientRecord:
    """Build one record from its raw data, whole or not at all.

    ``prefix`` is the JSON path of the record in its file; with ``provenance`` (CSV tables) the
    error names the file and row the offending value came from instead, and ``column`` the
    table's name for the field. ``max_text`` bounds a free-text value's length.
    """
    if not isinstance(data, dict):
        raise InputError(
            f"expected a patient object, got {type(data).__name__}",
            code="bad_format", file=file, path=prefix,
        )
    try:
        context = {"today": today, "max_text": max_text}
        return rec.PatientRecord.model_validate(data, context=context)
    except ValidationError as exc:
        raise to_input_error(
            exc, data, file=file, prefix=prefix, provenance=provenance, column=column
        ) from None
