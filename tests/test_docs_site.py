"""The rendered documentation (mkdocs with mkdocstrings, the API pages from the docstrings)
builds with warnings as errors: a broken link, a missing page or an unresolvable reference in
a docstring fails this test, and so CI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_mkdocs_build_strict(tmp_path: Path) -> None:
    site = tmp_path / "site"
    out = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    log = out.stdout + out.stderr
    assert out.returncode == 0, log
    assert "WARNING" not in log, log
    api = (site / "api" / "stats" / "index.html").read_text(encoding="utf-8")
    # The result classes are rendered with their lifelines-style methods and examples.
    for name in ("KMResult", "to_frame", "survival_function_", "CoxResult", "plot"):
        assert name in api, name
    assert (site / "plots" / "index.html").is_file()
