"""ADTTE endpoints of bundled patients; expected values derived by hand from the records."""

from __future__ import annotations

import pytest

from cmltrack.cli.demo import example_path
from cmltrack.domain.assess import assess
from cmltrack.domain.endpoints import derive_endpoints
from cmltrack.domain.records import PatientRecord
from cmltrack.io import load_records


@pytest.fixture(scope="module")
def examples() -> dict[str, PatientRecord]:
    return {r.id: r for r in load_records(example_path("json"))}


def _rows(rec: PatientRecord) -> dict[str, dict[str, object]]:
    return {r.PARAMCD: r.to_dict() for r in derive_endpoints(rec, assess(rec))}


def test_p01_response_times(examples: dict[str, PatientRecord]) -> None:
    rows = _rows(examples["P01"])
    # Imatinib from 2016-03-21. First CCyR (0/20) 2016-09-20: 183 days = 6.0123 months.
    assert rows["TTCCYR"]["CNSR"] == 0 and rows["TTCCYR"]["ADT"] == "2016-09-20"
    assert rows["TTCCYR"]["AVAL"] == pytest.approx(183 / 30.4375, abs=1e-4)
    # First MMR 0.07% on 2017-03-21: 365 days.
    assert rows["TTMMR"]["ADT"] == "2017-03-21"
    assert rows["TTMMR"]["AVAL"] == pytest.approx(365 / 30.4375, abs=1e-4)
    # First MR4.5: 0.003% <= 0.0032 on 2018-09-20: 365 + 365 + 183 = 913 days.
    assert rows["TTMR45"]["ADT"] == "2018-09-20"
    assert rows["TTMR45"]["AVAL"] == pytest.approx(913 / 30.4375, abs=1e-4)
    # Alive, no progression: OS and PFS censored at the last follow-up.
    assert rows["OS"]["CNSR"] == 1 and rows["PFS"]["CNSR"] == 1
    assert rows["OS"]["STARTDT"] == "2016-03-21"


def test_p11_death_and_progression(examples: dict[str, PatientRecord]) -> None:
    rows = _rows(examples["P11"])
    # Death on 2018-10-03 (events), blast phase on 2018-06-18.
    assert rows["OS"]["CNSR"] == 0 and rows["OS"]["ADT"] == "2018-10-03"
    assert rows["OS"]["SRCDOM"] == "DS"
    assert rows["PFS"]["CNSR"] == 0 and rows["PFS"]["ADT"] == "2018-06-18"
    # Never in MMR before progression: MMR censored with the competing event flagged.
    assert rows["TTMMR"]["CNSR"] == 1 and rows["TTMMR"]["CMPEVNT"] == 1


def test_every_patient_has_every_endpoint_once(examples: dict[str, PatientRecord]) -> None:
    for rec in examples.values():
        codes = [r.PARAMCD for r in derive_endpoints(rec, assess(rec))]
        base = {"TTCHR", "TTCCYR", "TTMMR", "TTMR4", "TTMR45", "PFS", "EFS", "OS", "TTF"}
        assert base <= set(codes)
        assert len(codes) == len(set(codes))
        for r in derive_endpoints(rec, assess(rec)):
            assert r.AVAL >= 0 and r.CNSR in (0, 1)
