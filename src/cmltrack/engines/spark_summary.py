"""``summarize --engine spark``: executors reduce patients to counts, Spark adds them up.

Each executor computes a patient's :func:`~cmltrack.stats.cohort_summary.contribution` (the
same function the single engine calls); Spark counts endpoint rows by (PARAMCD, AVAL, CNSR,
CMPEVNT, group) and landmark rows by (AVAL, CNSR, reached); the driver receives one row per
distinct count key (bounded by the number of distinct days), fills a
:class:`~cmltrack.stats.cohort_summary.Tally` and computes exactly what the single engine
computes from it. The regression's rows (y and the covariates) come back in input order.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from typing import Any

import pyarrow as pa

from cmltrack.domain.options import AssessOptions
from cmltrack.domain.records import PatientRecord
from cmltrack.engines import spark as sp
from cmltrack.stats.cohort_summary import SummarySpec, Tally, contribution

_END = pa.struct(
    [("code", pa.string()), ("aval", pa.float64()), ("cnsr", pa.int64()), ("cmp", pa.int64())]
)
_LANDMARK = pa.struct([("aval", pa.float64()), ("cnsr", pa.int64()), ("reached", pa.bool_())])
FIELDS: tuple[sp.Field, ...] = (
    ("ends", pa.list_(_END), "ends array<struct<code:string,aval:double,cnsr:bigint,cmp:bigint>>"),
    ("group", pa.string(), "group string"),
    ("landmark", _LANDMARK, "landmark struct<aval:double,cnsr:bigint,reached:boolean>"),
    ("reg", pa.string(), "reg string"),
)


def summary_payload(
    record: PatientRecord, *, spec: SummarySpec, options: AssessOptions
) -> dict[str, Any]:
    """A patient's contribution in the executors' column types."""
    c = contribution(record, spec, options)
    lm = c["landmark"]
    return {
        "ends": [dict(zip(("code", "aval", "cnsr", "cmp"), e, strict=True)) for e in c["ends"]],
        "group": c["group"],
        "landmark": None if lm is None else dict(zip(("aval", "cnsr", "reached"), lm, strict=True)),
        "reg": c["reg"],
    }


def tally_on_spark(
    input: str,
    master: str,
    spec: SummarySpec,
    options: AssessOptions,
    *,
    allow_empty: bool = False,
    fail_once: str | None = None,
) -> Tally:
    """The cohort's :class:`Tally`, counted by Spark (refusals as the file reader's)."""
    from pyspark.sql import functions as F

    session = sp.start(master)
    source = sp.read_source(session, input)
    payload = functools.partial(summary_payload, spec=spec, options=options)
    results = sp.per_patient(
        source, payload, FIELDS, today=dt.date.today(), fail_once=fail_once
    )
    try:
        ok = sp.accepted(results, allow_empty=allow_empty, file=source.name)
        t = Tally(patients=ok.count())
        ends = (
            ok.select("group", F.explode("ends").alias("e"))
            .groupBy("e.code", "e.aval", "e.cnsr", "e.cmp", "group")
            .count()
        )
        for r in ends.collect():
            t.ends[(r["code"], r["aval"], r["cnsr"], r["cmp"], r["group"])] = r["count"]
        lm = ok.filter(F.col("landmark").isNotNull())
        t.landmark_rows = lm.count()
        counted = (
            lm.filter(F.col("landmark.aval") >= spec.landmark)
            .groupBy("landmark.aval", "landmark.cnsr", "landmark.reached")
            .count()
        )
        for r in counted.collect():
            t.landmark[(r["aval"], r["cnsr"], r["reached"])] = r["count"]
        t.groups = {r["group"] for r in ok.select("group").distinct().collect()}
        t.reg = [json.loads(r["reg"]) for r in sp.in_order(ok, "reg")]
    finally:
        results.unpersist()
    return t
