"""HSCT.t315i_no_response (clinical-rules-2 section 4): T315I with no CHR, or no MCyR, after 3
months (>= 91 days) of ponatinib or asciminib calls for a transplant evaluation. Hand-worked:
ponatinib starts 2021-01-01, so day 91 is 2021-04-02."""

from __future__ import annotations

from typing import Any

import pytest

from cmltrack.domain.assess import assess
from cmltrack.domain.records import PatientRecord

RULE = "HSCT.t315i_no_response"


def _record(obs: list[dict[str, Any]], *, drug: str = "ponatinib",
            mutation: str = "T315I") -> PatientRecord:
    return PatientRecord.model_validate({
        "id": "H", "diagnosis": {"date": "2019-12-01", "phase": "chronic"},
        "therapy": [
            {"drug": "imatinib", "dose_mg_per_day": 400, "start": "2020-01-01",
             "end": "2021-01-01", "reason_end": "resistance"},
            {"drug": drug, "dose_mg_per_day": 45 if drug == "ponatinib" else 400,
             "start": "2021-01-01"}],
        "observations": [{"date": "2020-12-15", "kind": "mutation", "mutations": [mutation]},
                         *obs]})


def _blood(date: str, wbc: float) -> dict[str, Any]:
    return {"date": date, "kind": "blood", "wbc": wbc, "anc": min(wbc, 5.0), "platelets": 200,
            "blasts_pb": 0, "promyelocytes_pb": 0, "myelocytes_pb": 0, "metamyelocytes_pb": 0,
            "basophils_pb": 1, "spleen_cm": 0}


def _rules(record: PatientRecord) -> list[str]:
    return [r.rule for r in assess(record).recommendations]


@pytest.mark.parametrize(("date", "wbc", "due"), [
    ("2021-04-02", 15.0, True),  # day 91, WBC 15 >= 10: no CHR
    ("2021-04-01", 15.0, False),  # day 90: not yet 3 months
    ("2021-04-02", 9.9, False),  # CHR
])
def test_no_chr_after_three_months(date: str, wbc: float, due: bool) -> None:
    assert (RULE in _rules(_record([_blood(date, wbc)]))) is due


@pytest.mark.parametrize(("ph", "due"), [(36.0, True), (35.0, False)])
def test_no_mcyr_after_three_months(ph: float, due: bool) -> None:
    cyto = {"date": "2021-04-20", "kind": "cytogenetics", "ph_pct": ph}
    assert (RULE in _rules(_record([_blood("2021-04-20", 6.0), cyto]))) is due


def test_asciminib_counts_and_other_mutations_do_not() -> None:
    assert RULE in _rules(_record([_blood("2021-05-01", 15.0)], drug="asciminib"))
    assert RULE not in _rules(_record([_blood("2021-05-01", 15.0)], mutation="E255K"))
