"""Count how the harness's inputs end: exit 0, exit 2 (one line naming the file), other.

    PYTHONPATH=src python tests/fuzz/count_outcomes.py --examples 300 [--readers json,csv]

The inputs are hypothesis's derandomized draws, so two source trees can be compared on the
same inputs (issue 17's before/after counts: run once with PYTHONPATH at the old tree). Each
'other' is printed with its reason and the start of its files.
"""

from __future__ import annotations

import argparse
import collections
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from hostile import READERS, STRATEGIES, Input, judge
from hypothesis import HealthCheck, given, settings


def _count(reader: str, examples: int, counts: collections.Counter[str],
           findings: list[str]) -> None:
    @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(STRATEGIES[reader]())
    def count(inp: Input) -> None:
        verdict = judge(inp)
        counts[verdict.outcome] += 1
        if verdict.outcome == "other":
            files = {k: v[:120] for k, v in inp.files.items()}
            findings.append(f"{reader}: {verdict.why}: {verdict.err[-300:]!r} {files}")

    count()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--examples", type=int, default=300)
    ap.add_argument("--readers", default=",".join(READERS))
    args = ap.parse_args()
    total: collections.Counter[str] = collections.Counter()
    print("| reader | inputs | exit 0 | exit 2 | other | seconds |")
    print("|---|---|---|---|---|---|")
    findings: list[str] = []
    for reader in args.readers.split(","):
        counts: collections.Counter[str] = collections.Counter()

        start = time.perf_counter()
        _count(reader, args.examples, counts, findings)
        n = sum(counts.values())
        total.update(counts)
        print(f"| {reader} | {n} | {counts['ok']} | {counts['refused']} | {counts['other']} "
              f"| {time.perf_counter() - start:.0f} |")
    print(f"| all | {sum(total.values())} | {total['ok']} | {total['refused']} "
          f"| {total['other']} | |")
    for f in findings:
        print(f)


if __name__ == "__main__":
    main()
