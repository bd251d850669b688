"""Timing of the cohort statistics, side by side with R where R is installed.

Run:  python benchmarks/stats.py [--scale 1.0] [--no-r]

Kaplan-Meier with log-rank on 1,000,000 subjects in 4 groups, Cox regression (Efron and
Breslow) on 200,000 subjects with 5 covariates, cumulative incidence with Gray's test on
200,000 subjects in 3 groups, and Simon's design search for p0 = 0.05, p1 = 0.25. The data are
simulated with a fixed seed; with Rscript on the PATH the same data go through survival::survfit
+ survdiff, survival::coxph and cmprsk::cuminc, and the ratio R / cmltrack is printed.
``--scale`` shrinks or grows every data set (0.1 for a quick look).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from cmltrack.stats import cox_ph, cumulative_incidence, kaplan_meier, simon_two_stage

R_SCRIPT = r"""
suppressPackageStartupMessages({library(survival); library(cmprsk)})
args <- commandArgs(TRUE)
tm <- function(expr) unname(system.time(expr)[["elapsed"]])
km <- read.csv(args[1]); cx <- read.csv(args[2]); cr <- read.csv(args[3])
t_km <- tm({f <- survfit(Surv(time, event) ~ group, data = km)
            s <- summary(f, times = c(12, 24, 36), extend = TRUE)
            q <- quantile(f, 0.5)
            d <- survdiff(Surv(time, event) ~ group, data = km)})
t_efron <- tm(coxph(Surv(time, event) ~ x1 + x2 + x3 + x4 + x5, data = cx, ties = "efron"))
t_breslow <- tm(coxph(Surv(time, event) ~ x1 + x2 + x3 + x4 + x5, data = cx, ties = "breslow"))
t_cif <- tm({z <- cuminc(cr$time, cr$status, cr$group); p <- timepoints(z, c(12, 24))})
cat(sprintf("%s=%.6f\n", c("km", "cox_efron", "cox_breslow", "cif"),
            c(t_km, t_efron, t_breslow, t_cif)), sep = "")
"""


def simulate(scale: float) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(2026)
    n = int(1_000_000 * scale)
    g = rng.integers(0, 4, n)
    t = np.round(rng.exponential(20 * (1 + 0.2 * g)), 1)
    c = np.round(rng.uniform(0, 60, n), 1)
    km = pd.DataFrame({"time": np.minimum(t, c), "event": (t <= c).astype(int), "group": g})

    n = int(200_000 * scale)
    x = np.round(rng.normal(size=(n, 5)), 3)
    lin = x @ np.array([0.5, -0.3, 0.2, 0.0, 0.1])
    t = np.ceil(rng.exponential(20 * np.exp(-lin)))  # whole months: many ties
    c = np.ceil(rng.uniform(0, 60, n))
    cx = pd.DataFrame(x, columns=[f"x{i}" for i in range(1, 6)])
    cx.insert(0, "event", (t <= c).astype(int))
    cx.insert(0, "time", np.minimum(t, c))

    t = np.round(rng.exponential(20, n), 2)
    c = np.round(rng.uniform(0, 60, n), 2)
    status = np.where(t <= c, rng.integers(1, 3, n), 0)
    cr = pd.DataFrame({"time": np.minimum(t, c), "status": status, "group": rng.integers(0, 3, n)})
    return km, cx, cr


def timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def run_r(frames: tuple[pd.DataFrame, ...]) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for name, frame in zip(("km", "cox", "cif"), frames, strict=True):
            path = os.path.join(tmp, f"{name}.csv")
            frame.to_csv(path, index=False)
            paths.append(path)
        script = os.path.join(tmp, "bench.R")
        with open(script, "w") as fh:
            fh.write(R_SCRIPT)
        out = subprocess.run(
            ["Rscript", script, *paths], capture_output=True, text=True, check=True
        ).stdout
    return {k: float(v) for k, v in (line.split("=") for line in out.split())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--no-r", action="store_true", help="skip the R timings")
    args = ap.parse_args()
    km, cx, cr = simulate(args.scale)
    covs = cx[["x1", "x2", "x3", "x4", "x5"]].to_numpy()
    ours = {
        "km": timed(lambda: kaplan_meier(km.time, km.event, km.group, at=[12, 24, 36])),
        "cox_efron": timed(lambda: cox_ph(cx.time, cx.event, covs, ties="efron")),
        "cox_breslow": timed(lambda: cox_ph(cx.time, cx.event, covs, ties="breslow")),
        "cif": timed(lambda: cumulative_incidence(cr.time, cr.status, cr.group, at=[12, 24])),
        "simon": timed(lambda: simon_two_stage(0.05, 0.25)),
    }
    theirs: dict[str, float] = {}
    if not args.no_r and shutil.which("Rscript"):
        theirs = run_r((km, cx, cr))
    labels = {
        "km": f"Kaplan-Meier + log-rank, {len(km):,} subjects, 4 groups",
        "cox_efron": f"Cox (Efron), {len(cx):,} subjects x 5 covariates",
        "cox_breslow": f"Cox (Breslow), {len(cx):,} subjects x 5 covariates",
        "cif": f"cumulative incidence + Gray's test, {len(cr):,} subjects, 3 groups",
        "simon": "Simon optimal + minimax search, p0 = 0.05, p1 = 0.25 (n <= 100)",
    }
    print(f"command: python benchmarks/stats.py --scale {args.scale:g}")
    print(f"{'task':<68} {'cmltrack s':>10} {'R s':>8} {'R/ours':>7}")
    for key, label in labels.items():
        r = theirs.get(key)
        r_txt = f"{r:8.2f}" if r is not None else "       -"
        ratio = f"{r / ours[key]:7.2f}" if r is not None else "      -"
        print(f"{label:<68} {ours[key]:10.2f} {r_txt} {ratio}")
    if not theirs:
        print("R timings: skipped (no Rscript on the PATH, or --no-r)", file=sys.stderr)


if __name__ == "__main__":
    main()
