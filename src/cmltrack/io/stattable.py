"""A statistics table (``stats km|cox|cif|current``): a CSV file read as text by pandas.

Its header is checked here before pandas sees the file, since pandas renames a duplicated
column (``months``, ``months.1``), names an empty one ``Unnamed: 3``, and takes tens of seconds
and gigabytes on a header of 100,000 names. The file's size, its lines and its number of
columns are bounded by :class:`~cmltrack.io.limits.Limits`.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from cmltrack.errors import InputError
from cmltrack.io.limits import Limits, bounded_text_lines, resolve, too_large


def check_header(path: Path, limits: Limits) -> list[str]:
    """The column names of the table at ``path``, refusing an empty, duplicated or over-long
    header; reads the header line alone (bounded), never the whole file."""
    file = str(path)
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            header = next(csv.reader(bounded_text_lines(fh, limits, file=file)), None)
    except csv.Error as exc:
        raise InputError(f"not a CSV file: {exc}", code="bad_format", file=file,
                         row=1) from None
    except UnicodeDecodeError as exc:
        raise InputError(
            f"is not UTF-8 text (a byte 0x{exc.object[exc.start]:02x}); save it as UTF-8",
            code="bad_format", file=file,
        ) from None
    if header is None:
        raise InputError("the file is empty", code="empty", file=file)
    if len(header) > limits.max_columns:
        raise InputError(
            f"the header has {len(header)} columns, over the limit of {limits.max_columns} "
            "(raise it with CMLTRACK_MAX_COLUMNS if the data is genuine)",
            code="bad_format", file=file, row=1,
        )
    names = [name.strip() for name in header]
    seen: dict[str, int] = {}
    for i, name in enumerate(names, start=1):
        if not name:
            raise InputError(f"column {i} has no name", code="missing_field", file=file, row=1)
        if name in seen:
            raise InputError(
                f"column {name!r} appears twice (columns {seen[name]} and {i})",
                code="duplicate", file=file, row=1, field=name,
            )
        seen[name] = i
    return names


def read_stat_table(path: Path, limits: Limits | None = None) -> Any:
    """The table as a pandas DataFrame of stripped text (every cell a str, none NA)."""
    import pandas as pd

    file = str(path)
    lim = resolve(limits)
    if not path.is_file():
        raise InputError("file not found", code="not_found", file=file)
    if path.stat().st_size > lim.file_bytes:
        raise InputError(too_large("the file", lim.max_file_mb, "CMLTRACK_MAX_FILE_MB"),
                         code="bad_format", file=file)
    check_header(path, lim)
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True,
                            encoding="utf-8-sig")
    except pd.errors.EmptyDataError:
        raise InputError("the file is empty", code="empty", file=file) from None
    except (pd.errors.ParserError, UnicodeDecodeError, csv.Error) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "unreadable"
        raise InputError(f"not a CSV file: {first[:200]}", code="bad_format",
                         file=file) from None
    if len(frame) == 0:
        raise InputError("no data rows", code="empty", file=file)
    return frame
