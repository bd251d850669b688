"""docs/seeds-statistics.md is the output of examples/seeds/reproduce_stats.py, kept in step."""

from __future__ import annotations

import contextlib
import io
import runpy
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_docs_are_the_script_output() -> None:
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        runpy.run_path(str(ROOT / "examples" / "seeds" / "reproduce_stats.py"), run_name="__main__")
    out = buf.getvalue()
    assert out == (ROOT / "docs" / "seeds-statistics.md").read_text()
    # The seeds' own numbers: 13/34 and 13/20 (seed 004), 14/38 (seed 003) with exact limits.
    assert "| 13/34 | 38.2% | exact | 22.2-56.4 |" in out
    assert "| 13/20 | 65.0% | exact | 40.8-84.6 |" in out
    assert "| 14/38 | 36.8% | exact | 21.8-54.0 |" in out
