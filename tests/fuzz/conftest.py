"""Make the fuzz harness (hostile.py) importable under any import mode, as tests/io does."""

from __future__ import annotations

import sys
from pathlib import Path

for _dir in (Path(__file__).resolve().parent, Path(__file__).resolve().parent.parent / "io"):
    if str(_dir) not in sys.path:
        sys.path.insert(0, str(_dir))
