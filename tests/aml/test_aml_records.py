"""AML records through every reader (aml spec section 1), and precise refusals."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from tests.aml.conftest import aml_record

from cmltrack.domain.records import PatientRecord
from cmltrack.errors import InputError
from cmltrack.io import load_records
from cmltrack.io.csvio import write_csv_tables
from cmltrack.io.jsonio import write_jsonl


def test_the_spec_example_reads_with_every_field(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_text(json.dumps(aml_record()))
    (rec,) = load_records(path)
    dx = rec.diagnosis
    assert dx is not None and dx.is_aml and dx.status == "relapsed" and dx.blasts_bm == 62
    g = dx.genetics
    assert g is not None and g.findings == ("del(5q)",) and g.karyotype_done is True
    assert "ZRSR2" in g.tested_genes and "KIT" not in g.tested_genes
    assert [m.gene for m in g.mutations] == ["NPM1", "FLT3-ITD", "TP53", "CEBPA"]
    kinds = [o.kind for o in rec.observations]
    assert kinds == ["marrow", "blood", "mrd", "extramedullary"]
    assert rec.events[0].detail == "allogeneic"
    assert rec.therapy[0].dose_mg_per_day == 3640


def test_csv_tables_and_jsonl_give_the_same_record(tmp_path: Path, example: PatientRecord) -> None:
    write_csv_tables([example], tmp_path / "csv")
    header = (tmp_path / "csv" / "patients.csv").read_text().splitlines()[0]
    assert header.endswith("karyotype,karyotype_done,findings,mutations_tested,mutations")
    assert load_records(tmp_path / "csv") == [example]
    write_jsonl([example], tmp_path / "a.jsonl")
    assert load_records(tmp_path / "a.jsonl") == [example]


def _refusal(tmp_path: Path, data: dict[str, Any]) -> str:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    with pytest.raises(InputError) as exc:
        load_records(path)
    return str(exc.value)


@pytest.mark.parametrize(
    ("change", "where", "what"),
    [
        (lambda d: d["diagnosis"]["genetics"]["findings"].append("t(8;21)"),
         "$.diagnosis.genetics.findings", "finding 't(8;21)' is not one of"),
        (lambda d: d["diagnosis"].update(aml_type="primary"),
         "$.diagnosis.aml_type", "'primary' is not one of"),
        (lambda d: d["diagnosis"].update(status="remission"),
         "$.diagnosis.status", "'remission' is not one of"),
        (lambda d: d["observations"][2].update(method="pcr"),
         "$.observations[2].method", "'pcr' is not one of"),
        (lambda d: d["observations"][2].update(result="equivocal"),
         "$.observations[2].result", "'equivocal' is not one of"),
        (lambda d: d["observations"][2].update(tissue="csf"),
         "$.observations[2].tissue", "'csf' is not one of"),
        (lambda d: d["diagnosis"]["genetics"]["mutations"].append({"gene": "npm1"}),
         "$.diagnosis.genetics.mutations[4].gene", "is not an HGNC symbol"),
        (lambda d: d["diagnosis"]["genetics"]["mutations"][0].update(allelic_ratio=0.2),
         "$.diagnosis.genetics.mutations[0]", "allelic_ratio is only for FLT3-ITD"),
        (lambda d: d["diagnosis"].update(ecog=6), "$.diagnosis.ecog", "6 is impossible"),
        (lambda d: d["observations"][0].update(cellularity_pct=120),
         "$.observations[0].cellularity_pct", "120 is impossible"),
        (lambda d: d["observations"][3].pop("present"),
         "$.observations[3].present", "required field is missing"),
    ],
)
def test_closed_vocabularies_are_refused_naming_the_path(
    tmp_path: Path, change: Any, where: str, what: str
) -> None:
    data = copy.deepcopy(aml_record())
    change(data)
    message = _refusal(tmp_path, data)
    assert where in message and what in message, message


def test_aml_fields_on_a_cml_record_are_refused(tmp_path: Path) -> None:
    data = aml_record()
    data["diagnosis"]["disease"] = "CML"
    message = _refusal(tmp_path, data)
    assert "$.diagnosis" in message and "is for AML; disease is 'CML'" in message


def test_a_tki_dose_above_2000_is_still_refused(tmp_path: Path) -> None:
    data = aml_record()
    data["therapy"] = [{"drug": "imatinib", "dose_mg_per_day": 2400, "start": "2024-01-10"}]
    assert "must be <= 2000" in _refusal(tmp_path, data)


def test_csv_mutation_attributes_are_refused_naming_row_and_column(tmp_path: Path) -> None:
    folder = tmp_path / "t"
    folder.mkdir()
    (folder / "patients.csv").write_text(
        "patient_id,disease,mutations\nA1,AML,NPM1;TP53 vaf=12;FLT3-ITD ar=0.4\n")
    with pytest.raises(InputError) as exc:
        load_records(folder)
    message = str(exc.value)
    assert "patients.csv, row 2" in message and "'mutations'" in message
    assert "'ar=0.4'" in message


def test_csv_labs_carry_mrd_and_extramedullary(tmp_path: Path) -> None:
    folder = tmp_path / "t"
    folder.mkdir()
    (folder / "patients.csv").write_text("patient_id,disease\nA1,AML\n")
    (folder / "labs.csv").write_text(
        "patient_id,date,test,value,unit\n"
        "A1,2024-02-14,method,flow,\nA1,2024-02-14,result,positive,\n"
        "A1,2024-02-14,value_pct,0.2,\nA1,2024-02-20,present,yes,\nA1,2024-02-20,site,skin,\n")
    (rec,) = load_records(folder)
    mrd, emd = rec.observations
    assert (mrd.kind, mrd.method, mrd.result, mrd.value_pct) == ("mrd", "flow", "positive", 0.2)
    assert (emd.kind, emd.present, emd.site) == ("extramedullary", True, "skin")
    PatientRecord.model_validate(rec.model_dump())


def test_rules_aml_lists_the_tables(capsys: pytest.CaptureFixture[str]) -> None:
    from cmltrack.cli.app import run

    assert run(["rules", "aml"]) == 0
    out = capsys.readouterr().out
    for rule in ("ELN2022.adverse.tp53", "ELN2017.adverse.flt3_itd_high",
                 "ELN2022.response.crh", "CLAGIM.inclusion.ecog", "ACTIM.inclusion.mmr_not_mr45"):
        assert rule in out
    assert run(["rules", "actim", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["table"] == "protocol_actim"
