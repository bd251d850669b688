"""Whatever the readers refuse, the service refuses with a 4xx and stores nothing (issue 17).

The fuzz harness's hostile records (tests/fuzz/hostile.py) are sent one line at a time to the
import endpoint of a real server: a line ``cmltrack assess`` refuses must come back refused with
a 4xx problem, and its patient must not exist afterwards. (The service may be stricter than the
CLI: the converse is not required.)
"""

from __future__ import annotations

import json
import re
import secrets
import sys
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from svc_helpers import Server

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fuzz"))
from hostile import Input, jsonl_inputs, judge

_ID = re.compile(rb'"id": "P(\d)"')


def test_a_line_the_cli_refuses_is_refused_and_not_stored(server: Server) -> None:
    run = secrets.token_hex(3)
    seen = {"refused": 0, "both_refused": 0, "n": 0}

    @settings(max_examples=25, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(jsonl_inputs())
    def check(inp: Input) -> None:
        seen["n"] += 1  # a fresh id per input: an earlier input's patient is not this one's
        tag = f"HZ{run}{seen['n']}".encode()
        line = inp.files["p.jsonl"].split(b"\n")[0]
        line = _ID.sub(lambda m: b'"id": "' + tag + b"_" + m.group(1) + b'"', line)
        pid = re.search(rb'"id": "(HZ[0-9a-f]+_\d)"', line)
        verdict = judge(Input("jsonl", {"p.jsonl": line + b"\n"}, inp.argv))
        assert verdict.outcome in ("ok", "refused"), verdict
        with server.client() as c:
            r = c.post("/api/v1/patients:import", content=line + b"\n",
                       headers={"content-type": "application/x-ndjson"})
            assert r.status_code < 500, r.text
            acks = [json.loads(x) for x in r.text.splitlines()] if r.status_code == 200 else []
            if verdict.outcome != "refused":
                return
            seen["refused"] += 1
            refused = r.status_code >= 400 or all(a["status"] == "refused" for a in acks)
            assert refused, (verdict.err, r.status_code, acks)
            for a in acks:
                assert 400 <= a["problem"]["status"] < 500, a
            seen["both_refused"] += 1
            if pid is not None:
                assert c.get(f"/api/v1/patients/{pid.group(1).decode()}").status_code == 404

    check()
    assert seen["refused"] > 5 and seen["both_refused"] == seen["refused"]


def test_the_service_bounds_a_body_and_an_import_line_as_the_readers_bound_a_line() -> None:
    from cmltrack.io.limits import Limits
    from cmltrack.service import core

    assert core.MAX_RECORD_BYTES == Limits().line_bytes == 16 * 1024 * 1024


def test_a_repeated_key_is_refused_in_an_import_line_and_a_body(server: Server) -> None:
    # The file readers refuse an object naming a key twice (which value is meant cannot be
    # told); the service must not keep the last one silently either.
    run = secrets.token_hex(3)
    line = (b'{"id": "DUP' + run.encode() + b'", "id": "DUPX' + run.encode() + b'", '
            b'"diagnosis": {"date": "2020-01-01"}}\n')
    with server.client() as c:
        r = c.post("/api/v1/patients:import", content=line,
                   headers={"content-type": "application/x-ndjson"})
        assert r.status_code < 500, r.text
        acks = [json.loads(x) for x in r.text.splitlines()] if r.status_code == 200 else []
        assert r.status_code >= 400 or [a["status"] for a in acks] == ["refused"], r.text
        if acks:
            assert acks[0]["problem"]["status"] == 400
            assert "the key 'id' appears twice in the object at $" in acks[0]["problem"]["detail"]
        for pid in (f"DUP{run}", f"DUPX{run}"):
            assert c.get(f"/api/v1/patients/{pid}").status_code == 404
        body = b'{"id": "DUPB' + run.encode() + b'", "id": "DUPB' + run.encode() + b'"}'
        r = c.put(f"/api/v1/patients/DUPB{run}", content=body,
                  headers={"content-type": "application/json"})
        assert r.status_code == 400, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert "ambiguous JSON" in r.json()["detail"]
        assert c.get(f"/api/v1/patients/DUPB{run}").status_code == 404
