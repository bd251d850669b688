"""The coverage-guided (atheris / libFuzzer) target of one reader.

    PYTHONPATH=src python tests/fuzz/atheris_target.py READER CORPUS_DIR [libFuzzer flags]

READER is json, jsonl, csv (a folder's four tables in one input, split at lines ``--8<--``),
stats, fhir (a Bundle) or fhir-ndjson (a Bulk export folder: Condition, MedicationStatement,
Observation, Patient and Procedure ``.ndjson`` in one input, split at lines ``--8<--``).
Each input is judged as the hypothesis suite judges it (``hostile.judge``): an input ending
other than exit 0 or a one-line exit 2 is saved under ``regressions/READER/`` and counted, and
fuzzing goes on; a hang (``-timeout``) or memory over ``-rss_limit_mb`` stops
libFuzzer, which writes the input where ``-artifact_prefix`` says (run_long.py keeps it as a
regression too). Outcome counts are written to ``$CMLTRACK_FUZZ_COUNTS`` every 10 inputs.
Use ``run_long.py`` rather than this directly.
"""

from __future__ import annotations

import collections
import hashlib
import json
import os
import sys
from pathlib import Path

import atheris

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

with atheris.instrument_imports(include=["cmltrack"]):
    import cmltrack.cli.app
    import cmltrack.cli.commands
    import cmltrack.cli.stats
    import cmltrack.domain.assess
    import cmltrack.io
    import cmltrack.io.fhir
    import cmltrack.io.fhir.bulk
    import cmltrack.io.fhir.reader
    import cmltrack.io.stattable
    import cmltrack.stats.competing
    import cmltrack.stats.cox
    import cmltrack.stats.current
    import cmltrack.stats.survival  # noqa: F401

from hostile import input_from_bytes, judge  # noqa: E402

READER = sys.argv[1]
COUNTS: collections.Counter[str] = collections.Counter()
COUNTS_FILE = os.environ.get("CMLTRACK_FUZZ_COUNTS")


def _save_counts() -> None:
    if COUNTS_FILE:
        Path(COUNTS_FILE).write_text(json.dumps(dict(COUNTS)))


def test_one_input(data: bytes) -> None:
    verdict = judge(input_from_bytes(READER, data))
    COUNTS[verdict.outcome] += 1
    if verdict.outcome == "other":
        folder = HERE / "regressions" / READER
        folder.mkdir(parents=True, exist_ok=True)
        name = hashlib.sha1(data).hexdigest()[:16]
        (folder / name).write_bytes(data)
        print(f"FINDING {READER}/{name}: {verdict.why}: {verdict.err[-400:]}", file=sys.stderr)
    if sum(COUNTS.values()) % 10 == 0:
        _save_counts()


def main() -> None:
    atheris.Setup([sys.argv[0], *sys.argv[2:]], test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
