"""What the imatinib label rules tell the clinician, word for word (issue 18: the mutation run of
guidelines/label.py found the reasons unchecked; a wrong dose or threshold in the text would
mislead as much as a wrong action).

Each text is checked against the imatinib label (Gleevec USPI section 2.11, clinical-rules
section 8) and the case's own values:
- chronic phase: ANC < 1.0 and/or platelets < 50 -> withhold until ANC >= 1.5 and platelets
  >= 75, then the previous dose (400); on recurrence the reduced dose (300);
- accelerated/blast phase: ANC < 0.5 and/or platelets < 10 -> check the marrow, reduce 600 to
  400; persisting 2 weeks -> 300; persisting 4 weeks -> withhold until ANC >= 1 and platelets
  >= 20, then 300;
- hepatotoxicity: bilirubin > 3 x ULN or transaminases > 5 x ULN -> withhold until bilirubin
  < 1.5 x ULN and transaminases < 2.5 x ULN, then the reduced dose (400 -> 300, 800 -> 600).
Ratios are written to two decimals (3.7 / 1.2 = 3.08; 201 / 40 = 5.03; 99 / 40 = 2.48).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from cmltrack.domain.enums import Phase
from cmltrack.domain.guidelines.label import recommend_label_dose
from cmltrack.domain.records import PatientRecord

CASES = {
    c["name"]: c
    for c in yaml.safe_load(
        (Path(__file__).resolve().parents[2] / "cases" / "label.yaml").read_text(encoding="utf-8")
    )["cases"]
}
_CP = "chronic phase, ANC < 1 and/or platelets < 50 x10^9/L on imatinib 400 mg/day"
_CP_WAIT = "has not reached ANC >= 1.5 and platelets >= 75: withhold imatinib"
_AP = ("accelerated phase, ANC < 0.5 and/or platelets < 10 x10^9/L on imatinib 600 mg/day since "
       "2021-03-01: ANC 0.4, platelets 30")
_LIVER = "bilirubin > 3 x ULN or transaminases > 5 x ULN on imatinib"
_LIVER_WAIT = ("has not returned to bilirubin < 1.5 x ULN and transaminases < 2.5 x ULN: "
               "withhold imatinib")

BECAUSE = {
    "CP first cytopenia, ANC 0.9 < 1.0 -> hold":
        f"{_CP} (2021-02-01: ANC 0.9, platelets 150); latest count 2021-02-01: ANC 0.9, "
        f"platelets 150 {_CP_WAIT}",
    "CP first episode recovered exactly at ANC 1.5 and plt 75, drug held -> resume at the "
    "previous dose 400":
        f"{_CP} (2021-02-01: ANC 0.9, platelets 150); recovered on 2021-02-15: ANC 1.5, "
        "platelets 75 (ANC >= 1.5 and platelets >= 75): resume at the previous dose, 400 mg/day",
    "CP recurrence recovered while the rows show 400 running without a hold -> resume names 300":
        f"recurrence (episode 2, first on 2021-02-01): {_CP} (2021-04-01: ANC 2, platelets 40); "
        "recovered on 2021-04-20: ANC 2, platelets 80 (ANC >= 1.5 and platelets >= 75): resume "
        "at the reduced dose, 300 mg/day; the therapy rows show imatinib 400 mg/day running "
        "since 2021-01-04 without a recorded hold",
    "AP on 600, ANC 0.4 < 0.5 -> reduce to 400 (marrow check first)":
        f"{_AP}; check first whether the cytopenia is related to leukemia (marrow aspirate or "
        "biopsy); if unrelated: reduce imatinib to 400 mg/day",
    "AP cytopenia persisting 15 days (> 2 weeks) -> reduce to 300":
        f"{_AP}; persisting 15 days (> 14): reduce imatinib to 300 mg/day",
    "AP cytopenia persisting 29 days (> 4 weeks) -> hold":
        f"{_AP}; persisting 29 days (> 28), latest 2021-03-30: ANC 0.3, platelets 30: withhold "
        "imatinib until ANC >= 1 and platelets >= 20 if the cytopenia is still unrelated to "
        "leukemia",
    "AP held, recovered at exactly ANC 1.0 and plt 20 -> resume at 300":
        f"{_AP}; withheld after persisting > 28 days; recovered on 2021-04-10: ANC 1, platelets "
        "20 (ANC >= 1 and platelets >= 20): resume at 300 mg/day",
    "bilirubin 3.7 mg/dL = 3.08 x ULN 1.2 (> 3) -> hold":
        f"{_LIVER} 400 mg/day (2021-03-01: bilirubin 3.08 x ULN, ALT 0.75 x ULN, AST 0.75 x "
        "ULN); latest 2021-03-01: bilirubin 3.08 x ULN, ALT 0.75 x ULN, AST 0.75 x ULN "
        f"{_LIVER_WAIT}",
    "liver recovered (bilirubin 1.7 = 1.42 x, ALT 99 = 2.475 x) after holding 400 -> resume at "
    "300":
        f"{_LIVER} 400 mg/day (2021-03-01: bilirubin 3.08 x ULN, ALT 7.50 x ULN, AST 0.75 x "
        "ULN); recovered on 2021-03-20: bilirubin 1.42 x ULN, ALT 2.48 x ULN, AST 0.75 x ULN: "
        "resume at the reduced dose 300 mg/day",
    "liver toxicity on 800 -> resume at 600":
        f"{_LIVER} 800 mg/day (2021-03-01: bilirubin 0.83 x ULN, AST 6.25 x ULN); recovered on "
        "2021-03-20: bilirubin 0.83 x ULN, AST 1.50 x ULN: resume at the reduced dose 600 mg/day",
    "bilirubin recovered but no transaminase measured -> hold stands (the restart needs both)":
        f"{_LIVER} 400 mg/day (2021-03-01: bilirubin 3.33 x ULN, ALT 0.75 x ULN); latest "
        f"2021-03-20: bilirubin 0.83 x ULN {_LIVER_WAIT}",
}


@pytest.mark.parametrize("name", list(BECAUSE), ids=lambda n: n[:60])
def test_the_reason_says_rule_values_and_step(name: str) -> None:
    case: dict[str, Any] = CASES[name]
    record = PatientRecord.model_validate({"id": "L", **case["record"]})
    (rec,) = recommend_label_dose(record, as_of=case["as_of"], phase=Phase(case["phase"]))
    assert rec.because == BECAUSE[name]
