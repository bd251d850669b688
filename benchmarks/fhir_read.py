"""Reading FHIR Bulk Data (NDJSON) against reading the same cohort from JSON Lines.

Run:  python benchmarks/fhir_read.py [--patients 10000] [--repeat 3] [--folder DIR]

The cohort is synthetic, ``high-dose-rescue`` profile (ten years of follow-up: about 400 FHIR
resources per patient, most of them single-value Observations). It is written once as JSON Lines
and as a Bulk folder (``Patient.ndjson``, ``Observation.ndjson``, ...) with cmltrack's own
writers, then read back with ``cmltrack.io.load_records`` -- the path every command takes.
Prints, for each reader, the best of ``--repeat`` runs in CPU seconds of this one process
(one core; the readers are single-threaded) and in wall seconds, patients per second, the
file sizes, and the ratio FHIR / JSON Lines in patients per second (goal: >= 0.5). With
``--folder`` the written files are kept there (and reused if present).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import resource
import tempfile
import time
from pathlib import Path

from cmltrack.io import load_records, write_jsonl
from cmltrack.io.fhir.writer import canonical, write_fhir_ndjson
from cmltrack.synth import generate_cohort

TODAY = dt.date(2026, 1, 1)


def _size_mb(path: Path) -> float:
    files = [path] if path.is_file() else list(path.iterdir())
    return sum(p.stat().st_size for p in files) / 1e6


def _best(path: Path, repeat: int) -> tuple[float, float, int]:
    """Best CPU and wall seconds of ``repeat`` reads, and the record count."""
    cpu, wall, n = float("inf"), float("inf"), 0
    for _ in range(repeat):
        gc.collect()
        c0, w0 = time.process_time(), time.perf_counter()
        n = len(load_records(path, today=TODAY))
        cpu = min(cpu, time.process_time() - c0)
        wall = min(wall, time.perf_counter() - w0)
    return cpu, wall, n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--patients", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--folder", type=Path, default=None)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        d = args.folder or Path(tmp)
        d.mkdir(parents=True, exist_ok=True)
        jsonl, bulk = d / f"cohort-{args.patients}.jsonl", d / f"bulk-{args.patients}"
        if not (jsonl.exists() and bulk.exists()):
            records = list(generate_cohort(args.patients, args.seed, "high-dose-rescue"))
            write_jsonl(records, jsonl)
            write_fhir_ndjson(records, bulk)
            del records
        resources_n = sum(1 for p in bulk.iterdir() for _ in p.open("rb"))
        print(f"cohort: {args.patients:,} synthetic patients (high-dose-rescue, 10 years), "
              f"{resources_n:,} FHIR resources ({resources_n / args.patients:,.0f} per patient)")
        print(f"files: JSON Lines {_size_mb(jsonl):,.0f} MB; Bulk NDJSON {_size_mb(bulk):,.0f} MB")
        j_cpu, j_wall, nj = _best(jsonl, args.repeat)
        f_cpu, f_wall, nf = _best(bulk, args.repeat)
        assert nj == nf == args.patients
        # The two forms read into the same records (FHIR gives the spec's canonical order).
        sample = load_records(jsonl, today=TODAY)[:200]
        assert [canonical(r) for r in sample] == load_records(bulk, today=TODAY)[:200]
        for label, cpu, wall in (("JSON Lines", j_cpu, j_wall), ("FHIR Bulk NDJSON", f_cpu,
                                                                 f_wall)):
            print(f"{label:<18} cpu {cpu:7.2f} s  {args.patients / cpu:8,.0f} patients/s   "
                  f"wall {wall:7.2f} s  {args.patients / wall:8,.0f} patients/s")
        print(f"ratio FHIR / JSON Lines (patients/s, cpu): {j_cpu / f_cpu:.2f}  (wall: "
              f"{j_wall / f_wall:.2f}; goal >= 0.50)")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak RSS {peak:,.0f} MB")


if __name__ == "__main__":
    main()
