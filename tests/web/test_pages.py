"""The clinic in a real headless chromium against a real ``cmltrack serve --demo``.

Expected values are worked out by hand from the bundled example clinic
(``src/cmltrack/examples/README.md``) and the published definitions, not read from the code.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

pytestmark = pytest.mark.timeout(300)

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = json.loads((ROOT / "src/cmltrack/examples/patients.json").read_text())
DEMO_IDS = [r["id"] for r in EXAMPLES]


def record(pid: str) -> dict[str, Any]:
    return next(r for r in EXAMPLES if r["id"] == pid)


def api(demo: Any) -> httpx.Client:
    return httpx.Client(base_url=demo.base, timeout=60, headers={
        "Authorization": f"Bearer {demo.tokens['clinician']}"})


def add_pcr(page: Any, date: str, value: str, copies: str) -> None:
    """Fill and send the patient page's BCR::ABL1 form."""
    form = page.locator("form", has=page.get_by_role("heading", name="BCR::ABL1 PCR"))
    form.get_by_label("Date").fill(date)
    form.get_by_label("BCR::ABL1 % IS").fill(value)
    form.get_by_label("Control copies").fill(copies)
    form.get_by_role("button", name="Add PCR").click()


def test_sign_in_lands_on_the_worklist_in_urgency_order(shot: Any, clinician: Any) -> None:
    page = clinician
    assert re.search(r"/worklist$", page.url)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    assert page.get_by_role("note").first.inner_text().startswith("Decision support")
    rows = page.locator("tbody tr[data-patient-id]")
    ids = [rows.nth(i).get_attribute("data-patient-id") for i in range(rows.count())]
    assert set(DEMO_IDS) <= set(ids)
    keys = [
        (int(rows.nth(i).get_attribute("data-urgency")),
         -int(rows.nth(i).get_attribute("data-days-overdue")), ids[i])
        for i in range(rows.count())
    ]
    assert keys == sorted(keys), "urgent first, then most days overdue, then id"
    # P11 died on 2018-10-03 (a death event in the record, examples README): no longer
    # followed, ranked 7, after every patient still treated.
    p11 = page.locator('tr[data-patient-id="P11"]')
    assert p11.get_attribute("data-urgency") == "7"
    assert "died 2018-10-03" in p11.inner_text()
    assert max(ids.index(p) for p in DEMO_IDS if p != "P11") < ids.index("P11")
    # P01 is an optimal responder in MR4.5 (README): status optimal.
    assert page.locator('tr[data-patient-id="P01"]').get_attribute("data-status") == "optimal"
    shot(page, "worklist")


def test_worklist_sorts_and_filters(clinician: Any) -> None:
    page = clinician
    page.get_by_role("link", name=re.compile("^Patient")).click()
    ids = page.locator("tbody tr[data-patient-id]").evaluate_all(
        "rows => rows.map(r => r.dataset.patientId)")
    assert ids == sorted(ids)
    page.get_by_label("Status").select_option("optimal")
    page.get_by_role("button", name="Filter").click()
    statuses = page.locator("tbody tr[data-patient-id]").evaluate_all(
        "rows => rows.map(r => r.dataset.status)")
    assert statuses and set(statuses) == {"optimal"}


def test_click_opens_the_patient_with_the_chart(shot: Any, clinician: Any) -> None:
    page = clinician
    page.locator('tr[data-patient-id="P04"] a').click()
    assert page.url.endswith("/patients/P04")
    assert "P04" in page.locator("h1").inner_text()
    page.wait_for_selector('[data-testid="bcr-abl1-chart"][data-ready="true"]')
    chart = page.get_by_test_id("bcr-abl1-chart")
    points = chart.get_by_test_id("pcr-point")
    pcrs = [o for o in record("P04")["observations"] if o["kind"] == "pcr"]
    assert points.count() == len(pcrs)
    drawn = {(p.get_attribute("data-date"), p.get_attribute("data-detected")):
             p.get_attribute("data-value") for p in points.all()}
    # Loss of MMR at 33 months (0.35% IS), 1.8% at 35 months (README): detected, at value.
    values = {float(v) for (_, det), v in drawn.items() if det == "true"}
    assert 0.35 in values and 1.8 in values
    # The MMR, MR4 and MR4.5 lines at 0.1%, 0.01% and 0.0032% IS (CROSS15 bins).
    lines = chart.get_by_test_id("mr-line")
    assert sorted(float(x.get_attribute("data-value")) for x in lines.all()) == [
        0.0032, 0.01, 0.1]
    # ELN 2020's BCR::ABL1 cells: 3, 6, 12 months and "any time" after 12 (four zones),
    # counted from the ponatinib start (2018-05-14), the current line.
    zones = chart.get_by_test_id("milestone-zone")
    assert [z.get_attribute("data-label") for z in zones.all()] == [
        "3 mo", "6 mo", "12 mo", "any time"]
    # Hover shows value, date and control copies.
    point = chart.locator('[data-testid="pcr-point"][data-value="1.8"]')
    point.hover()
    tip = page.locator("#chart-tip")
    assert "1.8%" in tip.inner_text() and "copies" in tip.inner_text()
    # Keyboard: a point takes focus (Tab) and shows the same text.
    page.mouse.move(0, 0)
    points.first.focus()
    assert points.first.get_attribute("data-date") in tip.inner_text()
    # Recommendations name rule and source; the explain trail is there.
    assert page.locator("table.recs tbody tr").count() >= 1
    assert page.get_by_role("heading", name=re.compile("Explain")).count() == 1
    shot(page, "patient-P04")


def test_undetected_results_sit_at_their_sensitivity(clinician: Any) -> None:
    page = clinician
    page.goto(page.url.replace("/worklist", "/patients/P01"))
    page.wait_for_selector('[data-testid="bcr-abl1-chart"][data-ready="true"]')
    undetected = page.get_by_test_id("pcr-point").and_(
        page.locator('[data-detected="false"]'))
    copies = {o["date"]: o["control_copies"] for o in record("P01")["observations"]
              if o["kind"] == "pcr" and o.get("detected") is False}
    assert undetected.count() == len(copies) > 0
    for p in undetected.all():
        # One BCR::ABL1 copy among c ABL1 copies is 100/c % (MR4 = 10,000 copies = 0.01%).
        assert float(p.get_attribute("data-value")) == pytest.approx(
            100 / copies[p.get_attribute("data-date")], rel=1e-9)


def test_adding_a_lab_result_changes_the_status_and_is_audited(
    new_page: Any, demo_server: Any
) -> None:
    # A fresh copy of P01 (optimal responder, MR4.5 from 30 months): a PCR of 2% IS long after
    # 12 months is ELN 2020 failure ("> 1%" at any time after 12 months).
    rec = dict(record("P01"), id="WEB-ADD-1")
    with api(demo_server) as c:
        assert c.put("/api/v1/patients/WEB-ADD-1", json=rec).status_code == 201
    page = new_page()
    page.goto(demo_server.clinician_url)
    page.goto(f"{demo_server.base}/patients/WEB-ADD-1")
    assert page.locator("h1 .status").inner_text() == "optimal"
    add_pcr(page, "2021-06-01", "2", "52000")
    assert page.get_by_role("status").first.inner_text().startswith("The PCR result was added")
    assert page.locator("h1 .status").inner_text() == "failure"
    audit = page.locator("table.audit tbody tr").first.inner_text()
    assert "add observation" in audit and "demo-clinician" in audit
    assert page.get_by_test_id("pcr-point").and_(
        page.locator('[data-date="2021-06-01"]')).get_attribute("data-value") == "2"
    # A value the record contract refuses is refused here too, and nothing is stored.
    form = page.locator("form", has=page.get_by_role("heading", name="BCR::ABL1 PCR"))
    form.get_by_label("Date").fill("2021-07-01")
    form.get_by_label("BCR::ABL1 % IS").fill("-3")
    form.get_by_role("button", name="Add PCR").click()
    assert page.get_by_role("alert").inner_text().startswith("Not saved")
    assert page.get_by_test_id("pcr-point").and_(
        page.locator('[data-date="2021-07-01"]')).count() == 0
    page.goto(f"{demo_server.base}/worklist")
    row = page.locator('tr[data-patient-id="WEB-ADD-1"]')
    assert row.get_attribute("data-status") == "failure"
    assert row.get_attribute("data-urgency") == "1"
    assert not page.errors, page.errors
    page.context.close()


def test_analyst_sees_the_cohort_but_no_patient(shot: Any, analyst: Any, demo_server: Any) -> None:
    page = analyst
    assert page.url.endswith("/cohort")
    page.wait_for_selector('[data-testid="km-plot"][data-ready="true"]')
    km = page.get_by_test_id("km-plot")
    assert km.get_attribute("data-ready") == "true"
    assert km.get_by_test_id("km-curve").count() == 2  # PFS and OS
    assert km.get_by_test_id("at-risk-row").count() == 2
    body = page.locator("main").inner_text()
    for pid in DEMO_IDS:
        assert not re.search(rf"\b{pid}\b", body)
    shot(page, "cohort")
    response = page.goto(f"{demo_server.base}/patients/P04")
    assert response is not None and response.status == 403
    assert page.get_by_role("heading", name="Not allowed").count() == 1
    response = page.goto(f"{demo_server.base}/worklist")
    assert response is not None and response.status == 403
    with page.expect_download() as download:
        page.goto(f"{demo_server.base}/cohort")
        page.get_by_role("link", name=re.compile("Download the endpoint table")).click()
    text = Path(download.value.path()).read_text()
    assert text.startswith("USUBJID,PARAMCD")
    assert "anon-" in text and not any(re.search(rf"\b{p}\b", text) for p in DEMO_IDS)


def test_record_content_is_escaped_and_nothing_runs(new_page: Any, demo_server: Any) -> None:
    evil_id = "<img src=x onerror=window.__xss=1>"
    note = "<script>window.__xss=2</script><b onmouseover=window.__xss=3>bold</b>"
    rec = dict(record("P02"), id=evil_id)
    rec["events"] = [{"date": "2020-04-01", "kind": "off_study", "note": note}]
    with api(demo_server) as c:
        r = c.put(f"/api/v1/patients/{httpx.URL(path=evil_id).raw_path.decode()}", json=rec)
        assert r.status_code in (200, 201), r.text
    page = new_page()
    page.goto(demo_server.clinician_url)
    row = page.locator("tbody tr").filter(has_text="onerror")
    assert row.count() == 1
    assert row.locator("th").inner_text() == evil_id  # shown as text
    row.locator("a").click()
    assert evil_id in page.locator("h1").inner_text()
    assert note in page.locator("ul.reported").inner_text()
    page.locator("ul.reported").hover()
    assert page.evaluate("window.__xss") is None
    assert page.locator("img[src=x], b[onmouseover]").count() == 0
    page.context.close()


def test_session_cookie_headers_and_csrf(clinician: Any, demo_server: Any) -> None:
    page = clinician
    cookie = next(c for c in page.context.cookies() if c["name"] == "cmltrack_session")
    assert cookie["httpOnly"] and cookie["secure"] and cookie["sameSite"] == "Strict"
    response = page.goto(f"{demo_server.base}/patients/P04")
    assert response is not None
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    # A form post without the session's CSRF token is refused and stores nothing.
    r = page.request.post(f"{demo_server.base}/patients/P04/pcr",
                          form={"date": "2020-06-01", "bcr_abl1_is": "5"})
    assert r.status == 403
    with api(demo_server) as c:
        stored = c.get("/api/v1/patients/P04").json()
    assert not any(o["date"] == "2020-06-01" for o in stored["observations"])


def test_sign_in_page(shot: Any, new_page: Any, demo_server: Any) -> None:
    page = new_page()
    page.goto(f"{demo_server.base}/")
    assert page.url.endswith("/sign-in")
    # The first keyboard stop of every page is the skip link (the sign-in form autofocuses
    # its token field, so ask the document rather than press Tab).
    assert page.evaluate(
        "document.querySelector('a[href], button, input:not([type=hidden])').textContent"
    ) == "Skip to content"
    page.get_by_label("API token").fill("not-a-token")
    page.get_by_role("button", name="Sign in").click()
    assert "not valid" in page.get_by_role("alert").inner_text()
    shot(page, "sign-in")
    page.get_by_label("API token").fill(demo_server.tokens["clinician"])
    page.get_by_role("button", name="Sign in").click()
    assert page.url.endswith("/worklist")
    page.context.close()


def test_a_therapy_change_replaces_the_record_and_is_audited(
    new_page: Any, demo_server: Any
) -> None:
    # A copy of P02 (imatinib 400 mg since 2017-09-11, no end): switching to dasatinib 100 mg
    # on 2021-01-04 ends the imatinib line that day and starts a second TKI line.
    rec = dict(record("P02"), id="WEB-THER-1")
    with api(demo_server) as c:
        assert c.put("/api/v1/patients/WEB-THER-1", json=rec).status_code == 201
    page = new_page()
    page.goto(demo_server.clinician_url)
    page.goto(f"{demo_server.base}/patients/WEB-THER-1")
    form = page.locator("form", has=page.get_by_role("heading", name="Therapy change"))
    form.get_by_label("Date of the change").fill("2021-01-04")
    form.get_by_label("Drug").fill("dasatinib")
    form.get_by_label("Dose mg/day").fill("100")
    form.get_by_label("Why the current line ends").select_option("intolerance")
    form.get_by_role("button", name="Record change").click()
    assert page.get_by_role("status").first.inner_text().startswith("The therapy change")
    assert "dasatinib 100 mg/day" in page.locator("dl.summary").inner_text()
    assert "replace" in page.locator("table.audit tbody tr").first.inner_text()
    page.wait_for_selector('[data-testid="bcr-abl1-chart"][data-ready="true"]')
    assert page.get_by_test_id("therapy-band").count() == 2
    with api(demo_server) as c:
        therapy = c.get("/api/v1/patients/WEB-THER-1").json()["therapy"]
    assert therapy == [
        {"drug": "imatinib", "dose_mg_per_day": 400.0, "start": "2017-09-11",
         "end": "2021-01-04", "reason_end": "intolerance"},
        {"drug": "dasatinib", "start": "2021-01-04", "dose_mg_per_day": 100.0},
    ]
    assert not page.errors, page.errors
    page.context.close()


def test_worklist_pages(clinician: Any) -> None:
    page = clinician
    page.goto(page.url + "?per=5")
    assert page.locator("tbody tr[data-patient-id]").count() == 5
    first = page.locator("tbody tr[data-patient-id]").first.get_attribute("data-patient-id")
    page.get_by_role("link", name="Next ›").click()
    assert page.locator("tbody tr[data-patient-id]").count() == 5
    assert page.locator(f'tr[data-patient-id="{first}"]').count() == 0
    page.get_by_role("link", name=re.compile("^Show all")).click()
    assert page.locator("tbody tr[data-patient-id]").count() >= len(DEMO_IDS)


def test_a_patient_id_with_slash_and_url_characters_opens_and_takes_a_form(
    new_page: Any, demo_server: Any
) -> None:
    # Ids come from the clinic's own systems: "/", "?", "#", "%" and spaces are all legal in a
    # record's id and must neither 404 nor cut the link short.
    pid = "site-B/2024/P 7?x#1%"
    rec = dict(record("P01"), id=pid)
    with api(demo_server) as c:
        assert c.put(f"/api/v1/patients/{quote(pid, safe='')}", json=rec).status_code == 201
    page = new_page()
    page.goto(demo_server.clinician_url)
    page.goto(f"{demo_server.base}/worklist?q=site-B%2F2024")
    page.locator(f'tr[data-patient-id="{pid}"] th a').click()
    assert pid in page.locator("h1").inner_text()
    add_pcr(page, "2021-06-01", "0.005", "90000")
    assert page.get_by_role("status").first.inner_text().startswith("The PCR result was added")
    assert pid in page.locator("h1").inner_text()
    assert page.get_by_test_id("pcr-point").and_(
        page.locator('[data-date="2021-06-01"]')).get_attribute("data-value") == "0.005"
    assert not page.errors, page.errors
    page.context.close()


def test_toxicity_grades_over_time_are_charted(clinician: Any, demo_server: Any) -> None:
    """CTCAE v5.0 grades by hand (Investigations): platelet count decreased grade 2 is
    < 75.0-50.0 x 10^9/L and grade 3 < 50.0-25.0; neutrophil count decreased grade 3 is
    < 1.0-0.5 x 10^9/L. 60 and 40 platelets are grades 2 and 3; ANC 0.9 is grade 3; the
    other values are normal (no mark)."""
    rec = {"id": "TOX1", "sex": "M", "birth_date": "1970-01-01",
           "diagnosis": {"date": "2020-01-02", "disease": "CML", "phase": "chronic"},
           "therapy": [{"drug": "imatinib", "dose_mg_per_day": 400, "start": "2020-01-06"}],
           "observations": [
               {"date": "2020-01-02", "kind": "blood", "wbc": 6.0, "anc": 3.5,
                "platelets": 250, "hemoglobin": 14.8},
               {"date": "2020-02-03", "kind": "blood", "wbc": 6.0, "anc": 3.0,
                "platelets": 60, "hemoglobin": 14.8},
               {"date": "2020-03-02", "kind": "blood", "wbc": 6.0, "anc": 0.9,
                "platelets": 40, "hemoglobin": 14.8},
               {"date": "2020-04-01", "kind": "blood", "wbc": 6.0, "anc": 3.0,
                "platelets": 200, "hemoglobin": 14.8}]}
    with api(demo_server) as c:
        r = c.put("/api/v1/patients/TOX1", json=rec)
        assert r.status_code in (200, 201), r.text
    page = clinician
    page.goto(page.url.replace("/worklist", "/patients/TOX1"))
    page.wait_for_selector('[data-testid="grades-chart"][data-ready="true"]')
    chart = page.get_by_test_id("grades-chart")
    marks = {(m.get_attribute("data-term"), m.get_attribute("data-date"),
              m.get_attribute("data-grade")) for m in chart.get_by_test_id("grade-mark").all()}
    # Terms by the assessment's keys (the counts table names them the same way).
    assert marks == {
        ("platelets", "2020-02-03", "2"),
        ("platelets", "2020-03-02", "3"),
        ("neutrophils", "2020-03-02", "3"),
    }
    rows = [r.get_attribute("data-term") for r in chart.get_by_test_id("grade-row").all()]
    assert sorted(rows) == ["neutrophils", "platelets"]
