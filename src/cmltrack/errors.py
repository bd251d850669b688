"""The error tree of cmltrack.

    CmltrackError                 root of everything cmltrack raises on purpose
    ├── InputError (ValueError)   a file, row, JSON path or argument is wrong; CLI exit status 2
    └── RuleTableError            a packaged rule table failed validation (a bug, not user input)
    InputWarning (UserWarning)    input read, but part of it ignored (FHIR codes, resources)

An :class:`InputError` carries where (file, row or JSON path), which field, and a short code
from :data:`ERROR_CODES`. Its message reads "where, field 'x': what is wrong", for example
``labs.csv, row 14, field 'value': 'abc' is not a number``.
"""

from __future__ import annotations

#: Every error code an InputError may carry, with its meaning. A test keeps this list in
#: step with the codes used in the source.
ERROR_CODES: dict[str, str] = {
    "not_found": "the file or folder does not exist",
    "bad_format": "the file cannot be parsed in the stated format (JSON, CSV)",
    "missing_field": "a required field or column is absent",
    "unknown_field": "a field or column that the contract does not define",
    "unknown_value": "a value outside the allowed set (kind, test, drug, event, enum)",
    "bad_type": "a value of the wrong type (text where a number is needed, ...)",
    "bad_date": "a date that is not ISO 8601 YYYY-MM-DD",
    "impossible_value": "a physiologically impossible value (negative count, percentage > 100)",
    "bad_unit": "a unit that is unknown or cannot be converted for this field",
    "inconsistent": "values that contradict each other (age and birth date, counts, dates)",
    "duplicate": "a duplicated identifier",
    "empty": "an empty data set",
    "bad_argument": "a command-line argument that is out of range or malformed",
}


#: A message's length: messages quote the value they refuse, and a value may be megabytes.
MAX_MESSAGE = 300


def _shortened(message: str, limit: int = MAX_MESSAGE) -> str:
    if len(message) <= limit:
        return message
    return f"{message[:max(limit - 40, 20)]}... (cut, {len(message)} characters)"


class CmltrackError(Exception):
    """Root of all errors raised by cmltrack."""


class InputError(CmltrackError, ValueError):
    """Bad input: names the location and the field, never half-loads a record."""

    def __init__(
        self,
        message: str,
        *,
        code: str,
        file: str | None = None,
        row: int | None = None,
        path: str | None = None,
        field: str | None = None,
        patient: str | None = None,
    ) -> None:
        if code not in ERROR_CODES:
            raise ValueError(f"unknown error code {code!r}")
        self.message = _shortened(message)
        self.code = code
        self.file = file
        self.row = row
        self.path = path
        # A field or patient named by the input (an unknown column) is shortened the same way.
        self.field = None if field is None else _shortened(field, 100)
        self.patient = None if patient is None else _shortened(patient, 140)
        super().__init__(self.__str__())

    def located(
        self,
        *,
        file: str | None = None,
        row: int | None = None,
        path: str | None = None,
        patient: str | None = None,
    ) -> InputError:
        """A copy with location details filled in where they were not known yet."""
        return InputError(
            self.message,
            code=self.code,
            file=self.file or file,
            row=self.row if self.row is not None else row,
            path=self.path or path,
            field=self.field,
            patient=self.patient or patient,
        )

    def __str__(self) -> str:
        where: list[str] = []
        if self.file:
            where.append(self.file)
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.path:
            where.append(self.path)
        if self.patient:
            where.append(f"patient {self.patient!r}")
        if self.field:
            where.append(f"field {self.field!r}")
        prefix = ", ".join(where)
        return f"{prefix}: {self.message}" if prefix else self.message


class RuleTableError(CmltrackError):
    """A packaged rule table (YAML) is invalid: duplicate id, gap, overlap, missing citation."""


class InputWarning(UserWarning):
    """Part of an input was ignored or skipped (an unknown FHIR code, an Encounter, a
    cancelled result). Never silent: the CLI prints each as ``warning: ...`` on standard error.
    """
