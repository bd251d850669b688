"""The whole cohort pipeline at scale: generate, read, assess, write.

Run:  python benchmarks/cohort.py [--patients 100000] [--seed 1]

Stages, each timed on one core (workers=1) and reported in patients per second:
1. generate N synthetic patients to JSON Lines (cmltrack.synth.cohort.write_cohort);
2. read them back through the normal reader (cmltrack.io.read_records: every record validated);
3. assess each (responses, phase, risk, toxicity, milestones, events, recommendations);
4. write the assessments as JSON Lines.
Stages 2-4 run as one stream (the way `cmltrack assess FILE --json > out.jsonl` runs), so the
memory is bounded by one record; their times are split by accumulating per-stage timers.
Peak memory is the process's maximum resident set size.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time

from cmltrack.domain.assess import assess
from cmltrack.io import read_records
from cmltrack.synth.cohort import DEFAULT_AS_OF, write_cohort


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--patients", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    n = args.patients
    print(f"command: python benchmarks/cohort.py {' '.join(sys.argv[1:])}".rstrip())
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "cohort.jsonl")
        t0 = time.perf_counter()
        write_cohort(n, args.seed, src)
        t_gen = time.perf_counter() - t0
        size_mb = os.path.getsize(src) / 2**20

        out_path = os.path.join(tmp, "assessments.jsonl")
        t_read = t_assess = t_write = 0.0
        count = 0
        with open(out_path, "w") as out:
            it = read_records(src, today=DEFAULT_AS_OF)
            while True:
                a0 = time.perf_counter()
                rec = next(it, None)
                a1 = time.perf_counter()
                t_read += a1 - a0
                if rec is None:
                    break
                result = assess(rec)
                a2 = time.perf_counter()
                out.write(json.dumps(result.to_dict(), separators=(",", ":")) + "\n")
                t_assess += a2 - a1
                t_write += time.perf_counter() - a2
                count += 1
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    total = t_read + t_assess + t_write
    print(f"patients: {count:,} (JSON Lines input {size_mb:,.0f} MB)")
    print(f"generate : {t_gen:8.1f} s  {n / t_gen:10,.0f} patients/s")
    print(f"read     : {t_read:8.1f} s  {count / t_read:10,.0f} patients/s")
    print(f"assess   : {t_assess:8.1f} s  {count / t_assess:10,.0f} patients/s")
    print(f"write    : {t_write:8.1f} s  {count / t_write:10,.0f} patients/s")
    print(f"pipeline : {total:8.1f} s  {count / total:10,.0f} patients/s (read+assess+write)")
    print(f"peak RSS : {peak:,.0f} MB")


if __name__ == "__main__":
    main()
