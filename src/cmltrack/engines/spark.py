"""The Spark engine: the per-patient pipeline on a Spark cluster, with the CLI's answers.

Per-patient work runs in the executors (``mapInArrow``) through the same functions the CLI
calls: :func:`cmltrack.io.jsonio.record_from_text` reads and validates a line,
:func:`cmltrack.domain.assess.assess` judges it. Each input line becomes one row holding its
position in the input, so the driver can

- refuse the input as the file reader would: the first refused record in input order (or a
  patient id seen before) raises the same :class:`InputError`, before anything is written;
- write JSON Lines in input order (``toLocalIterator`` over the rows sorted by position), or a
  Parquet dataset with ``--out DIR`` (written by the executors; a local target is replaced
  only once it is complete).

Input: JSON Lines (``.jsonl``/``.ndjson``, optionally ``.gz``; a file or a folder of them) or
Parquet (one patient per row in the record contract's shape, as ``spark.read.json(...)`` writes
it), from any path Spark reads. PySpark is imported only here, inside the functions.

Lines are numbered without a pass through the driver: Spark reports each row's file and split
(``_metadata.file_block_start``), a first aggregate counts the rows per split, and each row's
line is the lines of the earlier splits plus its place in its own.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import shutil
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from cmltrack.domain.assess import Assessment, assess
from cmltrack.domain.options import AssessOptions
from cmltrack.domain.records import PatientRecord
from cmltrack.engines._kernel import HEAD, Numbering, Payload, error_from_json, process_batches
from cmltrack.errors import InputError
from cmltrack.io.jsonio import duplicate_id
from cmltrack.stats.tables import patient_tables

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, Row, SparkSession

#: (name, Arrow type, Spark DDL) of a payload column.
Field = tuple[str, pa.DataType, str]

_ENDPOINT_FIELDS = (
    ("USUBJID", pa.string(), "string"),
    ("PARAMCD", pa.string(), "string"),
    ("PARAM", pa.string(), "string"),
    ("AVAL", pa.float64(), "double"),
    ("CNSR", pa.int64(), "bigint"),
    ("STARTDT", pa.string(), "string"),
    ("ADT", pa.string(), "string"),
    ("EVNTDESC", pa.string(), "string"),
    ("SRCDOM", pa.string(), "string"),
    ("SRCVAR", pa.string(), "string"),
    ("CMPEVNT", pa.int64(), "bigint"),
)
ENDPOINT_ROWS: Field = (
    "rows",
    pa.list_(pa.struct([(n, t) for n, t, _ in _ENDPOINT_FIELDS])),
    "rows array<struct<" + ",".join(f"{n}:{d}" for n, _, d in _ENDPOINT_FIELDS) + ">>",
)
ASSESSMENT_OUT: Field = ("out", pa.string(), "out string")
BASELINE_ROW: Field = ("baseline", pa.string(), "baseline string")


def start(master: str = "local[*]") -> SparkSession:
    """A Spark session on ``master``: ``local[N]``, a cluster URL, or Spark Connect ``sc://``."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:  # pragma: no cover - the extra is installed in CI
        raise InputError(
            "the Spark engine needs PySpark: pip install 'cmltrack[spark]'",
            code="bad_argument", field="--engine",
        ) from None
    if master.startswith("sc://"):
        return SparkSession.builder.remote(master).getOrCreate()
    builder = SparkSession.builder.master(master).appName("cmltrack")
    builder = builder.config("spark.ui.enabled", "false").config(
        "spark.ui.showConsoleProgress", "false"
    )
    if master.startswith("local"):
        # The counts summarize aggregates are small: a few shuffle partitions, not 200.
        builder = builder.config("spark.sql.shuffle.partitions", "8")
        if "PYSPARK_PYTHON" not in os.environ:
            # Local workers run this interpreter (the one with cmltrack), not any python3.
            builder = builder.config("spark.pyspark.python", sys.executable)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def _is_remote(path: str) -> bool:
    return "://" in path and not path.startswith("file://")


def input_format(path: str) -> str:
    """'jsonl' or 'parquet', from the name (a local folder: from the files in it)."""
    name = path.rstrip("/").lower().removesuffix(".gz")
    if name.endswith(".parquet"):
        return "parquet"
    if name.endswith((".jsonl", ".ndjson")):
        return "jsonl"
    local = Path(path)
    if not _is_remote(path) and local.is_dir():
        if any(local.glob("*.parquet")):
            return "parquet"
        if any(local.glob("*.jsonl*")) or any(local.glob("*.ndjson*")):
            return "jsonl"
    raise InputError(
        "the Spark engine reads JSON Lines (.jsonl, .ndjson, optionally .gz) or Parquet "
        "(a file or a folder of them)",
        code="bad_format", file=path,
    )


@dataclass(frozen=True)
class Source:
    """Input rows (text, file, block, index) and how to number them."""

    frame: DataFrame
    numbering: Numbering
    name: str  # the input as the single engine's messages name it


def read_source(spark: SparkSession, path: str) -> Source:
    """The input as rows of record text, numbered in input order (see the module note)."""
    from pyspark.sql import functions as F

    if not _is_remote(path) and not Path(path.removeprefix("file://")).exists():
        raise InputError("no such file or folder", code="not_found", file=path)
    fmt = input_format(path)
    if fmt == "parquet":
        raw = spark.read.parquet(path)
        data = [F.col(f"`{c}`") for c in raw.columns]
        frame = raw.select(
            # Absent fields are null in a Parquet row; to_json leaves them out, as JSON would.
            F.to_json(F.struct(*data)).alias("text"),
            F.col("_metadata.file_path").alias("file"),
            F.lit(0).cast("bigint").alias("block"),
            F.col("_metadata.row_index").alias("index"),
        )
        counts = frame.groupBy("file", "block").agg(
            F.count("*").alias("n"), F.lit(0).cast("bigint").alias("first")
        )
        unit = "row"
    else:
        raw = spark.read.text(path)
        frame = raw.select(
            F.col("value").alias("text"),
            F.col("_metadata.file_path").alias("file"),
            F.col("_metadata.file_block_start").alias("block"),
            F.monotonically_increasing_id().alias("index"),
        )
        counts = frame.groupBy("file", "block").agg(
            F.count("*").alias("n"), F.min("index").alias("first")
        )
        unit = "line"
    blocks: dict[tuple[str, int], tuple[int, int, int]] = {}
    pos = 0
    line: dict[str, int] = {}
    for r in sorted(counts.collect(), key=lambda r: (r["file"], r["block"])):
        base = line.get(r["file"], 0)
        blocks[(r["file"], r["block"])] = (r["first"], base, pos)
        line[r["file"]] = base + r["n"]
        pos += r["n"]
    name = path if _is_remote(path) else str(Path(path.removeprefix("file://")))
    single = len(line) == 1 and not Path(name).is_dir()
    labels = {
        uri: name if single else (uri.removeprefix("file:") if uri.startswith("file:/") else uri)
        for uri in line
    }
    return Source(frame, Numbering(blocks, labels, unit), name)


def per_patient(
    source: Source,
    payload: Payload,
    fields: tuple[Field, ...],
    *,
    today: dt.date,
    fail_once: str | None = None,
) -> DataFrame:
    """One row per record (position, file, path, id, error or payload), computed once and kept.

    ``fail_once`` (a file path; tests only) kills one Python worker once, so the tests see
    Spark retry a task without the retry duplicating any output.
    """
    from pyspark import StorageLevel

    all_fields = (*HEAD, *fields)
    schema = pa.schema([(n, t) for n, t, _ in all_fields])
    fn = functools.partial(
        process_batches, numbering=source.numbering, payload=payload, schema=schema,
        today=today, fail_once=fail_once,
    )
    ddl = ", ".join(d for _, _, d in all_fields)
    return source.frame.mapInArrow(fn, ddl).persist(StorageLevel.MEMORY_AND_DISK)


def accepted(
    results: DataFrame,
    on_error: Callable[[InputError], None] | None = None,
    *,
    allow_empty: bool = False,
    file: str = "",
) -> DataFrame:
    """The rows of accepted records; refusals as the file reader makes them.

    Without ``on_error`` the first refusal in input order is raised (nothing has been written
    yet); with it every refusal is passed there in input order and the rest go on. A record
    whose patient id an earlier accepted record has is refused as a duplicate. An input
    without a single record is refused unless ``allow_empty``.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    if not allow_empty and results.limit(1).count() == 0:
        raise InputError(
            "holds no patient records (use --allow-empty if that is expected)",
            code="empty", file=file,
        )
    ok = results.filter(F.col("error").isNull())
    refused = results.filter(F.col("error").isNotNull()).select("pos", "error")
    repeated = ok.groupBy("id").count().filter(F.col("count") > 1).select("id")
    dups = None
    if repeated.limit(1).count():
        order = Window.partitionBy("id").orderBy("pos")
        dups = (
            ok.join(repeated, "id")
            .withColumn("k", F.row_number().over(order))
            .filter(F.col("k") > 1)
            .select("pos", "id", "file", "at")
        )
    def first(frame: DataFrame) -> list[Row]:
        ordered = frame.orderBy("pos")
        return (ordered if on_error is not None else ordered.limit(1)).collect()

    errors: list[tuple[int, InputError]] = []
    errors += [(r["pos"], error_from_json(r["error"])) for r in first(refused)]
    if dups is not None:
        found = first(dups)
        errors += [
            (r["pos"], duplicate_id(r["id"], file=r["file"], path=r["at"])) for r in found
        ]
    errors.sort(key=lambda e: e[0])
    if errors and on_error is None:
        raise errors[0][1]
    for _, exc in errors:
        assert on_error is not None
        on_error(exc)
    return ok if dups is None else ok.join(dups.select("pos"), "pos", "left_anti")


def in_order(frame: DataFrame, *columns: str) -> Iterator[Row]:
    """The rows sorted by input position, streamed to the driver a partition at a time."""
    return frame.orderBy("pos").select(*columns).toLocalIterator(prefetchPartitions=True)


def write_dataset(frame: DataFrame, out: str, *, partition_by: str | None = None) -> None:
    """Write a Parquet dataset; a local target is replaced only once the new one is complete."""
    writer = frame.write
    if partition_by is not None:
        writer = writer.partitionBy(partition_by)
    if _is_remote(out):
        writer.mode("overwrite").parquet(out)
        return
    target = Path(out.removeprefix("file://"))
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{target.name}.{uuid.uuid4().hex}.tmp"
    old = target.parent / f".{target.name}.{uuid.uuid4().hex}.old"
    try:
        writer.parquet(str(tmp))
        if target.exists():
            os.replace(target, old)
        os.replace(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)


# --- payloads: what the executors compute from one accepted record --------------------------


def assessment_line(
    record: PatientRecord,
    *,
    options: AssessOptions,
    as_of: dt.date | None,
    render: Callable[[Assessment], str],
) -> dict[str, Any]:
    """The CLI's output line for one patient (``render`` is the CLI's own formatter)."""
    return {"out": render(assess(record, options=options, as_of=as_of))}


def endpoint_rows(
    record: PatientRecord, *, options: AssessOptions, baseline: bool = False
) -> dict[str, Any]:
    """One patient's ADTTE rows and (JSON) baseline row, as ``derive_cohort_tables`` makes
    them."""
    (ends, base), = patient_tables([record], options, baseline=baseline)
    return {"rows": ends, "baseline": None if base is None else json.dumps(base)}
