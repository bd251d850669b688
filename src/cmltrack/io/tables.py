"""Analysis tables (endpoints) written as they are derived: CSV or Parquet, atomically.

Rows arrive as an iterable of dicts and are written in chunks, so memory stays flat however
many patients there are. The file is written beside the target and renamed into place when
complete; a failure leaves the target as it was.
"""

from __future__ import annotations

import gzip
import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from pathlib import Path
from typing import Any

from cmltrack.errors import InputError

#: Rows per chunk (about 500 patients): a few MB of dicts and pandas frame.
CHUNK = 5_000


def _chunks(rows: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    it = iter(rows)
    while chunk := list(islice(it, size)):
        yield chunk


def table_kind(out: Path, option: str = "--out") -> str:
    """The kind of a table file (.csv, .csv.gz or .parquet), or an InputError naming ``option``."""
    name = out.name.lower()
    for kind in (".csv", ".csv.gz", ".parquet"):
        if name.endswith(kind):
            return kind
    raise InputError(
        f"output must end in .csv, .csv.gz or .parquet, got {out.name!r}",
        code="bad_argument",
        field=option,
    )


def write_table(
    rows: Iterable[dict[str, Any]], out: Path, columns: Sequence[str], *, chunk: int = CHUNK
) -> int:
    """Write ``rows`` to ``out`` (.csv, .csv.gz or .parquet) chunk by chunk; returns the count.

    The bytes are those of ``pd.DataFrame(all_rows, columns=columns).to_csv(index=False)`` (or
    ``to_parquet``'s table) as long as each column holds one type, as the endpoint rows do.
    """
    import pandas as pd

    kind = table_kind(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    os.close(fd)
    # mkstemp makes the file private (0600): give it the target's mode or an ordinary 0644.
    os.chmod(tmp, out.stat().st_mode & 0o777 if out.exists() else 0o644)
    n = 0
    try:
        if kind != ".parquet":
            opener = gzip.open if kind == ".csv.gz" else open
            with opener(tmp, "wt", newline="", encoding="utf-8") as fh:
                first = True
                for part in _chunks(rows, chunk):
                    pd.DataFrame(part, columns=list(columns)).to_csv(fh, index=False, header=first)
                    first, n = False, n + len(part)
                if first:
                    pd.DataFrame([], columns=list(columns)).to_csv(fh, index=False)
        else:
            _write_parquet(rows, tmp, columns, chunk)
            n = _parquet_rows(tmp)
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return n


def _write_parquet(
    rows: Iterable[dict[str, Any]], tmp: str, columns: Sequence[str], chunk: int
) -> None:
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    writer: pq.ParquetWriter | None = None
    try:
        for part in _chunks(rows, chunk):
            table = pa.Table.from_pandas(
                pd.DataFrame(part, columns=list(columns)), preserve_index=False
            )
            if writer is None:
                writer = pq.ParquetWriter(tmp, table.schema)
            writer.write_table(table.cast(writer.schema))
        if writer is None:
            pd.DataFrame([], columns=list(columns)).to_parquet(tmp, index=False)
    finally:
        if writer is not None:
            writer.close()


def _parquet_rows(path: str) -> int:
    import pyarrow.parquet as pq

    return int(pq.ParquetFile(path).metadata.num_rows)
