"""The README's Python API example runs as written (from the project root)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_readme_python_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) == 1
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        exec(compile(blocks[0], "README.md", "exec"), {})
    finally:
        os.chdir(cwd)
    out = capsys.readouterr().out
    # P04 under ELN 2013 (examples/patients/README.md): on ponatinib after T315I, now in MMR.
    assert "ELN2013.any_time.optimal" in out
    assert "13/34 = 0.3824, 95% CI 0.2217-0.5644 (exact)" in out
