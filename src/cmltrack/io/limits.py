"""How much any reader takes: file, line, field and column bounds, and JSON nesting depth.

Input comes from labs, registries and EHR exports nobody here controls. Every reader refuses
what is over a bound with an :class:`~cmltrack.errors.InputError` (exit status 2, one line
naming the file and the line or row), before the parser builds anything large, so that no input
runs the process out of memory or time.

The sizes are generous for clinical data and may be raised where a user needs more, from Python
(``read_records(path, limits=Limits(max_file_mb=2048))``) or from the environment of any
command or service (``CMLTRACK_MAX_FILE_MB``, ``CMLTRACK_MAX_LINE_MB``,
``CMLTRACK_MAX_TEXT_CHARS``, ``CMLTRACK_MAX_COLUMNS``). Two bounds are fixed:

- JSON nesting deeper than :data:`MAX_JSON_DEPTH` levels (the parser's own bound; a patient
  record is five levels deep) is refused, never a RecursionError;
- a patient id is at most :data:`~cmltrack.domain.records.MAX_PATIENT_ID` characters (ids end up
  in file names, report titles and database keys).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import IO, Protocol, TypeVar

from cmltrack.errors import InputError

_Line = TypeVar("_Line", bytes, str)

#: JSON nesting the readers take; the bound of pydantic-core's parser, which refuses deeper
#: nesting with its position. A record needs five levels ($, observations, [i], field, value).
MAX_JSON_DEPTH = 200

#: One line of a JSON Lines, NDJSON or CSV file, in MiB (the default of Limits.max_line_mb);
#: the service bounds a request body and an import line by it too.
MAX_LINE_MB = 16.0

_MB = 1024 * 1024


class _Bytes(Protocol):
    def read(self, size: int, /) -> bytes: ...
    def readline(self, size: int, /) -> bytes: ...


@dataclass(frozen=True)
class Limits:
    """Bounds on one read. Sizes in MiB of the decoded (decompressed) bytes."""

    #: A whole ``.json`` file (parsed in one piece) and a statistics CSV table.
    max_file_mb: float = 256.0
    #: One line of a JSON Lines file or of a CSV table (a record of JSON Lines is one line).
    max_line_mb: float = MAX_LINE_MB
    #: A free-text value in a record (drug, disease, cause, note, an ACA or a mutation name).
    max_text_chars: int = 10_000
    #: Columns of a statistics CSV table.
    max_columns: int = 1_000

    @property
    def file_bytes(self) -> int:
        return int(self.max_file_mb * _MB)

    @property
    def line_bytes(self) -> int:
        return int(self.max_line_mb * _MB)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Limits:
        """Defaults, with any ``CMLTRACK_MAX_*`` variable of the environment applied."""
        env = os.environ if environ is None else environ
        kwargs: dict[str, float | int] = {}
        for name, key, kind in (
            ("CMLTRACK_MAX_FILE_MB", "max_file_mb", float),
            ("CMLTRACK_MAX_LINE_MB", "max_line_mb", float),
            ("CMLTRACK_MAX_TEXT_CHARS", "max_text_chars", int),
            ("CMLTRACK_MAX_COLUMNS", "max_columns", int),
        ):
            text = env.get(name)
            if text is None or not text.strip():
                continue
            try:
                value = kind(text)
            except ValueError:
                value = 0
            if not value > 0 or value != value:
                raise InputError(f"{text!r} is not a positive number", code="bad_argument",
                                 field=name)
            kwargs[key] = value
        return cls(**kwargs)  # type: ignore[arg-type]


def resolve(limits: Limits | None) -> Limits:
    """The limits given, or the defaults with the environment's overrides."""
    return limits if limits is not None else Limits.from_env()


def too_large(what: str, size_mb: float, option: str) -> str:
    return (f"{what} is larger than the limit of {size_mb:g} MB "
            f"(raise it with {option} if the data is genuine)")


def read_bounded(fh: _Bytes, limits: Limits, *, file: str) -> bytes:
    """All of ``fh`` (decompressed), refusing more than ``limits.max_file_mb``."""
    data = fh.read(limits.file_bytes + 1)
    if len(data) > limits.file_bytes:
        raise InputError(too_large("the file", limits.max_file_mb, "CMLTRACK_MAX_FILE_MB"),
                         code="bad_format", file=file)
    return data


def bounded_lines(fh: _Bytes, limits: Limits, *, file: str) -> Iterator[bytes]:
    """The lines of ``fh``, refusing one longer than ``limits.max_line_mb`` without reading it
    whole (a 50 MB line costs at most the limit in memory)."""
    return _bounded(fh.readline, limits, file)


def bounded_text_lines(fh: IO[str], limits: Limits, *, file: str) -> Iterator[str]:
    """Text lines of ``fh`` (for the csv module), refusing an over-long line as above; the
    bound counts characters, within a factor of 4 of the bytes."""
    return _bounded(fh.readline, limits, file)


def _bounded(readline: Callable[[int], _Line], limits: Limits, file: str) -> Iterator[_Line]:
    # One loop for bytes and text: read at most one character past the cap, so an over-long
    # line is refused without ever being held whole.
    cap = limits.line_bytes
    lineno = 0
    while True:
        line = readline(cap + 1)
        if not line:
            return
        lineno += 1
        if len(line) > cap:
            raise InputError(
                too_large("the line", limits.max_line_mb, "CMLTRACK_MAX_LINE_MB"),
                code="bad_format", file=file, path=f"line {lineno}",
            )
        yield line
