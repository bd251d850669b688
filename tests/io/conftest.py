"""Make the io tests' helper module (io_strategies) importable under --import-mode=importlib,
which, unlike the default mode, does not put a test's folder on sys.path."""

from __future__ import annotations

import sys
from pathlib import Path

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)
