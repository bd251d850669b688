"""The long coverage-guided fuzz run: every reader's atheris target in turn, niced.

    PYTHONPATH=src nice -n 19 python tests/fuzz/run_long.py --minutes 60

The time is shared equally by the readers (``--readers json,jsonl,csv,stats,fhir,fhir-ndjson``).
Each target starts from the seed corpus in ``tests/fuzz/corpus/READER`` and the past findings in
``tests/fuzz/regressions/READER``, grows a working corpus under ``--work`` (outside the
repository; it is large), and is restarted if libFuzzer stops on a hang (over 20 s) or a
memory overrun (over 1 GB); the input it stopped on is copied into ``regressions/READER`` so
that the CI suite replays it from then on. At the end it prints, per reader, the inputs tried
and how they ended (exit 0, exit 2, other), the hangs and memory overruns, and the true time
spent. A finding is fixed in the reader and its input stays in ``regressions/`` for good.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
TARGET = HERE / "atheris_target.py"


def _run_reader(reader: str, seconds: float, work: Path) -> dict[str, float]:
    corpus = work / "corpus" / reader
    artifacts = work / "artifacts" / reader
    corpus.mkdir(parents=True, exist_ok=True)
    artifacts.mkdir(parents=True, exist_ok=True)
    seeds = [HERE / "corpus" / reader, HERE / "regressions" / reader]
    totals: dict[str, float] = {"ok": 0, "refused": 0, "other": 0, "hang": 0, "memory": 0,
                                "slow": 0, "runs": 0}
    deadline = time.monotonic() + seconds
    start = time.monotonic()
    while (left := deadline - time.monotonic()) > 5:
        counts = work / f"counts-{reader}-{int(totals['runs'])}.json"
        before = set(artifacts.iterdir())
        cmd = [sys.executable, str(TARGET), reader, str(corpus),
               *[str(s) for s in seeds if s.is_dir()],
               f"-max_total_time={int(left)}", "-timeout=20", "-rss_limit_mb=1024",
               "-max_len=200000", f"-artifact_prefix={artifacts}/", "-print_final_stats=1"]
        env = {**os.environ, "CMLTRACK_FUZZ_COUNTS": str(counts)}
        log = work / f"log-{reader}-{int(totals['runs'])}.txt"
        with log.open("w") as fh:
            subprocess.run(cmd, env=env, stdout=fh, stderr=subprocess.STDOUT, check=False)
        totals["runs"] += 1
        if counts.exists():
            for k, v in json.loads(counts.read_text()).items():
                totals[k] += v
        for art in set(artifacts.iterdir()) - before:
            if art.name.startswith("slow-unit"):
                # libFuzzer notes an input over 10 s (instrumented) and goes on; over 20 s
                # it stops with a timeout-*: only that is a hang.
                totals["slow"] += 1
                print(f"{reader}: {art.name} ran over 10 s instrumented (not a hang)")
                continue
            kind = "hang" if art.name.startswith("timeout") else (
                "memory" if art.name.startswith("oom") else "other")
            totals[kind] += kind != "other"
            dest = HERE / "regressions" / reader
            dest.mkdir(parents=True, exist_ok=True)
            shutil.copy(art, dest / art.name)
            print(f"{reader}: {art.name} kept in {dest}", flush=True)
    totals["seconds"] = time.monotonic() - start
    return totals


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=float, default=60)
    ap.add_argument("--readers", default="json,jsonl,csv,stats,fhir,fhir-ndjson")
    ap.add_argument("--work", type=Path, default=Path("/tmp/cmltrack-fuzz"))
    args = ap.parse_args()
    readers = args.readers.split(",")
    results = {r: _run_reader(r, args.minutes * 60 / len(readers), args.work) for r in readers}
    print("| reader | minutes | inputs (counted) | exit 0 | exit 2 | other | hangs | memory "
          "| slow (> 10 s) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r, t in results.items():
        n = t["ok"] + t["refused"] + t["other"]
        print(f"| {r} | {t['seconds'] / 60:.1f} | {n:.0f} | {t['ok']:.0f} | {t['refused']:.0f} "
              f"| {t['other']:.0f} | {t['hang']:.0f} | {t['memory']:.0f} | {t['slow']:.0f} |")


if __name__ == "__main__":
    main()
