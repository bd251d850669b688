"""What a Spark executor runs on each batch of input lines: read, validate, compute.

No PySpark here (only pyarrow, which the executors have), so the module is importable and
testable without Spark. Each input line gives exactly one output row: its position in the
input, where it came from, the patient id, and either the payload computed from the record
or the error that refused it (as JSON, rebuilt into the same :class:`InputError` on the
driver).
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from cmltrack.domain.records import PatientRecord
from cmltrack.errors import InputError
from cmltrack.io.jsonio import record_from_text

#: Fields of an InputError carried from an executor to the driver.
_ERROR_FIELDS = ("code", "file", "row", "path", "field", "patient")

#: Columns every kernel writes before its payload columns.
HEAD = (
    ("pos", pa.int64(), "pos bigint"),
    ("file", pa.string(), "file string"),
    ("at", pa.string(), "at string"),
    ("id", pa.string(), "id string"),
    ("error", pa.string(), "error string"),
)

Payload = Callable[[PatientRecord], dict[str, Any]]


def error_to_json(exc: InputError) -> str:
    return json.dumps({"message": exc.message, **{k: getattr(exc, k) for k in _ERROR_FIELDS}})


def error_from_json(text: str) -> InputError:
    data = json.loads(text)
    return InputError(data.pop("message"), **data)


@dataclass(frozen=True, slots=True)
class Numbering:
    """How to turn (file, block, index) of a row into its line (or row) and input position.

    ``blocks[(file, block)] = (first_index, line_base, pos_base)``: the index (Spark's
    monotonically increasing id, or the Parquet row index) of the block's first row, the
    number of lines of the same file before the block, and of all input before it.
    """

    blocks: Mapping[tuple[str, int], tuple[int, int, int]]
    labels: Mapping[str, str]  # file URI -> the name the messages give it
    unit: str  # "line" (JSON Lines) or "row" (Parquet)


def process_batches(
    batches: Iterable[pa.RecordBatch],
    *,
    numbering: Numbering,
    payload: Payload,
    schema: pa.Schema,
    today: dt.date,
    fail_once: str | None = None,
) -> Iterator[pa.RecordBatch]:
    """Records from batches of (text, file, block, index) rows -> one output row each."""
    for batch in batches:
        if fail_once is not None and not os.path.exists(fail_once):
            # Fault injection for the tests: this worker dies once, mid-job, like a lost executor.
            with open(fail_once, "w"):
                pass
            os._exit(3)
        cols = batch.to_pydict()
        rows: list[dict[str, Any]] = []
        for text, uri, block, index in zip(
            cols["text"], cols["file"], cols["block"], cols["index"], strict=True
        ):
            first, line_base, pos_base = numbering.blocks[(uri, block)]
            n = index - first
            line = line_base + n + 1
            label = numbering.labels.get(uri, uri)
            where = f"{numbering.unit} {line}"
            at = f"{where}, $"
            row: dict[str, Any] = {"pos": pos_base + n, "file": label, "at": at}
            try:
                if line == 1 and text.startswith("\ufeff"):
                    text = text[1:]  # the byte-order mark the file reader drops (utf-8-sig)
                record = record_from_text(text, file=label, where=where, prefix=at, today=today)
                if record is None:
                    continue  # a blank line, skipped as the file reader skips it
                row["id"] = record.id
                row.update(payload(record))
            except InputError as exc:
                row["error"] = error_to_json(exc)
            rows.append(row)
        out = {name: [r.get(name) for r in rows] for name in schema.names}
        yield pa.RecordBatch.from_pydict(out, schema=schema)
