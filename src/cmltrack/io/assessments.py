"""Assessments as tables: one row per patient for spreadsheets and analysis (``assess --format
csv|parquet``), beside the full contract JSON Lines (``--format jsonl``).

A row holds the standing (``current``: status, phase, drug, dose, best responses, and whatever
else the contract's ``current`` carries), the baseline risk scores and groups, the milestones
as ``month: status`` and the events, recommended actions and rule ids joined by ``; ``.
Nested detail stays in the JSON form.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TextIO

from cmltrack.io._atomic import atomic_files

FORMATS = ("text", "jsonl", "csv", "parquet")


def assessment_row(contract: dict[str, Any]) -> dict[str, Any]:
    """A flat row from one assessment contract (``Assessment.to_dict()``)."""
    row: dict[str, Any] = {
        "patient_id": contract["patient_id"],
        "as_of": contract["as_of"],
        "guideline": contract["guideline"],
        "therapy_start": contract.get("therapy_start"),
    }
    for key, value in (contract.get("current") or {}).items():
        row[key] = json.dumps(value) if isinstance(value, dict | list) else value
    for name, score in (contract.get("risk") or {}).items():
        row[f"{name}_score"] = score.get("score")
        row[f"{name}_group"] = score.get("group")
    row["milestones"] = "; ".join(
        f"{m['month']}: {m['status']}" for m in contract.get("milestones") or ()
    )
    row["events"] = "; ".join(
        f"{e['date']} {e['kind']}" for e in contract.get("events") or ()
    )
    recs = contract.get("recommendations") or ()
    row["recommendations"] = "; ".join(r["action"] for r in recs)
    row["rules"] = "; ".join(r["rule"] for r in recs)
    return row


def write_assessments(
    contracts: Iterable[dict[str, Any]], fmt: str, out: Path | None, stdout: TextIO
) -> int:
    """Write assessment contracts as ``fmt`` to ``out`` (atomically; gzip for ``.gz``) or to
    ``stdout``; returns the number written. Parquet needs ``out``."""
    if fmt == "parquet":
        import pandas as pd

        assert out is not None
        rows = [assessment_row(c) for c in contracts]
        tmp = out.with_name(f".{out.name}.tmp")
        try:
            pd.DataFrame(rows).to_parquet(tmp, index=False)
            tmp.replace(out)
        finally:
            tmp.unlink(missing_ok=True)
        return len(rows)
    if out is None:
        return _write_text(contracts, fmt, stdout)
    with atomic_files([out], newline="" if fmt == "csv" else None) as (fh,):
        return _write_text(contracts, fmt, fh)


def _write_text(contracts: Iterable[dict[str, Any]], fmt: str, fh: TextIO) -> int:
    n = 0
    if fmt == "jsonl":
        encode = _COMPACT.encode  # json.dumps(c, separators=(",", ":")), one encoder for all
        for c in contracts:
            fh.write(encode(c) + "\n")
            n += 1
        return n
    writer: csv.DictWriter[str] | None = None
    for row in _rows(contracts):
        if writer is None:
            writer = csv.DictWriter(fh, fieldnames=list(row), extrasaction="ignore")
            writer.writeheader()
        writer.writerow(row)
        n += 1
    return n


_COMPACT = json.JSONEncoder(separators=(",", ":"))


def _rows(contracts: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for c in contracts:
        yield assessment_row(c)
