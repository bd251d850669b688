"""Builders for AML records used by the AML tests."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from cmltrack.domain.records import PatientRecord

TODAY = dt.date(2026, 1, 1)


def aml_record(**over: Any) -> dict[str, Any]:
    """The aml spec's section 1 example, as raw data (change parts with keywords)."""
    data: dict[str, Any] = {
        "id": "A001", "sex": "M", "birth_date": "1961-02-03",
        "diagnosis": {
            "date": "2024-01-02", "disease": "AML", "aml_type": "de_novo", "status": "relapsed",
            "wbc": 12.0, "anc": 0.4, "platelets": 35, "hemoglobin": 8.1, "blasts_pb": 30,
            "blasts_bm": 62, "extramedullary": False, "ecog": 1,
            "genetics": {
                "karyotype": "46,XY,del(5q)[15]/46,XY[5]", "karyotype_done": True,
                "findings": ["del(5q)"], "mutations_tested": ["ELN2022"],
                "mutations": [{"gene": "NPM1"}, {"gene": "FLT3-ITD", "allelic_ratio": 0.3},
                              {"gene": "TP53", "vaf": 12.5},
                              {"gene": "CEBPA", "bzip_inframe": True}]}},
        "therapy": [{"drug": "cytarabine", "dose_mg_per_day": 3640, "start": "2024-01-10",
                     "end": "2024-01-15"}],
        "observations": [
            {"date": "2024-02-14", "kind": "marrow", "blasts_bm": 3.0, "auer_rods": False,
             "cells_counted": 500, "cellularity_pct": 30, "spicules": True},
            {"date": "2024-02-14", "kind": "blood", "wbc": 3.1, "anc": 1.2, "platelets": 110,
             "blasts_pb": 0, "rbc_transfused_7d": False, "platelets_transfused_7d": False},
            {"date": "2024-02-14", "kind": "mrd", "method": "qpcr", "target": "NPM1",
             "tissue": "bm", "result": "negative", "value_pct": None},
            {"date": "2024-02-20", "kind": "extramedullary", "present": False, "site": None}],
        "events": [{"date": "2024-05-01", "kind": "transplant", "detail": "allogeneic"}],
    }
    data.update(over)
    return data


@pytest.fixture
def example() -> PatientRecord:
    return PatientRecord.model_validate(aml_record(), context={"today": TODAY})
