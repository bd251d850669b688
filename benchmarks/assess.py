"""Per-patient assessment time and read+assess throughput.

Run:  python benchmarks/assess.py [--patients 10000]

A 10-year history: about 40 PCR, 60 blood counts and 8 marrow cytogenetic results, with
chemistry at every third visit, built deterministically below. Prints the figures and the
command that reproduces them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import resource
import sys
import tempfile
import time
from typing import Any

from cmltrack.domain.assess import assess
from cmltrack.domain.options import AssessOptions
from cmltrack.domain.records import PatientRecord
from cmltrack.io import read_records


def ten_year_history(pid: str, seed: int = 0) -> dict[str, Any]:
    start = dt.date(2014, 1, 10)
    obs: list[dict[str, Any]] = []
    for i in range(60):  # blood counts every ~2 months
        d = start + dt.timedelta(days=int(i * 61))
        obs.append({
            "date": d.isoformat(), "kind": "blood", "wbc": 6.0 + (i % 5) * 0.3,
            "anc": 3.1, "platelets": 210.0 + (seed % 7), "hemoglobin": 12.8,
            "lymphocytes": 1.6, "blasts_pb": 0, "promyelocytes_pb": 0, "myelocytes_pb": 0,
            "metamyelocytes_pb": 0, "basophils_pb": 1, "eosinophils_pb": 2, "spleen_cm": 0,
        })
        if i % 3 == 0:
            obs.append({"date": d.isoformat(), "kind": "chemistry", "alt": 30, "alt_uln": 40,
                        "ast": 28, "ast_uln": 40, "bilirubin": 0.8, "bilirubin_uln": 1.2,
                        "creatinine": 0.9, "creatinine_uln": 1.1})
    for i in range(40):  # PCR every 3 months, log-linear decline to MR4.5 then stable
        d = start + dt.timedelta(days=int(91.3 * (i + 1)))
        level = max(30.0 * math.exp(-0.9 * (i + 1)), 0.002)
        if level <= 0.002 and i % 4 == 0:
            obs.append({"date": d.isoformat(), "kind": "pcr", "detected": False,
                        "control_gene": "ABL1", "control_copies": 54000})
        else:
            obs.append({"date": d.isoformat(), "kind": "pcr", "bcr_abl1_is": round(level, 5),
                        "control_gene": "ABL1", "control_copies": 48000})
    for i, m in enumerate((0, 3, 6, 12, 18, 24, 36, 48)):
        d = start + dt.timedelta(days=int(30.4375 * m) + 1)
        ph = max(0, 100 - 40 * i)
        obs.append({"date": d.isoformat(), "kind": "cytogenetics", "ph_pos": ph // 5,
                    "metaphases": 20, "aca": []})
    obs.sort(key=lambda o: o["date"])
    return {
        "id": pid, "sex": "F", "birth_date": "1961-03-02",
        "diagnosis": {"date": "2014-01-02", "phase": "chronic", "transcript": "e14a2",
                      "spleen_cm": 4, "wbc": 95.0, "platelets": 480, "hemoglobin": 11.4,
                      "blasts_pb": 2, "basophils_pb": 4, "eosinophils_pb": 3, "aca": []},
        "therapy": [{"drug": "imatinib", "dose_mg_per_day": 400, "start": start.isoformat()}],
        "observations": obs,
        "events": [],
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--patients", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=2000)
    args = ap.parse_args()
    cmd = "python benchmarks/assess.py " + " ".join(sys.argv[1:])

    rec = PatientRecord.model_validate(ten_year_history("B1"))
    n_obs = len(rec.observations)
    opts = AssessOptions()
    assess(rec, options=opts)  # warm caches (rule tables)
    t0 = time.perf_counter()
    for _ in range(args.repeat):
        assess(rec, options=opts)
    per = (time.perf_counter() - t0) / args.repeat

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "cohort.jsonl")
        with open(path, "w") as fh:
            for i in range(args.patients):
                fh.write(json.dumps(ten_year_history(f"P{i:06d}", i)) + "\n")
        t0 = time.perf_counter()
        n = 0
        for r in read_records(path):
            assess(r, options=opts)
            n += 1
        elapsed = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"command: {cmd}")
    print(f"history: {n_obs} observations over 10 years (40 PCR, 60 blood, 8 marrow, 20 chem)")
    print(f"assess one patient (in-process, mean of {args.repeat}): {per * 1e3:.3f} ms")
    print(f"read JSONL + assess {n} patients: {elapsed:.2f} s = {n / elapsed:,.0f} patients/s "
          f"on one core; peak RSS {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
