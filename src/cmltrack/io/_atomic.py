"""Atomic file replacement: write beside the target, then ``os.replace`` (nothing half-written)."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO


def _temp_beside(target: Path, newline: str | None) -> tuple[TextIO, Path]:
    # The temp file lives in the target's folder so that os.replace is a rename, never a copy.
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    # mkstemp makes the file private (0600); give it the target's mode or an ordinary 0644.
    mode = target.stat().st_mode & 0o777 if target.exists() else 0o644
    os.chmod(name, mode)
    return os.fdopen(fd, "w", encoding="utf-8", newline=newline), Path(name)


@contextlib.contextmanager
def atomic_files(
    targets: list[Path], *, newline: str | None = None
) -> Iterator[list[TextIO]]:
    """Open one temp file per target; on success replace every target, on error remove them.

    The replacements happen one after another once every file is complete, so a failure while
    writing leaves all targets as they were.
    """
    opened: list[tuple[TextIO, Path]] = []
    try:
        for target in targets:
            target.parent.mkdir(parents=True, exist_ok=True)
            opened.append(_temp_beside(target, newline))
        yield [fh for fh, _ in opened]
        for fh, _ in opened:
            fh.flush()
            os.fsync(fh.fileno())
            fh.close()
        for (_, tmp), target in zip(opened, targets, strict=True):
            os.replace(tmp, target)
    finally:
        for fh, tmp in opened:
            fh.close()
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
