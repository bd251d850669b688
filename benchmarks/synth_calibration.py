"""Calibration of the synthetic-cohort generator against published figures.

    python benchmarks/synth_calibration.py [--patients 20000] [--seed 1] [--json]

Generates first-line patients with the calibration accrual (diagnosed 2004-2013, so every
patient has 12 years of potential follow-up), measures every target of the calibration table
(shared/reference/synthetic-cohort.md 4.9) from the generated records, and prints target,
measured value, tolerance and pass/fail. Exit status 1 if any target fails. The same check is
``cmltrack synth --validate``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from cmltrack.synth.calibration import CALIBRATION_N, format_table, run_calibration


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--patients", type=int, default=CALIBRATION_N)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    t0 = time.perf_counter()
    rows = run_calibration(args.patients, args.seed)
    seconds = time.perf_counter() - t0
    if args.json:
        print(json.dumps({"patients": args.patients, "seed": args.seed,
                          "seconds": round(seconds, 1),
                          "targets": [r.to_dict() for r in rows]}))
    else:
        print(f"{args.patients:,} first-line patients, seed {args.seed}, {seconds:.1f} s")
        print(format_table(rows))
    return 0 if all(r.passed for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
