"""A number too large for a float (1e999 reads as infinity) is bad input, never a value: an
undetected PCR with infinitely many ABL1 control copies would otherwise read as MR5."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cmltrack.cli.app import run
from cmltrack.errors import InputError
from cmltrack.io import read_records

RECORD = {
    "id": "X",
    "diagnosis": {"date": "2020-01-01", "phase": "chronic"},
    "therapy": [{"drug": "imatinib", "dose_mg_per_day": 400, "start": "2020-01-10"}],
    "observations": [{"kind": "pcr", "date": "2020-04-10", "detected": False,
                      "control_gene": "ABL1", "control_copies": 1}],
}


def _write(tmp_path: Path, suffix: str) -> Path:
    text = json.dumps(RECORD).replace('"control_copies": 1', '"control_copies": 1e999')
    path = tmp_path / f"p{suffix}"
    path.write_text(text + ("\n" if suffix == ".jsonl" else ""), encoding="utf-8")
    return path


@pytest.mark.parametrize("suffix", [".json", ".jsonl"])
def test_an_overflowing_number_is_refused_naming_the_field(tmp_path: Path, suffix: str) -> None:
    with pytest.raises(InputError) as err:
        list(read_records(_write(tmp_path, suffix)))
    assert "control_copies" in str(err.value) and "finite number" in str(err.value)


def test_cli_exits_2_and_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out.json"
    assert run(["assess", str(_write(tmp_path, ".json")), "--json", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "$.observations[0].control_copies" in err and "finite number" in err
    assert not out.exists()
