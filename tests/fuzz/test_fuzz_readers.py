"""The CI fuzz suite (issue 17): every reader, valid data corrupted by hypothesis, must end in
exit 0 with a result or exit 2 with one line naming the file, within 20 s and 1 GB.

The budget is fixed (``CMLTRACK_FUZZ_EXAMPLES`` per reader, default 40; derandomized so CI
sees the same inputs each run); the long coverage-guided run is ``tests/fuzz/run_long.py``.
Every input that ever failed is kept under ``tests/fuzz/regressions/<reader>/`` and replayed
here, with the seed corpus.
"""

from __future__ import annotations

import os
import resource
from pathlib import Path

import pytest
from hostile import (
    MAX_RSS_MB,
    READERS,
    STRATEGIES,
    Input,
    input_from_bytes,
    judge,
)
from hypothesis import HealthCheck, given, settings

HERE = Path(__file__).resolve().parent
EXAMPLES = int(os.environ.get("CMLTRACK_FUZZ_EXAMPLES", "40"))
_RSS_START = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _check(inp: Input) -> None:
    verdict = judge(inp)
    assert verdict.outcome in ("ok", "refused"), (verdict.why, verdict.err, inp.files.keys())
    if not inp.corrupted:
        assert verdict.outcome == "ok"


def _fuzz(reader: str) -> None:
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(STRATEGIES[reader]())
    def run(inp: Input) -> None:
        _check(inp)

    run()


@pytest.mark.timeout(300)
@pytest.mark.parametrize("reader", READERS)
def test_every_corrupted_input_ends_in_a_result_or_a_one_line_refusal(reader: str) -> None:
    _fuzz(reader)


def _cases() -> list[tuple[str, Path]]:
    out = []
    for kind in ("corpus", "regressions"):
        for reader in READERS:
            folder = HERE / kind / reader
            if folder.is_dir():
                out += [(reader, p) for p in sorted(folder.iterdir()) if p.is_file()]
    return out


@pytest.mark.timeout(300)
def test_the_seed_corpus_and_every_past_finding_end_well() -> None:
    cases = _cases()
    assert len(cases) >= 8  # a corpus for every reader
    bad = []
    for reader, path in cases:
        verdict = judge(input_from_bytes(reader, path.read_bytes()))
        if verdict.outcome == "other":
            bad.append((path.relative_to(HERE), verdict.why, verdict.err[:300]))
    assert not bad, bad


def test_no_input_took_more_than_a_gigabyte() -> None:
    # ru_maxrss is in KiB on Linux: the peak this process reached, against where it started.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert (peak - _RSS_START) / 1024 < MAX_RSS_MB
