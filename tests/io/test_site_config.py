from __future__ import annotations

from pathlib import Path

import pytest

from cmltrack.cli.app import run
from cmltrack.cli.demo import example_path
from cmltrack.domain.options import LabLimits
from cmltrack.errors import InputError
from cmltrack.io.site import read_site_config


def test_limits_read_and_defaults_kept(tmp_path: Path) -> None:
    p = tmp_path / "site.toml"
    p.write_text("[limits]\nanc_lln = 1.5\nalt_uln = 45\n")
    limits = read_site_config(p)
    assert limits.anc_lln == 1.5 and limits.alt_uln == 45.0
    assert limits.platelets_lln == LabLimits().platelets_lln


@pytest.mark.parametrize(
    ("text", "code", "field"),
    [
        ("[limits]\nanc_llnx = 1.5\n", "unknown_field", "anc_llnx"),
        ("[limits]\nanc_lln = 'low'\n", "bad_type", "anc_lln"),
        ("[limits]\nanc_lln = 0\n", "impossible_value", "anc_lln"),
        ("[other]\nx = 1\n", "unknown_field", "other"),
        ("[limits\n", "bad_format", None),
    ],
)
def test_bad_site_config(tmp_path: Path, text: str, code: str, field: str | None) -> None:
    p = tmp_path / "site.toml"
    p.write_text(text)
    with pytest.raises(InputError) as exc:
        read_site_config(p)
    assert exc.value.code == code and exc.value.field == field
    assert "site.toml" in str(exc.value)


def test_site_limits_change_grades(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # P01's counts carry no anc_lln, so the site limit applies. CTCAE v5 neutrophil count
    # decreased grade 1 is < LLN: with a site ANC LLN of 10 x10^9/L every ANC below 10 is at
    # least grade 1 (with the default LLN 1.8 none of P01's counts is).
    p = tmp_path / "site.toml"
    p.write_text("[limits]\nanc_lln = 10\n")
    path = str(example_path("json"))
    assert run(["assess", path, "--json", "--site-config", str(p)]) == 0
    import json

    rows = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    p01 = next(r for r in rows if r["patient_id"] == "P01")
    grades = [t["toxicity"].get("neutrophils") for t in p01["timepoints"]]
    assert any(g is not None and g >= 1 for g in grades)
    assert run(["assess", path, "--json"]) == 0
    rows = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    p01 = next(r for r in rows if r["patient_id"] == "P01")
    assert all(t["toxicity"].get("neutrophils", 0) == 0 for t in p01["timepoints"])
    assert run(["assess", path, "--site-config", str(tmp_path / "none.toml")]) == 2
