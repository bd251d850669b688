"""What a clinician reads: display names, clinical number formats, baseline findings apart
from toxicity, published sources (never the project's own file names), the notice once."""

from __future__ import annotations

import re

import pytest

from cmltrack.cli.app import run
from cmltrack.cli.demo import example_path
from cmltrack.display import clinical_text, display_name, format_bcr_abl1, format_dose

INTERNAL = re.compile(r"clinical-rules|\.yaml|seed 00\d|\bU: |<=|>=|\d\.0 mg")


def test_assess_text_reads_clinically(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["assess", str(example_path("json")), "--protocol", "kantarjian2003"]) == 0
    out = capsys.readouterr().out
    assert not INTERNAL.findall(out), INTERNAL.findall(out)[:5]
    assert out.count("not a medical device") == 1  # once per output, at the end
    assert out.rstrip().endswith("the cited sources.")
    assert "(≤10%)" not in out and "≤10%" in out  # the bound stated once
    # P11's anemia at diagnosis is a baseline finding; on therapy, grades are toxicity.
    p11 = out[out.index("Patient P11"):]
    assert "2016-08-25   -0.36  none         none         none        chronic      baseline: "\
           "Anemia 2" in p11
    assert "Toxicity: CTCAE grade 3 Neutrophil count decreased" in p11
    assert "imatinib 400 mg/day" in out


def test_patient_report_reads_clinically(tmp_path: pytest.TempPathFactory,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "r"  # type: ignore[operator]
    assert run(["report", str(example_path("json")), "--out", str(out), "--no-pdf"]) == 0
    for page in (out / "patients").glob("*.html"):
        text = page.read_text(encoding="utf-8")
        body = re.sub(r"<style>.*?</style>", "", text, flags=re.S)
        assert not INTERNAL.findall(body.replace("&lt;=", "<=").replace("&gt;=", ">=")), page
        assert body.count("not a medical device") == 1, page  # the notice once on screen
    p11 = (out / "patients" / "P11.html").read_text(encoding="utf-8")
    assert "baseline: Anemia 2" in p11 and "Loss of CHR" in p11
    assert "400 mg" in (out / "patients" / "P01.html").read_text(encoding="utf-8")


def test_formats_by_hand() -> None:
    assert format_dose(400.0) == "400 mg" and format_bcr_abl1(0.0032) == "0.0032%"
    assert display_name("loss_of_mmr") == "Loss of MMR" and display_name("alt") == "ALT increased"
    assert clinical_text("BCR::ABL1 0.07% IS <= 0.1% (≤0.1%)") == "BCR::ABL1 0.07% IS ≤0.1%"
