"""Regimen calendars and BSA doses, worked by hand from the aml spec's section 4 table."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest

from cmltrack.cli.app import run
from cmltrack.domain.regimens import bsa, plan_regimen, regimen_names
from cmltrack.errors import InputError

D1 = dt.date(2024, 3, 4)


def test_the_regimens_are_the_spec_table() -> None:
    assert regimen_names() == ["clag-im", "imatinib-400", "imatinib-600", "imatinib-800",
                               "imatinib-pioglitazone"]


@pytest.mark.parametrize(
    ("h", "w", "formula", "expected"),
    [
        (170, 70, "mosteller", "1.82"),   # sqrt(11900/3600) = 1.8181
        (160, 60, "mosteller", "1.63"),   # sqrt(2.6667) = 1.6330
        (152.1, 62.5, "mosteller", "1.63"),  # sqrt(2.640625) = 1.625 exactly: half-up
        (170, 70, "dubois", "1.81"),      # 0.007184 x 70^0.425 x 170^0.725 = 1.8097
        (180, 90, "mosteller", "2.12"),   # sqrt(4.5) = 2.1213
    ],
)
def test_bsa(h: float, w: float, formula: str, expected: str) -> None:
    assert bsa(h, w, formula) == Decimal(expected)  # type: ignore[arg-type]


def test_clag_im_spec_example() -> None:
    d = plan_regimen("clag-im", D1, height_cm=170, weight_kg=70).to_dict()
    assert (d["schema"], d["bsa_m2"], d["height_cm"], d["weight_kg"]) == (
        "cmltrack.regimen/1", 1.82, 170, 70)
    drugs = {x["drug"]: x for x in d["drugs"]}
    assert [x["drug"] for x in d["drugs"]] == ["cytarabine", "cladribine", "filgrastim",
                                                "imatinib"]
    assert drugs["cytarabine"] == {
        "drug": "cytarabine", "route": "IV", "per_m2_mg": 2000, "dose_mg": 3640,
        "doses_per_day": 1, "daily_mg": 3640, "days": [1, 2, 3, 4, 5, 6], "n_days": 6,
        "n_doses": 6, "first_date": "2024-03-04", "last_date": "2024-03-09",
        "total_mg": 21840, "timing": "2 h after cladribine", "source": "Mirza 2017 (seed 003)"}
    assert (drugs["cladribine"]["dose_mg"], drugs["cladribine"]["total_mg"]) == (9.1, 45.5)
    assert drugs["cladribine"]["days"] == [2, 3, 4, 5, 6]
    assert drugs["cladribine"]["first_date"] == "2024-03-05"
    assert (drugs["filgrastim"]["dose_mg"], drugs["filgrastim"]["per_m2_mg"]) == (0.3, None)
    im = drugs["imatinib"]
    assert (im["dose_mg"], im["doses_per_day"], im["daily_mg"], im["n_days"], im["n_doses"],
            im["total_mg"], im["first_date"], im["last_date"]) == (
        400, 2, 800, 14, 28, 11200, "2024-03-05", "2024-03-18")
    cal = d["calendar"]
    assert len(cal) == 15 and cal[0] == {"day": 1, "date": "2024-03-04", "administrations": [
        {"drug": "cytarabine", "dose_mg": 3640, "route": "IV"},
        {"drug": "filgrastim", "dose_mg": 0.3, "route": "SC"}]}
    # day 2: cladribine, then cytarabine 2 h after it, G-CSF, imatinib twice
    assert [a["drug"] for a in cal[1]["administrations"]] == [
        "cladribine", "cytarabine", "filgrastim", "imatinib", "imatinib"]
    assert cal[14] == {"day": 15, "date": "2024-03-18", "administrations": [
        {"drug": "imatinib", "dose_mg": 400, "route": "PO"}] * 2}


def test_an_exact_tie_rounds_up() -> None:
    d = plan_regimen("clag-im", D1, height_cm=160, weight_kg=60).to_dict()
    drugs = {x["drug"]: x for x in d["drugs"]}
    assert d["bsa_m2"] == 1.63
    assert drugs["cladribine"]["dose_mg"] == 8.2      # 5 x 1.63 = 8.15 -> 8.2 (not 8.1)
    assert drugs["cladribine"]["total_mg"] == 41      # 8.2 x 5
    assert drugs["cytarabine"]["dose_mg"] == 3260     # 2000 x 1.63


def test_dubois_and_a_bsa_cap() -> None:
    d = plan_regimen("clag-im", D1, height_cm=170, weight_kg=70, bsa_formula="dubois").to_dict()
    assert d["bsa_formula"] == "dubois" and d["bsa_m2"] == 1.81
    assert d["drugs"][0]["dose_mg"] == 3620 and d["drugs"][1]["dose_mg"] == 9.1  # 9.05 -> 9.1
    capped = plan_regimen("clag-im", D1, height_cm=190, weight_kg=110, bsa_cap_m2=2.0).to_dict()
    assert (capped["bsa_m2"], capped["bsa_uncapped_m2"]) == (2, 2.41)   # sqrt(5.8056) = 2.409
    assert capped["drugs"][0]["dose_mg"] == 4000


@pytest.mark.parametrize(
    ("name", "days", "dose", "per_day", "n_doses", "total", "last"),
    [
        ("imatinib-400", None, 400, 1, 28, 11200, "2024-03-31"),
        ("imatinib-600", None, 600, 1, 28, 16800, "2024-03-31"),
        ("imatinib-800", None, 400, 2, 56, 22400, "2024-03-31"),
        ("imatinib-400", 90, 400, 1, 90, 36000, "2024-06-01"),
    ],
)
def test_imatinib_calendars(name: str, days: int | None, dose: int, per_day: int, n_doses: int,
                            total: int, last: str) -> None:
    d = plan_regimen(name, D1, days=days).to_dict()
    (drug,) = d["drugs"]
    assert (drug["dose_mg"], drug["doses_per_day"], drug["n_doses"], drug["total_mg"],
            drug["last_date"], d["bsa_m2"]) == (dose, per_day, n_doses, total, last, None)
    assert len(d["calendar"]) == n_doses // per_day


def test_imatinib_pioglitazone() -> None:
    d = plan_regimen("imatinib-pioglitazone", D1).to_dict()
    im, pio = d["drugs"]
    assert (im["dose_mg"], pio["dose_mg"], pio["n_days"], pio["total_mg"]) == (400, 30, 365,
                                                                               10950)
    assert pio["last_date"] == "2025-03-03"   # day 365 (2024 is a leap year)
    d = plan_regimen("imatinib-pioglitazone", D1, days=30, imatinib_mg=600,
                     pioglitazone_mg=45).to_dict()
    im, pio = d["drugs"]
    assert (im["dose_mg"], pio["dose_mg"], pio["total_mg"]) == (600, 45, 1350)
    assert {a["dose_mg"] for day in d["calendar"] for a in day["administrations"]
            if a["drug"] == "pioglitazone"} == {45}  # no escalation by itself


@pytest.mark.parametrize(
    ("name", "kwargs", "field"),
    [
        ("clag-im", {}, "--height-cm"),
        ("clag-im", {"height_cm": 170}, "--weight-kg"),
        ("clag-im", {"height_cm": 17, "weight_kg": 70}, "--height-cm"),
        ("clag-im", {"height_cm": 170, "weight_kg": 0}, "--weight-kg"),
        ("imatinib-pioglitazone", {"pioglitazone_mg": 40}, "--pioglitazone-mg"),
        ("imatinib-pioglitazone", {"imatinib_mg": 900}, "--imatinib-mg"),
        ("imatinib-400", {"imatinib_mg": 600}, "--imatinib-mg"),
        ("imatinib-400", {"days": 0}, "--days"),
        ("hidac", {}, "regimen"),
    ],
)
def test_refusals(name: str, kwargs: dict[str, float], field: str) -> None:
    with pytest.raises(InputError) as exc:
        plan_regimen(name, D1, **kwargs)  # type: ignore[arg-type]
    assert exc.value.field == field


def test_cli_prints_a_calendar_and_json_and_refuses_with_exit_2(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["regimen", "clag-im", "--start", "2024-03-04", "--height-cm", "170",
                "--weight-kg", "70", "--days", "9"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert "   1  2024-03-04  cytarabine 3640 mg IV; filgrastim 0.3 mg SC" in lines
    assert "--days 9 ignored" in out and "not a medical device" in out
    assert run(["regimen", "imatinib-800", "--start", "2024-03-04", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["drugs"][0]["daily_mg"] == 800
    assert run(["regimen", "clag-im", "--start", "2024-03-04"]) == 2
    assert "--height-cm" in capsys.readouterr().err
    assert run(["regimen", "clag-im", "--start", "4 March"]) == 2
