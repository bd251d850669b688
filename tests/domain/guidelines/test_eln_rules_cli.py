"""``cmltrack rules``: the milestone tables printed for a clinician, as text and JSON."""

from __future__ import annotations

import json

import pytest

from cmltrack.cli.app import _register, run

_register()


def test_rules_text_shows_wording_condition_source(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["rules", "ELN2013"]) == 0
    out = capsys.readouterr().out
    assert "ELN2013.6mo.optimal" in out
    assert "BCR-ABL1 <1% and/or Ph+ 0" in out  # the source wording
    assert "BCR::ABL1 < 1% OR Ph+ = 0%" in out  # the condition evaluated
    assert "Baccarani M, et al. Blood 2013" in out
    assert "ELN2020" not in out


def test_rules_json_one_edition(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["rules", "eln2020", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["edition"] == "ELN2020"
    row = next(r for r in data["rows"] if r["id"] == "ELN2020.3mo.failure")
    assert row["time"] == 3 and row["status"] == "failure"
    assert row["wording"] == ">10% if confirmed within 1–3 months"
    assert "confirmed by a later result within 3 mo" in row["condition"]
    assert [lm["window"] for lm in data["landmarks"]] == [[2.0, 4.5], [4.5, 8.0], [10.0, 15.0]]


def test_rules_json_all_editions(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["rules", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [e["edition"] for e in data["editions"]] == ["ELN2006", "ELN2009", "ELN2013", "ELN2020"]


def test_unknown_edition_is_one_line_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["rules", "ELN1999"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "ELN1999" in err and "Traceback" not in err


def test_rules_prints_the_label_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["rules", "label"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("imatinib_label: Gleevec USPI / Glivec SmPC")
    assert '  reductions: {"400": 300, "600": 400, "800": 600}' in out
    # the label's wording, the condition evaluated, the action and the dose
    assert "CP: ANC < 1.0 x10^9/L and/or platelets < 50 x10^9/L" in out
    assert 'if {"phase": ["chronic"], "any": {"anc_lt": 1.0, "platelets_lt": 50}}' in out
    assert "action: resume, dose 300" in out
    assert "ELN2013" not in out


def test_rules_json_protocol_and_tfr(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["rules", "protocol", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["table"] == "kantarjian2003" and data["source"].startswith("Kantarjian H")
    assert run(["rules", "TFR", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    row = next(r for r in data["rows"] if r["id"] == "ELN2020.TFR.after_restart")
    assert row["condition"] == {"until_mmr_every_months": 1, "then_every_months": 3}
    assert "U:" in row["source"]


def test_rules_all_holds_editions_and_tables(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["rules", "all", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert len(data["editions"]) == 4
    assert [t["table"] for t in data["tables"]] == ["imatinib_label", "dasatinib_label",
                                                    "nilotinib_label", "bosutinib_label",
                                                    "ponatinib_label", "asciminib_label",
                                                    "kantarjian2003",
                                                    "eln2020_tfr", "monitoring", "tki_labels",
                                                    "advanced_phase", "interactions",
                                                    "mutations"]


@pytest.mark.parametrize(("name", "label"), [
    ("dasatinib", "SPRYCEL"), ("nilotinib", "TASIGNA"), ("bosutinib", "BOSULIF"),
    ("ponatinib", "ICLUSIG"), ("asciminib", "SCEMBLIX")])
def test_rules_lists_each_tki_label_with_its_source(
    capsys: pytest.CaptureFixture[str], name: str, label: str
) -> None:
    assert run(["rules", name, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["table"] == f"{name}_label" and label in data["source"]
    assert data["rows"] and all(label in r["source"] for r in data["rows"])
