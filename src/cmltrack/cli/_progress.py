"""A progress bar on standard error for commands that take more than a second.

Shown only when standard error is a terminal (never in pipes, logs or tests) and only once the
work has run for a second, so quick runs stay quiet.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import TypeVar

T = TypeVar("T")

#: Seconds before the bar appears.
DELAY = 1.0


class Bar:
    """``with Bar("report", total) as bar: ... bar.advance(16)``."""

    def __init__(self, label: str, total: int | None = None, unit: str = "patients") -> None:
        self.label, self.total, self.unit = label, total, unit
        self.done = 0
        self.live = sys.stderr.isatty()
        self.started = time.monotonic()
        self.shown = 0.0

    def advance(self, k: int = 1) -> None:
        self.done += k
        if not self.live:
            return
        now = time.monotonic()
        if now - self.started >= DELAY and now - self.shown >= 0.1:
            self.shown = now
            sys.stderr.write("\r" + self.line(now - self.started))
            sys.stderr.flush()

    def line(self, elapsed: float) -> str:
        done, total, unit = self.done, self.total, self.unit
        rate = done / elapsed if elapsed > 0 else 0.0
        if total:
            width = 30
            filled = min(width, int(width * done / total))
            left = max(total - done, 0) / rate if rate else 0.0
            return (f"{self.label}  [{'=' * filled}{' ' * (width - filled)}] "
                    f"{done:,}/{total:,} {unit}  {elapsed:.0f} s, about {left:.0f} s left ")
        return f"{self.label}  {done:,} {unit}  {elapsed:.0f} s ({rate:.0f}/s) "

    def __enter__(self) -> Bar:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self.shown:
            sys.stderr.write("\r\x1b[2K")  # clear the bar's line
            sys.stderr.flush()


def progress(items: Iterable[T], label: str, total: int | None = None,
             unit: str = "patients") -> Iterator[T]:
    """Yield ``items``, advancing a :class:`Bar` as each is consumed."""
    with Bar(label, total, unit) as bar:
        for item in items:
            yield item
            bar.advance()


def count_records(path: Path) -> int | None:
    """The number of patients in a plain ``.jsonl`` file (its non-blank lines), for the bar's
    total; None for other forms (counting would mean reading them twice)."""
    if not (path.is_file() and path.name.lower().endswith(".jsonl")):
        return None
    from cmltrack.io.fhir import is_fhir_lines

    if is_fhir_lines(path):
        return None  # FHIR resources, many a patient
    n = 0
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            n += block.count(b"\n")
    return n
