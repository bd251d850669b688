"""Reading a FHIR Bulk Data export (NDJSON) fast, in bounded memory (spec/fhir.md).

The files are read in blocks of whole lines. A block is first tried on the **fast path**: msgspec
decodes all its lines at once into typed structs of the shapes cmltrack writes (an Observation
with the elements the mapping reads, and nothing else), and the common resource, one lab value
in a UCUM unit, goes straight into its patient's items as a tuple. The fast path takes a block
only when it can prove that the result is what the general path would give:

- the block is ASCII with no backslash (so no escape and no bad UTF-8 hides anywhere, and
  every string is written back byte for byte as it was read);
- every line decodes into the structs (each struct forbids unknown elements and types every
  element it has, so nothing is skipped unparsed and nesting is bounded);
- no line is blank (a blank line changes the numbering);
- the structs, encoded again, have as many colons as the block: outside strings a colon
  follows each key, and the strings are the same, so a key given twice in one object (which
  every JSON parser here reads as "the last one wins") or an explicit ``null`` (dropped as a
  default) makes the counts differ.

Any other block takes the **general path**, line by line: the parser of the JSON readers
(nesting bounded at :data:`~cmltrack.io.limits.MAX_JSON_DEPTH`, a key given twice in one object
refused with its JSON path), then the general mapping (:mod:`cmltrack.io.fhir.reader`). A resource
the fast path decodes but does not map itself (a PCR result with components, an event, a
resource of another type) goes to the same general mapping as the dict it was parsed from. So
both paths accept and refuse exactly the same lines, with the same messages.

Memory: what the reader holds of a resource is its item (a few values), and those go to a
temporary file every :data:`~cmltrack.io.fhir.reader.SPILL_ITEMS` items (see
:class:`~cmltrack.io.fhir.reader.Spill`): a Bulk export is grouped by resource type, so a
patient's record can be built only after the last file.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec

from cmltrack.errors import InputError
from cmltrack.io.fhir import codes as C
from cmltrack.io.fhir.reader import _FAST, _OBS_SKIP, SPILL_ITEMS, Reader
from cmltrack.io.jsonio import _bad_json as bad_json
from cmltrack.io.jsonio import _loads as parse_json
from cmltrack.io.limits import Limits, too_large

#: Bytes read at a time (whole lines are cut from them).
BLOCK = 256 * 1024
_MAPPING_ERRORS = (AttributeError, TypeError, IndexError, KeyError, InputError)


class _S(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True, gc=False):
    """A FHIR element as cmltrack writes it: unknown elements refused (the block then takes
    the general path), defaults omitted when encoded (the key count)."""


class _Coding(_S):
    system: str | None = None
    code: str | None = None
    display: str | None = None


class _Concept(_S):
    coding: list[_Coding] | None = None
    text: str | None = None


class _Reference(_S):
    reference: str | None = None


class _Quantity(_S):
    value: int | float | None = None
    comparator: str | None = None
    unit: str | None = None
    system: str | None = None
    code: str | None = None


class _Range(_S):
    low: _Quantity | None = None
    high: _Quantity | None = None


class _Annotation(_S):
    text: str | None = None


class _Period(_S):
    start: str | None = None
    end: str | None = None


class _Component(_S):
    code: _Concept | None = None
    valueQuantity: _Quantity | None = None
    valueCodeableConcept: _Concept | None = None
    valueString: str | None = None
    valueInteger: int | None = None
    valueBoolean: bool | None = None
    dataAbsentReason: _Concept | None = None


class _Observation(_S):
    resourceType: str
    id: str | None = None
    status: str | None = None
    category: list[_Concept] | None = None
    code: _Concept | None = None
    subject: _Reference | None = None
    focus: list[_Reference] | None = None
    effectiveDateTime: str | None = None
    effectivePeriod: _Period | None = None
    issued: str | None = None
    valueQuantity: _Quantity | None = None
    valueCodeableConcept: _Concept | None = None
    valueString: str | None = None
    valueInteger: int | None = None
    valueBoolean: bool | None = None
    dataAbsentReason: _Concept | None = None
    interpretation: list[_Concept] | None = None
    note: list[_Annotation] | None = None
    referenceRange: list[_Range] | None = None
    component: list[_Component] | None = None


_decode_lines = msgspec.json.Decoder(_Observation).decode_lines
_encode = msgspec.json.Encoder().encode
_to_builtins = msgspec.to_builtins
_DECODE_ERRORS = (msgspec.DecodeError, RecursionError)


def _provable(block: bytes) -> bool:
    """Whether the fast path's colon count is exact for ``block`` (see the module docstring)."""
    return block.isascii() and b"\\" not in block


class BulkLines:
    """Feeds the lines of Bulk NDJSON files to a :class:`Reader` (fast path where it can)."""

    def __init__(self, reader: Reader, limits: Limits) -> None:
        self.reader = reader
        self.limits = limits
        self.ordinal = 0  # resources so far, over all files
        self.held = 0  # items the reader holds since its last spill
        #: Per file: its first ordinal and its blank lines (for file:line of an ordinal).
        self.starts: list[int] = []
        self.blanks: list[list[int]] = []

    def read(self, files: list[Path]) -> None:
        for p in files:
            self.starts.append(self.ordinal)
            self.blanks.append([])
            try:
                opener: Callable[..., Any] = gzip.open if p.name.lower().endswith(".gz") \
                    else open
                with opener(p, "rb") as fh:
                    self._file(fh, str(p))
            except (OSError, EOFError) as exc:
                raise InputError(f"cannot be read: {exc}", code="bad_format",
                                 file=str(p)) from None

    def _file(self, fh: Any, name: str) -> None:
        cap = self.limits.line_bytes
        size = min(BLOCK, cap)  # a line inside one block is then within the cap
        lineno = 0  # lines done in this file
        rest = b""
        while True:
            block = fh.read(size)
            if not block:
                if rest:
                    self._block(rest + b"\n", name, lineno)
                return
            buf = rest + block if rest else block
            cut = buf.rfind(b"\n") + 1
            first = buf.find(b"\n") + 1 if cut else len(buf)
            if first > cap:
                raise InputError(too_large("the line", self.limits.max_line_mb,
                                           "CMLTRACK_MAX_LINE_MB"),
                                 code="bad_format", file=f"{name}:{lineno + 1}")
            if not cut:
                rest = buf
                continue
            rest = buf[cut:]
            lineno = self._block(buf[:cut], name, lineno)
            if self.held >= SPILL_ITEMS:
                self.reader.spill.write(self.reader.items)
                self.held = 0

    def _block(self, block: bytes, name: str, lineno: int) -> int:
        """Map the lines of ``block`` (each ending in a newline); returns the new line count."""
        n = block.count(b"\n")
        if _provable(block):
            try:
                objs = _decode_lines(block)
            except _DECODE_ERRORS:
                objs = None
            if (objs is not None and len(objs) == n
                    and _encode(objs).count(b":") == block.count(b":")):
                self._structs(objs)
                self.held += n
                return lineno + n
        for raw in block.split(b"\n")[:n]:
            lineno += 1
            self._line(raw, name, lineno)
        self.held += n
        return lineno

    def _line(self, raw: bytes, name: str, lineno: int) -> None:
        """The general path: one line."""
        if not raw.strip():
            self.blanks[-1].append(lineno)
            return
        where = f"{name}:{lineno}"
        try:
            res = parse_json(raw.decode("utf-8-sig" if lineno == 1 else "utf-8"))
        except ValueError as exc:
            raise bad_json(exc, where, in_line=True) from None
        reader = self.reader
        try:
            if type(res) is dict and res.get("resourceType") == "Observation":
                reader.observation(res, self.ordinal, None)
            else:
                reader.add(res, self.ordinal)
        except _MAPPING_ERRORS as exc:
            raise reader.failed(res, self.ordinal, exc) from None
        self.ordinal += 1

    def _structs(self, objs: list[_Observation]) -> None:
        """The fast path: a block's decoded resources (what it does not map itself goes to the
        general mapping as the dict the line holds)."""
        reader = self.reader
        keys_get = reader._keys.get
        items = reader.items
        special = C.SPECIAL_CODES
        same = C._same
        ucum = C.UCUM
        ordinal = self.ordinal
        for s in objs:
            # What Reader.observation does with a dict, for its common case.
            if (s.resourceType == "Observation" and s.status not in _OBS_SKIP
                    and s.referenceRange is None):
                q, subj, date, code = s.valueQuantity, s.subject, s.effectiveDateTime, s.code
                if q is not None and subj is not None and date is not None and code is not None:
                    fast = None
                    for c in code.coding or ():
                        key = (c.system, c.code)
                        fast = _FAST.get(key)
                        if fast is not None or key in special:
                            break
                    ref = subj.reference
                    subject = keys_get(ref) if fast is not None and ref is not None else None
                    if subject is not None:
                        kind, field, table, elements = fast  # type: ignore[misc]
                        conv = table.get(q.code)  # type: ignore[arg-type]
                        v = q.value
                        if conv is not None and v is not None and q.system == ucum:
                            one = (ordinal, kind, date[:10],
                                   {field: v if conv is same else conv(v)}, elements,
                                   (s.id, None))
                            lst = items.get(subject)
                            if lst is None:
                                items[subject] = [one]
                            else:
                                lst.append(one)
                            ordinal += 1
                            continue
            res = _to_builtins(s)
            try:
                if s.resourceType == "Observation":
                    reader.observation(res, ordinal, None)
                else:
                    reader.add(res, ordinal)
            except _MAPPING_ERRORS as exc:
                self.ordinal = ordinal
                raise reader.failed(res, ordinal, exc) from None
            ordinal += 1
        self.ordinal = ordinal
