"""Patient records as JSON (one object or an array) and JSON Lines (one object per line).

Readers validate each record whole (see :mod:`cmltrack.io.validate`), so a refused record is
never half-loaded; the JSON Lines reader is a lazy generator that holds one line at a time.
Writers are atomic: they write a temp file beside the target and rename it.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import re
import zlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import orjson
from pydantic_core import from_json

from cmltrack.domain.records import PatientRecord
from cmltrack.errors import InputError
from cmltrack.io._atomic import atomic_files
from cmltrack.io._shape import record_to_dict, record_to_json
from cmltrack.io.limits import MAX_JSON_DEPTH, Limits, bounded_lines, read_bounded, resolve
from cmltrack.io.validate import OnError, validate_record


class _Constant(ValueError):
    """NaN or Infinity in the text: Python's json accepts them; they are not JSON."""


def _refuse_constant(name: str) -> float:
    raise _Constant(f"{name} is not a number JSON allows")


_AT = re.compile(r" at line (\d+) column (\d+)$")


class DuplicateKey(ValueError):
    """An object names one key twice: which value is meant cannot be told (every JSON parser
    here would silently keep the last)."""


def _loads(text: str) -> Any:
    """The JSON value of ``text``; a ValueError naming line and column if it is not JSON, a
    :class:`DuplicateKey` naming the object's JSON path if an object repeats a key.

    Nesting deeper than MAX_JSON_DEPTH is refused by the first parser, with its position,
    before Python's recursive json could hit a RecursionError.
    """
    try:
        # pydantic-core's parser (Rust) reads a record about twice as fast as json. It accepts
        # a subset of what json accepts and builds the same values (tests/io/test_jsonio_parse).
        value = from_json(text, allow_inf_nan=False)
    except ValueError as exc:
        first = str(exc)
    else:
        _refuse_duplicate_keys(text, value)
        return value
    if first.startswith("recursion limit exceeded"):
        at = _AT.search(first)
        where = f" (line {at[1]}, column {at[2]})" if at else ""
        raise ValueError(f"nested deeper than {MAX_JSON_DEPTH} levels{where}") from None
    # What it refuses is parsed again by json: its verdict and message are the ones reported.
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except (_Constant, RecursionError) as exc:
        # json names no position for these: the first parser stopped at the same place.
        at = _AT.search(first)
        where = f" (line {at[1]}, column {at[2]})" if at else ""
        what = str(exc) if isinstance(exc, _Constant) else f"nested too deeply: {first}"
        raise ValueError(f"{what}{where}") from None


def refuse_duplicate_keys(text: str | bytes, value: Any) -> None:
    """Raise :class:`DuplicateKey` if JSON ``text`` (already parsed as ``value``) repeats a key
    in an object: for callers that parse with orjson themselves (the service's bodies and
    import lines), so they refuse what the file readers refuse."""
    _refuse_duplicate_keys(text.decode("utf-8") if isinstance(text, bytes) else text, value)


def _refuse_duplicate_keys(text: str, value: Any) -> None:
    """Raise :class:`DuplicateKey` if an object of ``text`` (parsed as ``value``) repeats a key.

    A cheap proof first, from two counts of colons: every key of the text is followed by a
    colon of its own, and every other colon is inside a string, so the text's colons are its
    keys plus its strings' colons. ``value`` written out again (orjson, compact) has one colon
    per key it kept plus the colons of the strings it kept, which are at most the text's when
    no string spells a colon as an escape (``\\u003a``). Equal counts therefore mean no key was
    dropped. Otherwise (a duplicate, an escape, a value orjson cannot write) the text is
    parsed again by json, which lists each object's keys, to find the first duplicate.
    """
    try:
        again = orjson.dumps(value).count(b":")
    except orjson.JSONEncodeError:  # an integer over 64 bits, a lone surrogate
        again = -1
    if again == text.count(":") and "\\u003" not in text:
        return
    found = _first_duplicate(text)
    if found is not None:
        key, path = found
        shown = key if len(key) <= 40 else key[:40] + "..."
        raise DuplicateKey(f"the key {shown!r} appears twice in the object at {path} "
                           "(which value is meant cannot be told)")


class _Repeated(dict[str, Any]):
    """An object whose pairs repeat ``key`` (made by :func:`_first_duplicate`)."""

    key = ""


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) == len(pairs):
        return obj
    seen: set[str] = set()
    out = _Repeated(obj)
    for key, _ in pairs:
        if key in seen:
            out.key = key
            break
        seen.add(key)
    return out


def _first_duplicate(text: str) -> tuple[str, str] | None:
    """(key, JSON path) of the first object in document order that repeats a key."""
    stack: list[tuple[Any, str]] = [(json.loads(text, object_pairs_hook=_pairs), "$")]
    while stack:
        node, path = stack.pop()
        if isinstance(node, _Repeated):
            return node.key, path
        if isinstance(node, dict):
            stack.extend((v, f"{path}.{k}") for k, v in reversed(node.items()))
        elif isinstance(node, list):
            stack.extend((v, f"{path}[{i}]") for i, v in reversed(list(enumerate(node))))
    return None


def _open_binary(path: Path) -> gzip.GzipFile | BinaryIO:
    """The file's bytes, decompressed if its name ends in .gz."""
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rb")
    return path.open("rb")


def _bad_json(
    exc: ValueError | OSError | EOFError | zlib.error, file: str, path: str | None = None,
    *, in_line: bool = False,
) -> InputError:
    """``in_line``: the text is one line of JSON Lines, named by ``path``: give the column."""
    if isinstance(exc, DuplicateKey):
        msg = f"ambiguous JSON: {exc}"
    elif isinstance(exc, json.JSONDecodeError):
        where = f"line {exc.lineno}, " if not in_line else ""
        msg = f"not valid JSON: {exc.msg} ({where}column {exc.colno})"
    elif in_line:
        msg = f"not valid JSON: {str(exc).replace('(line 1, column', '(column')}"
    elif isinstance(exc, UnicodeDecodeError):
        byte = exc.object[exc.start]
        msg = f"not valid JSON: not UTF-8 text (a byte 0x{byte:02x} at byte {exc.start})"
    else:
        msg = f"not valid JSON: {exc}"
    return InputError(msg, code="bad_format", file=file, path=path)


def read_json(
    path: str | Path, *, today: dt.date, on_error: OnError | None = None,
    on_warning: Callable[[str], None] | None = None,
    limits: Limits | None = None, fhir_ids: dict[str, Any] | None = None,
) -> Iterator[PatientRecord]:
    """Records from a ``.json`` file holding one patient object or an array of them, or a
    FHIR Bundle (told by its ``resourceType``; ``on_warning`` takes its warnings, ``fhir_ids``
    the ids of its resources behind each record: see cmltrack.io.fhir.reader.InputIds).

    The file is parsed whole (a malformed file raises at once); records are validated lazily.
    A file over ``limits.max_file_mb`` (decompressed) is refused before it is parsed.
    """
    path, file = Path(path), str(path)
    lim = resolve(limits)
    try:
        with _open_binary(path) as fh:
            raw = read_bounded(fh, lim, file=file)
        data = _loads(raw.decode("utf-8-sig"))
    except (ValueError, OSError, EOFError, zlib.error) as exc:
        raise _bad_json(exc, file) from None
    if isinstance(data, dict) and "resourceType" in data:
        from cmltrack.io.fhir import read_fhir_bundle

        return read_fhir_bundle(path, today=today, on_error=on_error, on_warning=on_warning,
                                data=data, limits=lim, ids=fhir_ids)
    if isinstance(data, dict):
        items, prefixes = [data], ["$"]
    elif isinstance(data, list):
        items, prefixes = data, [f"$[{i}]" for i in range(len(data))]
    else:
        raise InputError(
            f"expected a patient object or an array of them, got {type(data).__name__}",
            code="bad_format", file=file, path="$",
        )
    return _validated(zip(items, prefixes, strict=True), file=file, today=today,
                      on_error=on_error, limits=lim)


def read_jsonl(
    path: str | Path, *, today: dt.date, on_error: OnError | None = None,
    limits: Limits | None = None,
) -> Iterator[PatientRecord]:
    """Records from a JSON Lines file, one line at a time (blank lines are skipped).

    Lazy: a broken line 3 raises only after the records of lines 1 and 2 have been yielded.
    A line over ``limits.max_line_mb`` is refused without being read whole.
    """
    path, file = Path(path), str(path)
    lim = resolve(limits)

    def lines() -> Iterator[tuple[Any, str]]:
        try:
            with _open_binary(path) as fh:
                for lineno, raw in enumerate(bounded_lines(fh, lim, file=file), start=1):
                    if not raw.strip():
                        continue
                    try:
                        # Decoded line by line: a bad byte is reported on its own line.
                        item = _loads(raw.decode("utf-8-sig" if lineno == 1 else "utf-8"))
                    except ValueError as exc:
                        item = _bad_json(exc, file, f"line {lineno}", in_line=True)
                    yield item, f"line {lineno}, $"
        except (OSError, EOFError, zlib.error) as exc:  # a damaged .gz
            raise InputError(f"cannot be read: {exc}", code="bad_format", file=file) from None

    return _validated(lines(), file=file, today=today, on_error=on_error, limits=lim)


#: What ``bytes.strip`` removes: a line of only these is blank (str.strip removes more).
_ASCII_SPACE = " \t\n\r\x0b\x0c"


def record_from_text(
    text: str, *, file: str, where: str, prefix: str, today: dt.date,
    limits: Limits | None = None,
) -> PatientRecord | None:
    """One record from the already decoded text of one JSON Lines line (None if blank).

    The reader's checks and messages for a line given as text: ``where`` names it in a JSON
    syntax error ("line 3"), ``prefix`` in a validation error ("line 3, $"). Engines that read
    lines themselves (Spark) call this, so a line is refused exactly as ``read_jsonl`` refuses it.
    """
    if not text.strip(_ASCII_SPACE):
        return None
    try:
        item = _loads(text)
    except ValueError as exc:
        raise _bad_json(exc, file, where, in_line=True) from None
    return validate_record(item, today=today, file=file, prefix=prefix,
                           max_text=resolve(limits).max_text_chars)


def duplicate_id(record_id: str, *, file: str, path: str) -> InputError:
    """The error for a patient id seen before in the same input."""
    return InputError(
        f"patient id {record_id!r} appears more than once",
        code="duplicate", file=file, path=path, field="id", patient=record_id,
    )


def _validated(
    entries: Iterable[tuple[Any, str]], *, file: str, today: dt.date, on_error: OnError | None,
    limits: Limits,
) -> Iterator[PatientRecord]:
    """Records from (raw data or a parse error, JSON path prefix) pairs, checking unique ids."""
    seen: set[str] = set()
    for item, prefix in entries:
        try:
            if isinstance(item, InputError):
                raise item
            record = validate_record(item, today=today, file=file, prefix=prefix,
                                     max_text=limits.max_text_chars)
            _check_unique(record, seen, file=file, path=prefix)
        except InputError as exc:
            if on_error is None:
                raise
            on_error(exc)
            continue
        yield record


def _check_unique(record: PatientRecord, seen: set[str], *, file: str, path: str) -> None:
    if record.id in seen:
        raise duplicate_id(record.id, file=file, path=path)
    seen.add(record.id)


def write_jsonl(records: Iterable[PatientRecord], path: str | Path) -> int:
    """Write one compact JSON object per line, atomically; returns the number of records.

    Streams: records are serialised one at a time, so the iterable may be a generator of a
    million patients.
    """
    n = 0
    with atomic_files([Path(path)], newline="\n") as (fh,):
        for record in records:
            fh.write(record_to_json(record))
            fh.write("\n")
            n += 1
    return n


def write_json(
    records: Iterable[PatientRecord], path: str | Path, *, indent: int | None = None
) -> int:
    """Write a JSON array of records in the compact shape, atomically; returns the count.

    ``indent`` pretty-prints (slower); without it each record is one line of the array.
    """
    n = 0
    with atomic_files([Path(path)], newline="\n") as (fh,):
        fh.write("[")
        for record in records:
            fh.write(",\n" if n else "\n")
            if indent is None:
                fh.write(record_to_json(record))
            else:
                text = json.dumps(record_to_dict(record), indent=indent, ensure_ascii=False)
                fh.write(text)
            n += 1
        fh.write("\n]\n" if n else "]\n")
    return n
