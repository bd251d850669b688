"""The README's tour runs as written: every command of its shell block, in order, from a
folder that holds what the checkout holds (examples/), each ending with status 0."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from cmltrack.cli.app import run

ROOT = Path(__file__).resolve().parents[1]


def tour_commands() -> list[list[str]]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## A short tour"):]
    block = re.search(r"```sh\n(.*?)```", section, flags=re.S)
    assert block is not None
    joined = block.group(1).replace("\\\n", " ")
    commands = []
    for line in joined.splitlines():
        words = shlex.split(line, comments=True)
        if words:
            commands.append(words)
    return commands


def test_every_tour_line_is_a_cmltrack_command() -> None:
    commands = tour_commands()
    assert len(commands) >= 20
    assert all(c[0] == "cmltrack" for c in commands)


@pytest.mark.timeout(900)
def test_readme_tour_runs_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A fresh folder with the checkout's examples: nothing left over from earlier runs counts.
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    monkeypatch.chdir(tmp_path)
    for words in tour_commands():
        status = run(words[1:])
        cap = capsys.readouterr()
        assert status == 0, f"{shlex.join(words)} -> {status}: {cap.err}"
    for made in ("cohort.jsonl", "assessments.csv", "protocol.jsonl.gz", "adtte.csv",
                 "adsl.csv", "p04.png", "pfs.svg", "report/index.html"):
        assert (tmp_path / made).stat().st_size > 0, made
