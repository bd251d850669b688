from __future__ import annotations

import datetime as dt

import pytest
from pydantic import ValidationError

from cmltrack.domain.records import Cytogenetics, PatientRecord, Pcr


def test_unit_conversion_hemoglobin_g_per_l() -> None:
    r = PatientRecord.model_validate(
        {"id": "X", "diagnosis": {"hemoglobin": {"value": 112, "unit": "g/L"}}}
    )
    assert r.diagnosis is not None and r.diagnosis.hemoglobin == pytest.approx(11.2)


def test_unconvertible_unit_is_refused() -> None:
    with pytest.raises(ValidationError) as exc:
        PatientRecord.model_validate({"id": "X", "diagnosis": {"wbc": {"value": 5, "unit": "mg"}}})
    assert exc.value.errors()[0]["type"] == "bad_unit"


def test_ph_pct_from_counts_is_unrounded() -> None:
    c = Cytogenetics(date=dt.date(2020, 1, 1), ph_pos=7, metaphases=20)
    assert c.ph_percent == 35.0
    c = Cytogenetics(date=dt.date(2020, 1, 1), ph_pos=1, metaphases=3)
    assert c.ph_percent == pytest.approx(100 / 3)


def test_undetected_pcr_with_value_is_inconsistent() -> None:
    with pytest.raises(ValidationError):
        Pcr(date=dt.date(2020, 1, 1), detected=False, bcr_abl1_is=0.5)


def test_future_date_refused_with_context() -> None:
    with pytest.raises(ValidationError) as exc:
        PatientRecord.model_validate(
            {"id": "X", "events": [{"date": "2031-01-01", "kind": "death"}]},
            context={"today": dt.date(2026, 1, 1)},
        )
    assert exc.value.errors()[0]["type"] == "impossible_value"


def test_date_before_birth_refused() -> None:
    with pytest.raises(ValidationError):
        PatientRecord.model_validate(
            {"id": "X", "birth_date": "1970-01-01",
             "observations": [{"date": "1969-01-01", "kind": "pcr", "bcr_abl1_is": 1.0}]}
        )


def test_age_and_birth_date_must_agree() -> None:
    with pytest.raises(ValidationError):
        PatientRecord.model_validate(
            {"id": "X", "birth_date": "1970-01-01", "diagnosis": {"date": "2020-01-01", "age": 40}}
        )
