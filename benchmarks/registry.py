"""Registry scale: one core, Spark local[1] and local[2], the scaling law, flat memory, and
Kaplan-Meier from a Spark aggregate.

Run:  python benchmarks/registry.py [--patients 10000] [--law 10000,100000] [--spark 5000]
                                    [--km-rows 10000000] [--memory 2000,20000] [--skip ...]

Every figure is printed with the ratio to a baseline measured in the same run:

- ``single``: read + validate + assess (``cmltrack assess --json`` to /dev/null, in-process:
  the CLI's own loop) in patients/s, and the ratio to a raw parse of the same file
  (``orjson.loads`` per line) -- the issue's goal is within 4x of raw parsing; then read +
  validate alone (``read_records``), to show the reader's share of the run.
- ``spark``: the same file through ``--engine spark`` on local[1] and local[2] (wall time,
  session start-up excluded and printed separately), as a ratio to the single engine.
- ``law``: CPU time of the single engine for each cohort size (the 10-year histories of
  ``benchmarks/assess.py``), and the fitted exponent of time ~ n^b.
- ``memory``: peak resident memory of ``cmltrack endpoints`` and ``cmltrack summarize`` (a
  fresh process each) at two cohort sizes; flat means the same peak at both.
- ``km``: ``stats km`` from a Spark aggregate of ``--km-rows`` rows (event and censoring
  counts by time, then the same ``kaplan_meier`` on the arrays rebuilt from the counts),
  against ``kaplan_meier`` on the raw arrays: the same curve, and both times.

The machine may be shared: one-core figures are CPU time (waiting for a core left out) with
wall time beside them; Spark figures are wall time (the executors' CPU is not this process's).
Rerun on a quiet machine for publication.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))
from assess import ten_year_history


def write_cohort(path: Path, n: int) -> None:
    with path.open("w") as fh:
        for i in range(n):
            fh.write(json.dumps(ten_year_history(f"P{i:07d}", seed=i)) + "\n")


def raw_parse(path: Path) -> tuple[float, float]:
    """(wall, CPU) seconds of ``orjson.loads`` on every line of ``path``."""
    w, c = time.perf_counter(), time.process_time()
    with path.open("rb") as fh:
        for line in fh:
            orjson.loads(line)
    return time.perf_counter() - w, time.process_time() - c


def read_validate(path: Path) -> float:
    """CPU seconds of reading and validating every record of ``path`` (no assessment)."""
    import datetime as dt

    from cmltrack.io import read_records

    c = time.process_time()
    for _ in read_records(path, today=dt.date.today()):
        pass
    return time.process_time() - c


def single_assess(path: Path) -> tuple[float, float]:
    """(wall, CPU) seconds of ``cmltrack assess --json`` on ``path``, output discarded."""
    from cmltrack.cli.app import run

    sink = io.StringIO()
    w, c = time.perf_counter(), time.process_time()
    with contextlib.redirect_stdout(sink):
        rc = run(["assess", str(path), "--json"])
    assert rc == 0
    return time.perf_counter() - w, time.process_time() - c


def spark_assess(path: Path, master: str) -> tuple[float, float]:
    """(start-up, run) wall seconds of ``assess --json --engine spark`` in a fresh process."""
    code = (
        "import io, sys, time, contextlib\n"
        "t = time.perf_counter()\n"
        "from cmltrack.engines.spark import start\n"
        f"start({master!r}).range(1).count()\n"
        "up = time.perf_counter() - t\n"
        "from cmltrack.cli.app import run\n"
        "t = time.perf_counter()\n"
        "with open('/dev/null', 'w') as sink, contextlib.redirect_stdout(sink):\n"
        f"    rc = run(['assess', {str(path)!r}, '--json', '--engine', 'spark'])\n"
        "assert rc == 0\n"
        "print(up, time.perf_counter() - t, file=sys.stderr)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    up, run_s = (float(x) for x in out.stderr.strip().splitlines()[-1].split())
    return up, run_s


def peak_rss_mb(argv: list[str]) -> float:
    """Peak resident memory (MB) of a fresh ``cmltrack`` process."""
    code = (
        "import resource, sys\n"
        "from cmltrack.cli.app import run\n"
        f"rc = run({argv!r})\n"
        "assert rc == 0, rc\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return int(out.stderr.strip().splitlines()[-1]) / 1024


def km_from_spark(rows: int, master: str) -> None:
    from cmltrack.engines.spark import start
    from cmltrack.stats.survival import kaplan_meier

    spark = start(master)
    spark.range(1).count()
    # Deterministic synthetic follow-up: months on a 1-day grid up to 10 years, ~30% events.
    expr = (
        "round(pmod(id * 7919, 3653) / 30.4375, 4) AS t",
        "CAST(pmod(id * 104729, 10) < 3 AS INT) AS e",
    )
    frame = spark.range(rows).selectExpr(*expr)
    t0 = time.perf_counter()
    counts = frame.groupBy("t", "e").count().collect()
    t_agg = time.perf_counter() - t0
    t0 = time.perf_counter()
    n = np.array([r["count"] for r in counts], dtype=np.int64)
    times = np.repeat(np.array([r["t"] for r in counts], dtype=float), n)
    events = np.repeat(np.array([r["e"] for r in counts], dtype=np.int64), n)
    km = kaplan_meier(times, events, at=[12, 60, 120])
    t_km = time.perf_counter() - t0
    # The same rows without Spark, to show the curve is the one the raw arrays give.
    ids = np.arange(rows, dtype=np.int64)
    raw_t = np.round(np.mod(ids * 7919, 3653) / 30.4375, 4)
    raw_e = (np.mod(ids * 104729, 10) < 3).astype(np.int64)
    t0 = time.perf_counter()
    direct = kaplan_meier(raw_t, raw_e, at=[12, 60, 120])
    t_direct = time.perf_counter() - t0
    same = json.dumps(km.to_dict()) == json.dumps(direct.to_dict())
    print(f"km      {rows:,} rows: Spark aggregate {t_agg:.1f} s ({len(counts):,} count rows) "
          f"+ kaplan_meier on the rebuilt arrays {t_km:.1f} s; on the raw arrays "
          f"{t_direct:.1f} s; same curve: {same}")
    s = km.to_dict()["groups"][0]
    readings = ", ".join(f"{a['survival']:.4f}" for a in s["at"])
    print(f"        S(12, 60, 120 mo) = {readings}")
    spark.stop()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--patients", type=int, default=10_000, help="single-core throughput")
    ap.add_argument("--spark", type=int, default=5_000, help="patients for the Spark runs")
    ap.add_argument("--law", default="10000,100000", help="cohort sizes for the scaling law")
    ap.add_argument("--memory", default="2000,20000", help="two sizes for peak memory")
    ap.add_argument("--km-rows", type=int, default=10_000_000)
    ap.add_argument("--skip", default="", help="comma list of: single,spark,law,memory,km")
    args = ap.parse_args()
    skip = set(args.skip.split(","))
    print(f"# python benchmarks/registry.py {' '.join(sys.argv[1:])}")
    print(f"# {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f} at start (shared machine)")
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        cache: dict[int, Path] = {}

        def cohort(n: int) -> Path:
            if n not in cache:
                cache[n] = tmp / f"c{n}.jsonl"
                write_cohort(cache[n], n)
            return cache[n]

        if "single" not in skip:
            p = cohort(args.patients)
            raw_w, raw_c = raw_parse(p)
            wall, cpu = single_assess(p)
            rv = read_validate(p)
            n = args.patients
            print(f"single  {n:,} patients: raw orjson parse {n / raw_c:,.0f}/s CPU; read + "
                  f"validate + assess {n / cpu:,.0f}/s CPU ({n / wall:,.0f}/s wall); ratio to "
                  f"raw parsing {cpu / raw_c:.1f}x CPU, {wall / raw_w:.1f}x wall (goal <= 4x)")
            print(f"        of which read + validate alone {n / rv:,.0f}/s CPU "
                  f"({rv / raw_c:.1f}x raw parsing, {100 * rv / cpu:.0f}% of the run); "
                  f"assess, JSON output and start-up the rest")
        if "spark" not in skip:
            p = cohort(args.spark)
            n = args.spark
            base, _ = single_assess(p)
            print(f"spark   {n:,} patients: single engine {n / base:,.0f}/s")
            for master in ("local[1]", "local[2]"):
                up, run_s = spark_assess(p, master)
                print(f"        {master}: {n / run_s:,.0f}/s ({run_s:.1f} s; session start "
                      f"{up:.1f} s), {base / run_s:.2f}x the single engine")
        if "law" not in skip:
            sizes = [int(x) for x in args.law.split(",")]
            times = []
            for n in sizes:
                wall, cpu = single_assess(cohort(n))
                times.append(cpu)
                print(f"law     {n:>9,} patients: {cpu:8.1f} s CPU ({wall:.1f} s wall), "
                      f"{n / cpu:,.0f}/s CPU")
            if len(sizes) >= 2:
                b = math.log(times[-1] / times[0]) / math.log(sizes[-1] / sizes[0])
                per = times[-1] / sizes[-1]
                print(f"        CPU time ~ n^{b:.2f}; 10,000,000 patients on one core: "
                      f"{per * 1e7 / 3600:.1f} h (extrapolated), on N cores / executors: "
                      f"that / N")
        if "memory" not in skip:
            small, big = (int(x) for x in args.memory.split(","))
            for cmd in ("endpoints", "summarize"):
                peaks = []
                for n in (small, big):
                    argv = [cmd, str(cohort(n))]
                    argv += ["--out", str(tmp / "e.csv")] if cmd == "endpoints" else ["--json"]
                    peaks.append(peak_rss_mb(argv))
                print(f"memory  {cmd}: peak {peaks[0]:.0f} MB at {small:,} patients, "
                      f"{peaks[1]:.0f} MB at {big:,} "
                      f"({(peaks[1] - peaks[0]) * 1024 / (big - small):.2f} KB per extra "
                      "patient)")
        if "km" not in skip:
            km_from_spark(args.km_rows, "local[2]")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"# peak memory of this process {peak:.0f} MB")


if __name__ == "__main__":
    main()
