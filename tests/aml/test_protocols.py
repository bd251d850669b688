"""clag-im and actim protocols: each criterion met / not met / not evaluable with its basis, and
the endpoints, worked by hand from the aml spec's section 5; kantarjian2003 still runs."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from cmltrack.domain.assess import assess
from cmltrack.domain.options import AssessOptions
from cmltrack.domain.records import PatientRecord

TODAY = dt.date(2030, 1, 1)
INC = dt.date(2024, 3, 4)


def d(n: int) -> str:
    return (INC + dt.timedelta(days=n)).isoformat()


def clag(**dx: Any) -> dict[str, Any]:
    """A relapsed AML patient: 7+3 in 2023, CR, relapse marrow 10 days before CLAG-IM."""
    diagnosis = {"date": "2023-01-02", "disease": "AML", "status": "relapsed", "ecog": 1,
                 "blasts_bm": 60, "wbc": 10, "blasts_pb": 20, **dx}
    return {
        "id": "C1", "birth_date": "1962-03-04", "diagnosis": diagnosis,
        "therapy": [
            {"drug": "cytarabine", "start": "2023-01-05", "end": "2023-01-11"},
            {"drug": "cytarabine", "dose_mg_per_day": 3640, "start": d(0), "end": d(5)},
            {"drug": "cladribine", "dose_mg_per_day": 9.1, "start": d(1), "end": d(5)},
            {"drug": "imatinib", "dose_mg_per_day": 800, "start": d(1), "end": d(14)}],
        "observations": [
            {"date": "2023-02-09", "kind": "marrow", "blasts_bm": 2},
            {"date": "2023-02-09", "kind": "blood", "anc": 2.0, "platelets": 150,
             "blasts_pb": 0, "wbc": 4},
            {"date": d(-10), "kind": "marrow", "blasts_bm": 40},
            {"date": d(-10), "kind": "blood", "anc": 0.8, "platelets": 60, "blasts_pb": 10,
             "wbc": 5},
            {"date": d(35), "kind": "marrow", "blasts_bm": 2},
            {"date": d(35), "kind": "blood", "anc": 1.5, "platelets": 120, "blasts_pb": 0,
             "wbc": 3},
            {"date": d(200), "kind": "marrow", "blasts_bm": 30},
            {"date": d(200), "kind": "blood", "anc": 0.8, "platelets": 40, "blasts_pb": 20,
             "wbc": 8}],
        "events": [{"date": d(90), "kind": "transplant", "detail": "allogeneic"},
                   {"date": d(300), "kind": "death"}],
    }


def run(data: dict[str, Any], protocol: Any) -> Any:
    rec = PatientRecord.model_validate(data, context={"today": TODAY})
    p = assess(rec, options=AssessOptions(protocol=protocol)).protocol
    assert p is not None
    return p


def crit(p: Any) -> dict[str, tuple[bool | None, str]]:
    return {c.id.rsplit(".", 1)[1]: (c.met, c.basis) for c in p.criteria}


def test_clag_im_eligible_with_endpoints() -> None:
    p = run(clag(), "clag-im")
    assert p.inclusion == INC  # the cytarabine paired with cladribine, not the 7+3
    c = crit(p)
    assert [k for k, (met, _) in c.items() if met is not True] == []
    assert "age 62.0 at inclusion" in c["age"][1]            # 62nd birthday on inclusion day
    assert "late relapse" in c["refractory_or_relapsed"][1]  # CR 2023-02-09, relapse 2024-02-23
    assert p.eligible is True
    e = p.endpoints
    assert (e["best_response"], e["responder"], e["allo_hct"]) == ("CR", True, True)
    assert e["os_months"] == round(300 / 30.4375, 4) and e["os_event"] is True
    assert e["pfs_months"] == round(200 / 30.4375, 4) and e["pfs_event"] is True  # relapse


@pytest.mark.parametrize(
    ("change", "criterion", "met"),
    [
        (lambda r: r.update(birth_date="2006-03-05"), "age", False),  # 17 the day before
        (lambda r: r.update(birth_date="2006-03-04"), "age", True),   # 18th birthday
        (lambda r: r.pop("birth_date"), "age", None),
        (lambda r: r["diagnosis"].update(status="newly_diagnosed"), "refractory_or_relapsed",
         False),
        (lambda r: r["diagnosis"].pop("status"), "refractory_or_relapsed", None),
        (lambda r: r["diagnosis"].update(ecog=2), "ecog", False),
        (lambda r: r["diagnosis"].pop("ecog"), "ecog", None),
        # the relapse marrow 29 days before inclusion is outside the 28-day window
        (lambda r: [o.update(date=d(-29)) for o in r["observations"][2:4]], "relapse_marrow",
         None),
        (lambda r: [o.update(date=d(-28)) for o in r["observations"][2:4]], "relapse_marrow",
         True),
        (lambda r: r["observations"][2].update(blasts_bm=5), "relapse_marrow", False),  # > 5%
    ],
)
def test_clag_im_criteria(change: Any, criterion: str, met: bool | None) -> None:
    data = clag()
    change(data)
    p = run(data, "clag-im")
    assert crit(p)[criterion][0] is met
    assert p.eligible is (False if met is False else None if met is None else True)


def test_clag_im_early_relapse_and_cml_blast_phase() -> None:
    data = clag()
    data["observations"][0]["date"] = data["observations"][1]["date"] = "2023-02-24"
    p = run(data, "clag-im")  # CR 2023-02-24, relapse 2024-02-23: < 12 months
    assert p.endpoints["relapse_timing"] == "early"
    cml = {"id": "B", "birth_date": "1960-01-01",
           "diagnosis": {"date": "2023-01-01", "phase": "blast"},
           "therapy": [{"drug": "cytarabine", "start": d(0)}, {"drug": "cladribine",
                                                              "start": d(1)}]}
    assert crit(run(cml, "clag-im"))["disease"][0] is True


def test_clag_im_non_responder_and_censoring() -> None:
    data = clag()
    data["observations"][4]["blasts_bm"] = 30   # SD at day 35 (vs relapse marrow 40%)
    data["observations"] = data["observations"][:6]
    data["events"] = []
    p = run(data, "clag-im")
    e = p.endpoints
    assert (e["best_response"], e["responder"], e["allo_hct"]) == ("SD", False, False)
    assert (e["os_event"], e["pfs_event"]) == (False, False)
    assert e["os_months"] == round(35 / 30.4375, 4)   # censored at the last date


def actim(**over: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": "A1", "diagnosis": {"date": "2019-12-20", "disease": "CML", "phase": "chronic"},
        "therapy": [{"drug": "imatinib", "dose_mg_per_day": 400, "start": "2020-01-31"},
                    {"drug": "pioglitazone", "dose_mg_per_day": 30, "start": "2022-01-31"}],
        "observations": [
            {"date": "2022-01-31", "kind": "pcr", "bcr_abl1_is": 0.05, "control_gene": "ABL1",
             "control_copies": 50000}],
    }
    data.update(over)
    return data


def test_actim_eligible() -> None:
    p = run(actim(), "actim")
    c = crit(p)
    assert p.inclusion == dt.date(2022, 1, 31)
    assert {k: v[0] for k, v in c.items()} == {
        "chronic_phase": True, "imatinib_24_months": True, "stable_dose": True,
        "mmr_not_mr45": True}
    assert "24 months reached on 2022-01-31" in c["imatinib_24_months"][1]
    assert p.endpoints["mr45_by_12m"] is None  # window open, nothing yet (as of inclusion)


@pytest.mark.parametrize(
    ("imatinib_start", "met"),
    [("2020-01-31", True), ("2020-02-01", False),
     # 31 August + 24 months is 31 August; 29 February 2020 + 24 months is 28 February 2022
     ("2019-08-31", True)],
)
def test_actim_24_calendar_months(imatinib_start: str, met: bool) -> None:
    data = actim()
    data["therapy"][0]["start"] = imatinib_start
    assert crit(run(data, "actim"))["imatinib_24_months"][0] is met
    data["therapy"][0]["start"] = "2020-02-29"
    data["therapy"][1]["start"] = "2022-02-28"
    data["observations"][0]["date"] = "2022-02-28"
    assert crit(run(data, "actim"))["imatinib_24_months"][0] is True


def test_actim_stable_dose() -> None:
    data = actim()
    data["therapy"] = [
        {"drug": "imatinib", "dose_mg_per_day": 300, "start": "2020-01-31", "end": "2021-07-31"},
        {"drug": "imatinib", "dose_mg_per_day": 400, "start": "2021-07-31"},
        data["therapy"][1]]
    assert crit(run(data, "actim"))["stable_dose"][0] is False   # change on 2021-07-31
    data["therapy"][0]["end"] = data["therapy"][1]["start"] = "2021-07-30"
    assert crit(run(data, "actim"))["stable_dose"][0] is True    # 6 months before: 2021-07-31


@pytest.mark.parametrize(
    ("pcr", "met"),
    [
        ({"bcr_abl1_is": 0.1}, True),        # MMR is <= 0.1
        ({"bcr_abl1_is": 0.1001}, False),
        ({"bcr_abl1_is": 0.0033}, True),
        ({"bcr_abl1_is": 0.0032}, False),    # MR4.5 already
        ({"detected": False, "control_gene": "ABL1", "control_copies": 32000}, False),
        ({"detected": False, "control_gene": "ABL1", "control_copies": 31999}, None),
    ],
)
def test_actim_mmr_not_mr45(pcr: dict[str, Any], met: bool | None) -> None:
    data = actim()
    data["observations"] = [{"date": "2022-01-31", "kind": "pcr", **pcr}]
    assert crit(run(data, "actim"))["mmr_not_mr45"][0] is met


def _pcr(day: str, value: float) -> dict[str, Any]:
    return {"date": day, "kind": "pcr", "bcr_abl1_is": value, "control_gene": "ABL1",
            "control_copies": 50000}


def test_actim_endpoint_window() -> None:
    base = actim()["observations"]
    # day 365 after 2022-01-31 is 2023-01-31: inside; day 366 outside
    p = run(actim(observations=[*base, _pcr("2023-01-31", 0.0032)]), "actim")
    assert p.endpoints["mr45_by_12m"] is True and p.endpoints["mr45_date"] == "2023-01-31"
    p = run(actim(observations=[*base, _pcr("2023-02-01", 0.0032)]), "actim")
    assert p.endpoints["mr45_by_12m"] is False   # a PCR at >= 365 days, no MR4.5 in window
    p = run(actim(observations=[*base, _pcr("2022-07-31", 0.01)]), "actim")
    assert p.endpoints["mr45_by_12m"] is None     # window still open on 2022-07-31
    # a PCR on the inclusion day is the baseline, never the endpoint
    p = run(actim(observations=[_pcr("2022-01-31", 0.003), _pcr("2022-06-30", 0.01)]),
            "actim")
    assert p.endpoints["mr45_by_12m"] is None
    assert crit(p)["mmr_not_mr45"][0] is False


def test_kantarjian2003_still_runs() -> None:
    p = PatientRecord.model_validate(actim(), context={"today": TODAY})
    a = assess(p, options=AssessOptions(protocol="kantarjian2003"))
    assert a.protocol is None and "protocol" not in a.to_dict()
