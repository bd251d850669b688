"""Timepoints after the performance pass: "on therapy" from the first TKI's start, one grader
for the patient, and bases that read as before. Expected values worked out by hand."""

from __future__ import annotations

import datetime as dt

from cmltrack.domain.assess import build_timepoints
from cmltrack.domain.enums import Phase
from cmltrack.domain.options import AssessOptions
from cmltrack.domain.records import PatientRecord

START = dt.date(2020, 1, 10)


def _record() -> PatientRecord:
    blood = {"kind": "blood", "wbc": 5.0, "platelets": 90.0, "blasts_pb": 0, "basophils_pb": 1,
             "spleen_cm": 0}
    return PatientRecord.model_validate({
        "id": "T1",
        "sex": "M",
        "diagnosis": {"date": "2020-01-02", "phase": "chronic", "platelets": 480},
        "therapy": [
            {"drug": "hydroxyurea", "start": "2020-01-05", "end": "2020-01-10"},
            {"drug": "imatinib", "dose_mg_per_day": 400, "start": "2020-01-10",
             "end": "2020-06-01", "reason_end": "intolerance"},
        ],
        "observations": [
            {**blood, "date": "2020-01-03"},  # before any therapy
            {**blood, "date": "2020-01-09"},  # on hydroxyurea, before the TKI
            {**blood, "date": "2020-01-10"},  # the TKI's first day
            {**blood, "date": "2020-07-01"},  # after the TKI was stopped
            {"kind": "chemistry", "date": "2020-07-01", "alt": 130, "alt_uln": 40},
        ],
    })


def test_low_platelets_count_for_ap_only_before_any_therapy() -> None:
    # ELN 2013: platelets < 100 "unrelated to therapy" is AP. 90 < 100 before any therapy on
    # 01-03; from the first therapy row's start on (hydroxyurea on 01-05, the TKI on 01-10, also
    # after it stopped) a low count may be the drug's and is not taken.
    tps = {t.date: t for t in build_timepoints(_record(), AssessOptions())}
    assert tps[dt.date(2020, 1, 3)].phase is Phase.ACCELERATED
    assert tps[dt.date(2020, 1, 9)].phase is Phase.CHRONIC
    assert tps[dt.date(2020, 1, 10)].phase is Phase.CHRONIC
    assert tps[dt.date(2020, 7, 1)].phase is Phase.CHRONIC
    ph = tps[dt.date(2020, 1, 3)].evidence[-1]
    assert (ph.rule, ph.basis) == ("ELN2013.phase", "platelets 90 < 100 off therapy")


def test_blood_and_chemistry_of_one_day_grade_together() -> None:
    # 2020-07-01, v5.0: platelets 90 < LLN 150 and >= 75: grade 1; WBC 5 >= 4: 0; hemoglobin
    # and lymphocytes not given. ALT 130 > 3 x 40 = 120 and <= 5 x 40 (no baseline): grade 2.
    tps = {t.date: t for t in build_timepoints(_record(), AssessOptions())}
    assert dict(tps[dt.date(2020, 7, 1)].toxicity) == {"platelets": 1, "wbc": 0, "alt": 2}
    # 2020-01-10 -> 2020-07-01: 21 + 29 + 31 + 30 + 31 + 30 + 1 = 173 days; / 30.4375 = 5.68.
    assert tps[dt.date(2020, 7, 1)].months == 5.68
