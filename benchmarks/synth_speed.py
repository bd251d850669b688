"""Speed of ``cmltrack synth``: patients per second and peak memory for a large cohort.

    python benchmarks/synth_speed.py [--patients 1000000] [--workers 2] [--format jsonl|csv]

Writes to a temporary folder (deleted afterwards) and prints one JSON line. Peak memory is the
largest resident set of this process and of its worker processes (resource.getrusage); CPU
seconds add up all processes, so ``cpu_seconds / workers`` is the wall time on an idle machine.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

from cmltrack.synth import write_cohort


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--patients", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--batch-size", type=int, default=10_000)
    ap.add_argument("--profile", default="first-line")
    ap.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="synth-speed-"))
    out = tmp / ("cohort.jsonl" if args.format == "jsonl" else "cohort")
    try:
        t0 = time.perf_counter()
        write_cohort(args.patients, args.seed, out, args.profile, batch_size=args.batch_size,
                     workers=args.workers)
        seconds = time.perf_counter() - t0
        size = (out.stat().st_size if out.is_file()
                else sum(p.stat().st_size for p in out.iterdir()))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    own, children = me.ru_maxrss / 1024, kids.ru_maxrss / 1024
    # CPU seconds of all processes: on a busy machine, cpu / cores is the idle-machine wall time
    cpu = me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime
    print(json.dumps({
        "patients": args.patients, "workers": args.workers, "batch_size": args.batch_size,
        "format": args.format, "profile": args.profile, "seconds": round(seconds, 1),
        "patients_per_second": round(args.patients / seconds),
        "cpu_seconds": round(cpu, 1), "megabytes_written": round(size / 1e6),
        "peak_rss_mb_main": round(own), "peak_rss_mb_worker": round(children),
    }))


if __name__ == "__main__":
    main()
