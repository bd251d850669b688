"""A digest of everything the assessment outputs, to prove a performance change changed none of it.

Run:  python benchmarks/output_digest.py [--patients 150] [--seed 11] [--every 3]

Assesses every bundled example and ``--patients`` synthetic patients of each profile, each on
every ``--every``-th result date (``as_of``), under the four ELN editions (two of them with the
Kantarjian 2003 protocol), and hashes the contract JSON and the ``explain`` text of each
assessment. Run it before and after a change (for example in a ``git worktree`` of the commit
before, with ``PYTHONPATH=<worktree>/src``): equal digests mean no output byte changed. It also
counts the recommendations and events by source, to show what the digest covered.

The defaults make 21,468 assessments (about 20 s). The digest is not a test: it proves
sameness, not correctness (the tests do that, from hand-worked values).
"""

from __future__ import annotations

import argparse
import hashlib
import json
from collections import Counter
from importlib import resources
from typing import Literal

import cmltrack
from cmltrack.cli.render import render_explanation
from cmltrack.domain.assess import assess
from cmltrack.domain.enums import Guideline
from cmltrack.domain.options import AssessOptions
from cmltrack.domain.records import PatientRecord
from cmltrack.io import read_records
from cmltrack.synth import generate_cohort

RUNS: tuple[tuple[Guideline, Literal["kantarjian2003"] | None], ...] = (
    (Guideline.ELN2020, None),
    (Guideline.ELN2013, "kantarjian2003"),
    (Guideline.ELN2009, None),
    (Guideline.ELN2006, "kantarjian2003"),
)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--patients", type=int, default=150, help="per synthetic profile")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--every", type=int, default=3, help="assess on every k-th result date")
    args = ap.parse_args()
    examples = resources.files("cmltrack.examples") / "patients.jsonl"
    with resources.as_file(examples) as path:
        records: list[PatientRecord] = list(read_records(path))
    for profile in ("first-line", "high-dose-rescue", "tfr-clinic"):
        records += generate_cohort(args.patients, seed=args.seed, profile=profile)
    digest = hashlib.sha256()
    n = 0
    recs: Counter[str] = Counter()
    events: Counter[str] = Counter()
    for guideline, protocol in RUNS:
        options = AssessOptions(guideline=guideline, protocol=protocol)
        for record in records:
            days = sorted({o.date for o in record.observations})
            for day in days[:: args.every]:
                a = assess(record, options=options, as_of=day)
                digest.update(json.dumps(a.to_dict(), sort_keys=True).encode())
                digest.update(render_explanation(a).encode())
                recs.update(r.rule.split(".")[0] for r in a.recommendations)
                events.update(str(e.kind) for e in a.events)
                n += 1
    print(f"cmltrack from {cmltrack.__file__}")
    print(f"{n:,} assessments of {len(records)} records; sha256 {digest.hexdigest()}")
    print("recommendations by source: " + ", ".join(f"{k} {v}" for k, v in sorted(recs.items())))
    print("events by kind: " + ", ".join(f"{k} {v}" for k, v in sorted(events.items())))


if __name__ == "__main__":
    main()
