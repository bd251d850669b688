"""Write and read throughput of the three record forms, and the JSON Lines reader's memory.

Run:  python benchmarks/read.py [--patients 100000]

The cohort is the bundled example clinic repeated under new ids (12 courses, about 175 lab
values per patient on average). Prints seconds and patients per second for each writer and
reader, and the peak resident memory while streaming the JSON Lines file, which stays flat
because the reader holds one line at a time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from importlib import resources
from pathlib import Path

from cmltrack.domain.records import PatientRecord
from cmltrack.io import load_records, read_records, write_csv_tables, write_json, write_jsonl

TODAY = dt.date(2026, 1, 1)


def cohort(n: int) -> Iterator[PatientRecord]:
    base = load_records(Path(str(resources.files("cmltrack").joinpath("examples", "csv"))))
    for i in range(n):
        yield base[i % len(base)].model_copy(update={"id": f"B{i:07d}"})


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _time(label: str, n: int, run: Callable[[], object]) -> None:
    t0 = time.perf_counter()
    run()
    dt_s = time.perf_counter() - t0
    print(f"{label:<28} {dt_s:8.2f} s  {n / dt_s:10,.0f} patients/s  peak RSS {_peak_mb():,.0f} MB")


def _count(it: Iterator[PatientRecord]) -> int:
    return sum(1 for _ in it)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--patients", type=int, default=100_000)
    args = ap.parse_args()
    n = args.patients
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        # The JSON Lines reader first, while the process is still small, to show its memory.
        write_jsonl(cohort(n), d / "c.jsonl")
        print(f"JSON Lines file: {(d / 'c.jsonl').stat().st_size / 1e6:,.0f} MB for {n:,} patients")
        _time("read_records (.jsonl)", n, lambda: _count(read_records(d / "c.jsonl", today=TODAY)))
        _time("write_jsonl", n, lambda: write_jsonl(cohort(n), d / "c.jsonl"))
        _time("write_json", n, lambda: write_json(cohort(n), d / "c.json"))
        _time("write_csv_tables", n, lambda: write_csv_tables(cohort(n), d / "csv"))
        _time("read_records (.json)", n, lambda: _count(read_records(d / "c.json", today=TODAY)))
        _time("read_records (CSV folder)", n, lambda: _count(read_records(d / "csv", today=TODAY)))
    print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}")


if __name__ == "__main__":
    main()
