"""kill -9 during a bulk import: after a restart every acknowledged patient is stored whole,
and no patient is half-stored (service.md: "A write is acknowledged only after its transaction
has committed")."""

from __future__ import annotations

import json
import signal
import socket
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from svc_helpers import Server, configure, jcs_free_digest

from cmltrack.synth import generate_cohort_dicts


def _stream_import(srv: Server, lines: list[bytes], kill_after: int) -> list[dict[str, Any]]:
    """POST the lines (chunked, paced) on a raw socket, read acks in a thread, and SIGKILL the
    server once ``kill_after`` acknowledgements have arrived. Returns the acks received."""
    u = urlsplit(srv.url)
    sock = socket.create_connection((u.hostname, u.port))
    head = (f"POST /api/v1/patients:import HTTP/1.1\r\nHost: {u.netloc}\r\n"
            f"Authorization: Bearer {srv.tokens['clinician']}\r\n"
            "Content-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n")
    sock.sendall(head.encode())
    acks: list[dict[str, Any]] = []
    done = threading.Event()

    def read() -> None:
        f = sock.makefile("rb")
        try:
            while f.readline() not in (b"\r\n", b""):
                pass  # status line and headers
            buf = b""
            while True:
                size = int(f.readline().strip() or b"0", 16)
                if size == 0:
                    break
                buf += f.read(size)
                f.read(2)
                *complete, buf = buf.split(b"\n")
                acks.extend(json.loads(x) for x in complete if x)
                if len(acks) >= kill_after and srv.proc is not None and \
                        srv.proc.poll() is None:
                    srv.proc.send_signal(signal.SIGKILL)
        except (OSError, ValueError):
            pass
        finally:
            done.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        for i in range(0, len(lines), 25):
            chunk = b"".join(line + b"\n" for line in lines[i:i + 25])
            sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            time.sleep(0.005)
        sock.sendall(b"0\r\n\r\n")
    except OSError:
        pass  # the server died mid-upload, as intended
    done.wait(60)
    sock.close()
    return acks


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_sigkill_during_import_loses_nothing_acknowledged(
        dialect: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    db_url = "sqlite" if dialect == "sqlite" else request.getfixturevalue("pg_database")
    srv = configure(tmp_path, db_url)
    records = list(generate_cohort_dicts(1500, seed=11))
    for r in records:
        r["id"] = f"K{dialect[0]}-{r['id']}"
    lines = [json.dumps(r, separators=(",", ":")).encode() for r in records]
    srv.start()
    try:
        acks = _stream_import(srv, lines, kill_after=300)
        assert srv.proc is not None
        assert srv.proc.wait(timeout=30) == -signal.SIGKILL
        assert 300 <= len(acks) < len(records), "the kill must land mid-import"
    finally:
        srv.stop(signal.SIGKILL)
    srv.start()  # the same database, after the crash
    try:
        by_id = {r["id"]: r for r in records}
        with srv.client() as c:
            for a in acks:
                assert a["status"] == "created"
                r = c.get(f"/api/v1/patients/{a['id']}")
                assert r.status_code == 200, a
                assert r.json() == by_id[a["id"]]  # whole, as sent
                assert r.headers["etag"] == f'"{a["digest"]}"'
            stored = 0
            for r in records[len(acks):]:  # not acknowledged: absent, or whole
                got = c.get(f"/api/v1/patients/{r['id']}")
                if got.status_code == 200:
                    stored += 1
                    assert got.json() == r
                    assert got.headers["etag"] == f'"{jcs_free_digest(got.json())}"'
                else:
                    assert got.status_code == 404
        with srv.client("admin") as c:
            entries: list[dict[str, Any]] = []
            after = None
            while True:
                page = c.get("/api/v1/audit", params={
                    "action": "import_create", "limit": 1000,
                    **({"after_seq": after} if after is not None else {})}).json()
                entries += [e for e in page["entries"]
                            if str(e["patient_id"]).startswith(f"K{dialect[0]}-")]
                after = page["next_after_seq"]
                if after is None:
                    break
        # One audit entry per stored patient, committed with it.
        assert len(entries) == len(acks) + stored
        assert len({e["patient_id"] for e in entries}) == len(entries)
        # A re-sent file: the acknowledged lines are unchanged, the rest are created.
        with srv.client() as c:
            again = c.post("/api/v1/patients:import", content=b"\n".join(lines),
                           headers={"content-type": "application/x-ndjson"}, timeout=120)
        statuses = [json.loads(x)["status"] for x in again.text.splitlines()]
        assert statuses[:len(acks)] == ["unchanged"] * len(acks)
        assert set(statuses) <= {"unchanged", "created"}
    finally:
        srv.stop()
