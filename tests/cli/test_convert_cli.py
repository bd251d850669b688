"""cmltrack convert: every form to every form, atomic, bad input refused with nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cmltrack.cli.app import run
from cmltrack.cli.demo import example_path
from cmltrack.io import load_records
from cmltrack.io.fhir.writer import canonical

FORMS = {"json": "out.json", "jsonl": "out.jsonl", "csv": "csv", "fhir": "bundle.json",
         "fhir-ndjson": "bulk"}


@pytest.mark.parametrize("source", ["json", "csv", "fhir", "fhir-ndjson"])
def test_every_form_to_every_form(tmp_path: Path, source: str,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    expected = [canonical(r) for r in load_records(example_path("json"))]
    for form, name in FORMS.items():
        out = tmp_path / name
        assert run(["convert", str(example_path(source)), str(out), "--to", form]) == 0
        assert f"12 patients -> {out} ({form})" in capsys.readouterr().err
        assert [canonical(r) for r in load_records(out)] == expected, (source, form)


def test_bad_input_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.json"
    bundle = json.loads(example_path("fhir").read_text())
    bundle["entry"][-1]["resource"]["subject"] = {"reference": "Patient/nobody"}
    bad.write_text(json.dumps(bundle))
    for form, name in FORMS.items():
        assert run(["convert", str(bad), str(tmp_path / name), "--to", form]) == 2
        err = capsys.readouterr().err.splitlines()
        assert len(err) == 1 and "names no Patient" in err[0] and "subject" in err[0]
        assert not (tmp_path / name).exists() or not any((tmp_path / name).iterdir())
    assert run(["convert", str(example_path("json")), str(tmp_path / "x"), "--to", "xml"]) == 2
    assert "unknown form 'xml'" in capsys.readouterr().err


def test_synth_writes_fhir_bulk(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import datetime as dt

    from cmltrack.synth import generate_cohort

    out = tmp_path / "bulk"
    assert run(["synth", "--patients", "25", "--seed", "3", "--format", "fhir",
                "--out", str(out), "--as-of", "2024-06-30"]) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "Condition.ndjson", "MedicationStatement.ndjson", "Observation.ndjson",
        "Patient.ndjson"]
    expected = generate_cohort(25, 3, as_of=dt.date(2024, 6, 30))
    assert load_records(out) == [canonical(r) for r in expected]
    assert run(["synth", "--patients", "5", "--format", "fhir", "--out",
                str(tmp_path / "c.jsonl")]) == 2
    assert run(["synth", "--patients", "5", "--format", "csv", "--out",
                str(tmp_path / "c.jsonl")]) == 2
    assert "writes a folder" in capsys.readouterr().err
