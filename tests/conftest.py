from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


@pytest.fixture
def shared_dir() -> Path:
    if not SHARED.exists():
        pytest.skip("../shared is not beside the project")
    return SHARED


if os.environ.get("MUTANT_UNDER_TEST"):
    # mutmut forks each mutant's run from a process that has run the tests: a functools.cache
    # (rule tables, the label's thresholds) filled there would hide the mutant. Clear them all
    # before each test so that every mutant's result is true (tests/mutation/mutate.py).
    @pytest.fixture(autouse=True)
    def _fresh_caches() -> None:
        for name, module in list(sys.modules.items()):
            if not name.startswith("cmltrack") or module is None:
                continue
            for value in list(vars(module).values()):
                clear = getattr(value, "cache_clear", None)
                if callable(clear):
                    clear()
