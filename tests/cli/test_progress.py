"""The progress bar: drawn on a terminal after a second, cleared at the end, never elsewhere."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from cmltrack.cli import _progress


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_bar_draws_on_a_terminal_and_clears(monkeypatch: pytest.MonkeyPatch) -> None:
    err = _Tty()
    monkeypatch.setattr("sys.stderr", err)
    monkeypatch.setattr(_progress, "DELAY", 0.0)
    clock = iter(float(i) for i in range(100))
    monkeypatch.setattr(_progress.time, "monotonic", lambda: next(clock))
    assert list(_progress.progress(range(4), "report", total=4)) == [0, 1, 2, 3]
    text = err.getvalue()
    assert "report  [" in text and "4/4 patients" in text
    assert text.endswith("\r\x1b[2K")


def test_no_bar_off_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    err = io.StringIO()
    monkeypatch.setattr("sys.stderr", err)
    monkeypatch.setattr(_progress, "DELAY", 0.0)
    assert list(_progress.progress(range(3), "x")) == [0, 1, 2]
    assert err.getvalue() == ""


def test_count_records(tmp_path: Path) -> None:
    f = tmp_path / "c.jsonl"
    f.write_text('{"id": "a"}\n{"id": "b"}\n')
    assert _progress.count_records(f) == 2
    assert _progress.count_records(tmp_path) is None
