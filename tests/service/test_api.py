"""The REST API against a real server, on SQLite and PostgreSQL (service.md, "REST API")."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import subprocess
import sys
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import sqlalchemy as sa
from svc_helpers import ROOT, Server, database_url, examples

PROBLEM = "application/problem+json"


def jcs_digest(record: dict[str, Any]) -> str:
    # For records of strings and integers, RFC 8785 is sorted keys without whitespace.
    text = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def rec(pid: str, **extra: Any) -> dict[str, Any]:
    return {"id": pid, "sex": "F", "birth_date": "1970-01-01",
            "diagnosis": {"date": "2020-01-15", "phase": "chronic"},
            "therapy": [{"drug": "imatinib", "dose_mg_per_day": 400, "start": "2020-01-20"}],
            "observations": [{"date": "2020-04-20", "kind": "pcr", "bcr_abl1_is": 8,
                              "control_gene": "ABL1", "control_copies": 40000}], **extra}


def audit_entries(srv: Server, patient_id: str) -> list[dict[str, Any]]:
    with srv.client("admin") as c:
        r = c.get("/api/v1/audit", params={"patient_id": patient_id})
    assert r.status_code == 200
    entries: list[dict[str, Any]] = r.json()["entries"]
    return entries


def test_health_needs_no_token(server: Server) -> None:
    r = httpx.get(server.url + "/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "db": "ok", "schema": "0001"}


def test_no_or_bad_token_is_401_without_detail(server: Server) -> None:
    for headers in ({}, {"Authorization": "Bearer cmlt_nottoken"}, {"Authorization": "Basic x"}):
        r = httpx.get(server.url + "/api/v1/patients/P01", headers=headers)
        assert r.status_code == 401
        assert r.headers["content-type"] == PROBLEM
        assert r.json() == {"type": "about:blank", "status": 401, "title": "Unauthorized"}


def test_roles_least_privilege(server: Server) -> None:
    with server.client("analyst") as c:
        assert c.get("/api/v1/patients/R1").status_code == 403
        assert c.put("/api/v1/patients/R1", json=rec("R1")).status_code == 403
        assert c.get("/api/v1/worklist").status_code == 403
        assert c.get("/api/v1/audit").status_code == 403
    with server.client("admin") as c:
        r = c.get("/api/v1/patients/R1/assessment")
        assert r.status_code == 403 and r.headers["content-type"] == PROBLEM
        assert r.json()["type"] == "urn:cmltrack:problem:forbidden"
    with server.client("clinician") as c:
        assert c.get("/api/v1/audit").status_code == 403
        assert c.get("/api/v1/tokens").status_code == 403


def test_put_get_replace_unchanged_delete(server: Server) -> None:
    r1 = rec("A1")
    with server.client() as c:
        r = c.put("/api/v1/patients/A1", json=r1)
        assert r.status_code == 201, r.text
        assert r.headers["etag"] == f'"{jcs_digest(r1)}"'
        assert c.get("/api/v1/patients/A1").json() == r1
        assert c.put("/api/v1/patients/A1", json=r1).status_code == 200  # unchanged
        r2 = rec("A1", sex="M")
        r = c.put("/api/v1/patients/A1", json=r2)
        assert r.status_code == 200 and r.json()["status"] == "replaced"
        assert c.get("/api/v1/patients/A1").headers["etag"] == f'"{jcs_digest(r2)}"'
        assert c.delete("/api/v1/patients/A1").status_code == 204
        assert c.get("/api/v1/patients/A1").status_code == 404
    actions = [(e["action"], e["digest_before"], e["digest_after"])
               for e in audit_entries(server, "A1")]
    assert actions == [("create", None, jcs_digest(r1)),
                       ("replace", jcs_digest(r1), jcs_digest(r2)),
                       ("delete", jcs_digest(r2), None)]


def test_stale_if_match_is_412_and_changes_nothing(server: Server) -> None:
    with server.client() as c:
        etag = c.put("/api/v1/patients/B1", json=rec("B1")).headers["etag"]
        # Clinician 1 replaces the record...
        assert c.put("/api/v1/patients/B1", json=rec("B1", sex="M"),
                     headers={"If-Match": etag}).status_code == 200
        # ...clinician 2 still holds the old version: every write is refused.
        stale = {"If-Match": etag}
        r = c.put("/api/v1/patients/B1", json=rec("B1", sex="F"), headers=stale)
        assert r.status_code == 412 and r.headers["content-type"] == PROBLEM
        obs = {"date": "2020-07-20", "kind": "pcr", "bcr_abl1_is": 0.9}
        assert c.post("/api/v1/patients/B1/observations", json=obs,
                      headers=stale).status_code == 412
        assert c.delete("/api/v1/patients/B1", headers=stale).status_code == 412
        assert c.get("/api/v1/patients/B1").json()["sex"] == "M"
        fresh = c.get("/api/v1/patients/B1").headers["etag"]
        r = c.post("/api/v1/patients/B1/observations", json=obs, headers={"If-Match": fresh})
        assert r.status_code == 201
        assert c.get("/api/v1/patients/B1").json()["observations"][-1] == obs
    assert [e["action"] for e in audit_entries(server, "B1")] == [
        "create", "replace", "add_observation"]


def test_refusals_are_problems(server: Server) -> None:
    with server.client() as c:
        r = c.put("/api/v1/patients/C1", json=rec("C2"))
        assert r.status_code == 409 and r.headers["content-type"] == PROBLEM
        bad = rec("C1")
        bad["observations"].append({"date": "2020-05-01", "kind": "blood", "platelets": -5})
        r = c.put("/api/v1/patients/C1", json=bad)
        assert r.status_code == 422
        p = r.json()
        assert p["type"] == "urn:cmltrack:problem:impossible_value"
        assert p["instance"] == "/api/v1/patients/C1"
        assert "$.observations[1].platelets" in p["detail"]
        assert p["errors"] == [{"pointer": "/observations/1/platelets", "field": "platelets",
                                "message": p["errors"][0]["message"]}]
        assert c.get("/api/v1/patients/C1").status_code == 404  # nothing stored
        r = c.put("/api/v1/patients/C1", content=b'{"id": "C1",',
                  headers={"content-type": "application/json"})
        assert r.status_code == 400 and r.headers["content-type"] == PROBLEM
        r = c.put("/api/v1/patients/C1", content=b"id=C1",
                  headers={"content-type": "text/plain"})
        assert r.status_code == 415
        assert c.get("/api/v1/nowhere").status_code == 404
        r = c.patch("/api/v1/patients/C1", json={})
        assert r.status_code == 405 and r.headers["content-type"] == PROBLEM
        r = c.get("/api/v1/patients/P01/assessment", params={"guideline": "ELN1999"})
        assert r.status_code in (400, 404)
        r = c.put("/api/v1/patients/C1", content=b"x" * (16 * 1024 * 1024 + 1),
                  headers={"content-type": "application/json"})
        assert r.status_code == 413


def cli_assess(records: list[dict[str, Any]], *args: str) -> list[str]:
    path = ROOT / "tests" / "service" / ".records-for-cli.json"
    path.write_text(json.dumps(records))
    try:
        out = subprocess.run(
            [sys.executable, "-c", "from cmltrack.cli.app import main; main()", "assess",
             str(path), "--json", *args], capture_output=True, text=True, check=True,
            env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"})
    finally:
        path.unlink()
    return out.stdout.splitlines()


def test_assessment_identical_to_cli(server: Server) -> None:
    records = [dict(r, id=f"E-{r['id']}") for r in examples()]
    with server.client() as c:
        for r in records:
            assert c.put(f"/api/v1/patients/{r['id']}", json=r).status_code in (200, 201)
        for args, params in (((), {}),
                             (("--guideline", "ELN2013", "--protocol", "kantarjian2003",
                               "--as-of", "2019-06-30"),
                              {"guideline": "ELN2013", "protocol": "kantarjian2003",
                               "as_of": "2019-06-30"})):
            lines = cli_assess(records, *args)
            for r, line in zip(records, lines, strict=True):
                cold = c.get(f"/api/v1/patients/{r['id']}/assessment", params=params)
                warm = c.get(f"/api/v1/patients/{r['id']}/assessment", params=params)
                assert cold.status_code == 200, cold.text
                assert cold.text == line  # byte for byte, as `assess --json` prints it
                assert warm.text == line
                record_etag = c.get(f"/api/v1/patients/{r['id']}").headers["etag"]
                assert cold.headers["etag"] == record_etag
        r = c.get("/api/v1/patients/E-P01/assessment", params={"phase_criteria": "nope"})
        assert r.status_code == 400 and r.headers["content-type"] == PROBLEM


def test_write_invalidates_cached_assessment(server: Server) -> None:
    with server.client() as c:
        c.put("/api/v1/patients/D1", json=rec("D1"))
        before = c.get("/api/v1/patients/D1/assessment").json()
        assert before["as_of"] == "2020-04-20"
        obs = {"date": "2020-07-20", "kind": "pcr", "bcr_abl1_is": 12.0,
               "control_gene": "ABL1", "control_copies": 40000}
        assert c.post("/api/v1/patients/D1/observations", json=obs).status_code == 201
        after = c.get("/api/v1/patients/D1/assessment").json()
        assert after["as_of"] == "2020-07-20"
        assert after["timepoints"][-1]["molecular"] == "none"  # > 10% IS


def test_import_streams_acks_and_is_idempotent(server: Server) -> None:
    lines = [json.dumps(rec("I1")), json.dumps(rec("I2", sex="M")), "",
             json.dumps({"id": "I3", "observations": [
                 {"date": "2020-01-01", "kind": "blood", "platelets": -5}]}),
             "{not json", json.dumps(rec("I4"))]
    body = ("\n".join(lines) + "\n").encode()
    headers = {"content-type": "application/x-ndjson"}
    with server.client() as c:
        once = c.post("/api/v1/patients:import", content=body, headers=headers)
        first = [json.loads(x) for x in once.text.splitlines()]
        assert [(a["line"], a.get("id"), a["status"]) for a in first] == [
            (1, "I1", "created"), (2, "I2", "created"), (4, "I3", "refused"),
            (5, None, "refused"), (6, "I4", "created")]
        assert first[2]["problem"]["status"] == 422
        assert "line 4, $.observations[0].platelets" in first[2]["problem"]["detail"]
        assert first[3]["problem"]["status"] == 400
        assert first[0]["digest"] == jcs_digest(rec("I1"))
        again = c.post("/api/v1/patients:import", content=body, headers=headers)
        second = [json.loads(x) for x in again.text.splitlines()]
        assert [a["status"] for a in second] == [
            "unchanged", "unchanged", "refused", "refused", "unchanged"]
        assert c.get("/api/v1/patients/I3").status_code == 404
        r = c.post("/api/v1/patients:import", content=body, headers={"content-type": "text/csv"})
        assert r.status_code == 415
    assert [e["action"] for e in audit_entries(server, "I1")] == ["import_create"]


def test_audit_chain_and_database_refuses_changes(server: Server) -> None:
    with server.client() as c:
        c.put("/api/v1/patients/F1", json=rec("F1"))
    with server.client("admin") as c:
        entries: list[dict[str, Any]] = []
        after = None
        while True:
            page = c.get("/api/v1/audit", params={"limit": 50, **(
                {"after_seq": after} if after is not None else {})}).json()
            entries += page["entries"]
            after = page["next_after_seq"]
            if after is None:
                break
        for method in ("PUT", "PATCH", "DELETE"):
            assert c.request(method, "/api/v1/audit").status_code == 405
            assert c.request(method, "/api/v1/audit/1").status_code == 405
    from cmltrack.store.audit import verify_chain

    assert [e["seq"] for e in entries] == list(range(1, len(entries) + 1))
    assert verify_chain(entries) is None
    engine = sa.create_engine(database_url(server))
    try:
        for statement in ("UPDATE audit SET actor = 'mallory' WHERE seq = 1",
                          "DELETE FROM audit WHERE seq = 1"):
            with engine.connect() as conn:
                try:
                    conn.execute(sa.text(statement))
                    conn.commit()
                except sa.exc.DBAPIError as exc:
                    assert "append-only" in str(exc) or "permission denied" in str(exc)
                else:
                    raise AssertionError(f"the database accepted: {statement}")
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT actor FROM audit WHERE seq = 1")).scalar() \
                == entries[0]["actor"]
    finally:
        engine.dispose()
    tampered = [dict(e) for e in entries]
    tampered[0]["actor"] = "mallory"
    assert verify_chain(tampered) == 1


def test_tokens_created_used_revoked(server: Server) -> None:
    with server.client("admin") as c:
        r = c.post("/api/v1/tokens", json={"name": "dr-new", "role": "clinician"})
        assert r.status_code == 201
        token = r.json()["token"]
        listed = c.get("/api/v1/tokens").json()["tokens"]
        assert {"dr-new", "test-clinician"} <= {t["name"] for t in listed}
        assert all("token" not in t and "sha256" not in t for t in listed)
        assert c.post("/api/v1/tokens", json={"name": "dr-new", "role": "admin"}).status_code \
            == 409
    h = {"Authorization": f"Bearer {token}"}
    assert httpx.put(server.url + "/api/v1/patients/G1", json=rec("G1"), headers=h
                     ).status_code == 201
    with server.client("admin") as c:
        assert c.delete("/api/v1/tokens/dr-new").status_code == 204
        trail = c.get("/api/v1/audit", params={"action": "token_create"}).json()["entries"]
        assert any(e.get("token_name") == "dr-new" for e in trail)
    assert httpx.get(server.url + "/api/v1/patients/G1", headers=h).status_code == 401
    assert audit_entries(server, "G1")[0]["actor"] == "dr-new"


def test_cohort_is_pseudonymised(server: Server) -> None:
    with server.client() as c:
        c.put("/api/v1/patients/H1-secret-id", json=rec("H1-secret-id"))
    with server.client("analyst") as c:
        r = c.get("/api/v1/cohort/assessments")
    assert r.status_code == 200
    lines = [json.loads(x) for x in r.text.splitlines()]
    assert lines and all(x["patient_id"].startswith("anon-") and len(x["patient_id"]) == 21
                         for x in lines)
    assert "H1-secret-id" not in r.text and "1970-01-01" not in r.text
    with server.client("analyst") as c:
        assert c.get("/api/v1/cohort/assessments").text == r.text  # stable pseudonyms


def test_patient_ids_with_slash_and_url_characters(server: Server) -> None:
    # "/" in an id (sent as %2F or as is), "?", "#", "%" and a space, on every patient route;
    # ".../assessment" stays the assessment route.
    pid = "site-A/2024/P 1?x#1%"
    path = f"/api/v1/patients/{quote(pid, safe='')}"
    with server.client() as c:
        assert c.put(path, json=rec(pid)).status_code == 201
        assert c.get(path).json()["id"] == pid
        assert c.get(f"/api/v1/patients/{quote(pid, safe='/')}").json()["id"] == pid
        assert c.get(path + "/assessment").json()["patient_id"] == pid
        obs = {"date": "2020-07-20", "kind": "pcr", "bcr_abl1_is": 0.5,
               "control_gene": "ABL1", "control_copies": 50000}
        assert c.post(path + "/observations", json=obs).status_code == 201
        assert len(c.get(path).json()["observations"]) == 2
        assert c.delete(path).status_code == 204
        assert c.get(path).status_code == 404


def test_worklist_order(server: Server) -> None:
    records = [dict(r, id=f"W-{r['id']}") for r in examples()]
    with server.client() as c:
        for r in records:
            c.put(f"/api/v1/patients/{r['id']}", json=r)
        w = c.get("/api/v1/worklist", params={"as_of": "2019-06-01"}).json()
    assert w["as_of"] == "2019-06-01" and w["guideline"] == "ELN2020"
    items = [i for i in w["items"] if i["patient_id"].startswith("W-")]
    keys = [(i["urgency"], i["patient_id"]) for i in items]
    assert keys == sorted(keys)
    assert {"W-P05", "W-P06"} <= {i["patient_id"] for i in items}
    for i in items:
        assert i["top_recommendation"] is None or {"action", "rule", "source"} == set(
            i["top_recommendation"])


@pytest.mark.skipif(importlib.util.find_spec("cmltrack.io.fhir") is None,
                    reason="cmltrack.io.fhir (the FHIR issue) has not landed")
def test_fhir_bundle_in_and_out(server: Server) -> None:
    import datetime as dt

    from cmltrack.io import record_to_dict
    from cmltrack.io.fhir.writer import records_bundle
    from cmltrack.io.validate import validate_record

    p01 = dict(next(r for r in examples() if r["id"] == "P01"), id="FH-P01")
    record = validate_record(p01, today=dt.date.today(), file="")
    bundle = records_bundle([record])
    with server.client() as c:
        r = c.put("/api/v1/patients/FH-P01", content=json.dumps(bundle),
                  headers={"content-type": "application/fhir+json"})
        assert r.status_code == 201, r.text
        stored = c.get("/api/v1/patients/FH-P01").json()
        assert validate_record(stored, today=dt.date.today(), file="") == record
        assert stored == record_to_dict(record)  # the Bundle is stored in its record form
        out = c.get("/api/v1/patients/FH-P01", headers={"accept": "application/fhir+json"})
        assert out.headers["content-type"] == "application/fhir+json"
        assert out.json()["resourceType"] == "Bundle"


def test_nul_in_path_or_query_is_400_not_500(server: Server) -> None:
    # PostgreSQL cannot hold a NUL in text: such a value must be refused before any query.
    with server.client("admin") as c:
        r = c.get("/api/v1/audit", params={"patient_id": "P\x0001"})
        assert r.status_code == 400, r.text
        assert r.headers["content-type"] == PROBLEM
        assert "NUL" in r.json()["detail"]
    with server.client("clinician") as c:
        assert c.get("/api/v1/patients/P%0001").status_code == 400
        assert c.get("/api/v1/patients/P01", params={"x": "\x00"}).status_code == 400


@pytest.mark.skipif(importlib.util.find_spec("cmltrack.io.fhir") is None,
                    reason="cmltrack.io.fhir (the FHIR issue) has not landed")
def test_import_of_fhir_bulk_ndjson_bundles(server: Server) -> None:
    """Bulk NDJSON lines (application/fhir+ndjson), each a one-patient Bundle read by the FHIR
    reader, between record lines: stored in record form, acknowledged per line, idempotent; a
    Bundle of two patients and a lone resource are refused on their lines only."""
    import datetime as dt

    from cmltrack.io import record_to_dict
    from cmltrack.io.fhir.writer import records_bundle
    from cmltrack.io.validate import validate_record

    today = dt.date.today()
    recs = {pid: validate_record(dict(next(r for r in examples() if r["id"] == src), id=pid),
                                 today=today, file="")
            for pid, src in (("BK-1", "P01"), ("BK-2", "P03"), ("BK-3", "P05"))}
    two = records_bundle([recs["BK-2"], recs["BK-3"]])
    lines = [json.dumps(records_bundle([recs["BK-1"]])),
             json.dumps(record_to_dict(recs["BK-2"])),
             json.dumps(two),
             json.dumps({"resourceType": "Patient", "id": "BK-9"}),
             json.dumps(records_bundle([recs["BK-3"]]))]
    body = ("\n".join(lines) + "\n").encode()
    headers = {"content-type": "application/fhir+ndjson"}
    with server.client() as c:
        first = [json.loads(x) for x in c.post("/api/v1/patients:import", content=body,
                                                headers=headers).text.splitlines()]
        assert [(a["line"], a.get("id"), a["status"]) for a in first] == [
            (1, "BK-1", "created"), (2, "BK-2", "created"), (3, None, "refused"),
            (4, None, "refused"), (5, "BK-3", "created")]
        assert first[2]["problem"]["status"] == 422
        assert "2 patients" in first[2]["problem"]["detail"]
        assert first[3]["problem"]["status"] == 422
        assert "line 4" in first[3]["problem"]["detail"]
        assert "lone FHIR Patient" in first[3]["problem"]["detail"]
        for pid in ("BK-1", "BK-3"):  # stored in record form, equal to the source record
            stored = c.get(f"/api/v1/patients/{pid}").json()
            assert validate_record(stored, today=today, file="") == recs[pid]
        assert c.get("/api/v1/patients/BK-9").status_code == 404
        again = [json.loads(x) for x in c.post("/api/v1/patients:import", content=body,
                                                headers=headers).text.splitlines()]
        assert [a["status"] for a in again] == [
            "unchanged", "unchanged", "refused", "refused", "unchanged"]
        assert again[0]["digest"] == first[0]["digest"]


def test_cached_assessment_same_for_every_caller(server: Server) -> None:
    """A cache hit by a configuration token is answered by the fast path (service/fastpath.py),
    by a database token through the route: the same bytes and headers either way; what the
    fast path does not take (bad value, unknown patient, no token) gets the route's answer."""
    rec = dict(next(r for r in examples() if r["id"] == "P04"), id="FP-1")
    with server.client("admin") as c:
        r = c.post("/api/v1/tokens", json={"name": "dr-fastpath", "role": "clinician"})
        assert r.status_code == 201, r.text
        db_token = r.json()["token"]
    with server.client() as c, httpx.Client(base_url=server.url, timeout=30, headers={
            "Authorization": f"Bearer {db_token}"}) as d:
        assert c.put("/api/v1/patients/FP-1", json=rec).status_code == 201
        answers = [c.get("/api/v1/patients/FP-1/assessment"),  # computed (route)
                   c.get("/api/v1/patients/FP-1/assessment"),  # cached (fast path)
                   d.get("/api/v1/patients/FP-1/assessment")]  # cached (route)
        for a in answers:
            assert a.status_code == 200
            assert a.text == answers[0].text
            assert {k: a.headers[k] for k in ("content-type", "etag", "content-length")} == {
                k: answers[0].headers[k] for k in ("content-type", "etag", "content-length")}
            assert a.headers["x-request-id"]
        q = {"guideline": "ELN2013"}
        assert c.get("/api/v1/patients/FP-1/assessment", params=q).text == \
            d.get("/api/v1/patients/FP-1/assessment", params=q).text
        bad = c.get("/api/v1/patients/FP-1/assessment", params={"guideline": "nope"})
        assert bad.status_code == 400 and bad.headers["content-type"] == PROBLEM
        missing = c.get("/api/v1/patients/FP-404/assessment")
        assert missing.status_code == 404 and missing.headers["content-type"] == PROBLEM
    anonymous = httpx.get(server.url + "/api/v1/patients/FP-1/assessment", timeout=30)
    assert anonymous.status_code == 401
    with server.client("analyst") as c:
        assert c.get("/api/v1/patients/FP-1/assessment").status_code == 403
