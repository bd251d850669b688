"""Service benchmarks (issue 11), loopback only, one uvicorn worker; every target in one run.

Run:  python benchmarks/service.py [--rate 200] [--seconds 10] [--import-patients 5000] [--no-pg]

Starts ``cmltrack serve`` as a subprocess (one worker; SQLite in a temporary folder, and
PostgreSQL on 127.0.0.1:5432 in a database made for the run and dropped after) and measures:

1. ``POST /api/v1/patients:import``: patients/s end to end, acknowledgements included (a seeded
   synthetic clinic as JSON Lines), into SQLite and into PostgreSQL.
2. ``GET /api/v1/patients/{id}/assessment`` at a fixed arrival rate (open loop: latency counts
   from each request's scheduled start, so a slow answer delays the measurement, never hides
   it), 10-year histories (the synthetic clinic's patients with >= 10 years of follow-up,
   cloned under new ids):
   - warm: the database cache holds each assessment, the same 100 patients asked again;
   - cold start: the server restarted (nothing in its process), every request a different
     patient whose assessment is in the database cache;
   - uncached: every request a patient never assessed (the assessment is computed).
3. ``cmltrack-patient-view`` with the full prefetch (the 7 keys, the record's FHIR form), each
   call with its own ES384 JWT (signed before the clock starts), at ``--pv-rate`` calls/s.

The load generator is a small asyncio HTTP/1.1 client (keep-alive connections, one request
per connection at a time), far cheaper per request than the server, so it disturbs the figure
little. Beside each wall-clock figure the server process's CPU time per request (from
/proc/PID/stat) is printed: it does not depend on what else the machine runs, and its inverse
is the worker's capacity. The load average is printed with each figure, and a summary at the
end gives PASS or FAIL per target.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import hashlib
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

ROOT = Path(__file__).resolve().parents[1]
PG = "host=127.0.0.1 port=5432 user=postgres dbname=test"
TICK = os.sysconf("SC_CLK_TCK")


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(p / 100 * (len(xs) - 1)))]


def load() -> str:
    return "load " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    url: str
    token: str
    key: Any

    @property
    def cpu(self) -> float:
        return cpu_s(self.proc.pid)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)


@dataclass
class Results:
    rows: list[tuple[str, str, bool]] = field(default_factory=list)

    def add(self, target: str, figure: str, ok: bool) -> None:
        self.rows.append((target, figure, ok))

    def print(self) -> None:
        print(f"\nSummary ({load()}):")
        for target, figure, ok in self.rows:
            print(f"  {'PASS' if ok else 'FAIL'}  {target:48s} {figure}")


def start(tmp: Path, db: str | None, key: Any = None, token: str | None = None) -> Server:
    from cryptography.hazmat.primitives.asymmetric import ec
    from jwt.algorithms import ECAlgorithm

    if token is None:
        token = "cmlt_" + secrets.token_urlsafe(32)
        (tmp / "tokens.toml").write_text(
            f'[[tokens]]\nname = "bench"\nrole = "clinician"\n'
            f'sha256 = "{hashlib.sha256(token.encode()).hexdigest()}"\n')
        key = ec.generate_private_key(ec.SECP384R1())
        jwk = json.loads(ECAlgorithm.to_jwk(key.public_key())) | {"kid": "k1", "alg": "ES384"}
        (tmp / "jwks.json").write_text(json.dumps({"keys": [jwk]}))
        (tmp / "cds.toml").write_text('[[cds_clients]]\nissuer = "https://ehr.example.org"\n'
                                      'jwks_file = "jwks.json"\n')
    args = [sys.executable, "-c", "from cmltrack.cli.app import main; main()", "serve",
            "--port", "0", "--data-dir", str(tmp / "data"), "--tokens", str(tmp / "tokens.toml"),
            "--cds-clients", str(tmp / "cds.toml"), "--public-url", "https://cml.example.org",
            "--log-level", "warning"]
    if db:
        args += ["--db", db]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            env=dict(os.environ, PYTHONPATH=str(ROOT / "src")))
    assert proc.stdout is not None
    for raw in proc.stdout:
        line = raw.decode()
        if line.startswith("cmltrack serve: listening on "):
            return Server(proc, line.split()[4], token, key)
    raise SystemExit("cmltrack serve did not start")


def bench_import(server: Server, lines: bytes, n: int) -> tuple[float, float]:
    """(patients/s end to end, server CPU ms per patient)."""
    with httpx.Client(timeout=600) as c:
        cpu0 = server.cpu
        t0 = time.perf_counter()
        acks = 0
        with c.stream("POST", server.url + "/api/v1/patients:import", content=lines, headers={
                "Authorization": f"Bearer {server.token}",
                "content-type": "application/x-ndjson"}) as r:
            for line in r.iter_lines():
                if line:
                    acks += 1
        elapsed = time.perf_counter() - t0
        cpu = server.cpu - cpu0
    assert acks == n, (acks, n)
    return n / elapsed, cpu / n * 1000


# --- a lean open-loop HTTP/1.1 load generator --------------------------------------------------


class Pool:
    """Keep-alive connections to one server, one request in flight on each."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def request(self, raw: bytes) -> int:
        """Send a complete request; the status once the whole answer has arrived."""
        reader, writer = self.idle.pop() if self.idle else await self._connect()
        try:
            writer.write(raw)
            status_line = await reader.readuntil(b"\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            # A kept-alive connection the server closed (its idle timeout): a new one.
            writer.close()
            reader, writer = await self._connect()
            writer.write(raw)
            status_line = await reader.readuntil(b"\r\n")
        status = int(status_line.split()[1])
        length = 0
        while True:
            header = await reader.readuntil(b"\r\n")
            if header == b"\r\n":
                break
            name, _, value = header.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        await reader.readexactly(length)
        self.idle.append((reader, writer))
        return status

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.open_connection(self.host, self.port)

    def close(self) -> None:
        for _, writer in self.idle:
            writer.close()


def raw_request(url: str, method: str, path: str, headers: dict[str, str],
                body: bytes = b"") -> bytes:
    host = urlsplit(url).netloc
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", *(f"{k}: {v}" for k, v in
                                                            headers.items())]
    if body or method != "GET":
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def open_loop(server: Server, requests: list[bytes], rate: float) -> tuple[list[float], float]:
    """(latency in seconds of each request from its scheduled start, server CPU ms per
    request), the requests sent at ``rate`` per second whatever the answers' speed."""

    async def run() -> list[float]:
        pool = Pool(server.url)
        lat: list[float] = []
        t0 = time.perf_counter() + 0.5  # the schedule starts once every task exists

        async def one(i: int) -> None:
            scheduled = t0 + i / rate
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            status = await pool.request(requests[i])
            if status >= 400:
                raise SystemExit(f"request {i} answered {status}")
            lat.append(time.perf_counter() - scheduled)

        await asyncio.gather(*(one(i) for i in range(len(requests))))
        pool.close()
        return lat

    cpu0 = server.cpu
    lat = asyncio.run(run())
    return lat, (server.cpu - cpu0) / len(requests) * 1000


def report(results: Results, name: str, target: str, lat: list[float], cpu_ms: float,
           limit_ms: float) -> None:
    ms = [x * 1000 for x in lat]
    p99 = pct(ms, 99)
    print(f"  {name:34s} n={len(ms):5d}  p50 {pct(ms, 50):7.1f} ms  p99 {p99:7.1f} ms  "
          f"max {max(ms):7.1f} ms  server CPU {cpu_ms:5.2f} ms/request "
          f"(capacity ~{1000 / cpu_ms:,.0f}/s)  {load()}")
    results.add(target, f"p99 {p99:.1f} ms (target < {limit_ms:g} ms); server CPU "
                f"{cpu_ms:.2f} ms/request", p99 < limit_ms)


def ten_year_records(n: int) -> list[dict[str, Any]]:
    from cmltrack.synth import generate_cohort_dicts

    long: list[dict[str, Any]] = []
    for r in generate_cohort_dicts(1500, seed=5):
        dates = [o["date"] for o in r.get("observations") or []]
        dx = (r.get("diagnosis") or {}).get("date")
        if dates and dx and (dt.date.fromisoformat(max(dates))
                             - dt.date.fromisoformat(dx)).days >= 3653:
            long.append(r)
    return [dict(long[i % len(long)], id=f"TEN-{i:05d}") for i in range(n)]


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--rate", type=float, default=200.0, help="GET assessment requests/s")
    ap.add_argument("--seconds", type=float, default=10.0, help="length of each timed run")
    ap.add_argument("--pv-rate", type=float, default=20.0, help="patient-view calls/s")
    ap.add_argument("--import-patients", type=int, default=5000)
    ap.add_argument("--no-pg", action="store_true")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    from cmltrack.synth import generate_cohort_dicts

    results = Results()
    print(f"cmltrack service benchmarks ({os.cpu_count()} cores, possibly shared with other "
          f"work; loopback; one uvicorn worker); {load()}")
    records = list(generate_cohort_dicts(args.import_patients, seed=7))
    lines = b"".join(json.dumps(r, separators=(",", ":")).encode() + b"\n" for r in records)
    print(f"\n1. Import of {len(records)} synthetic patients (JSON Lines, each acknowledged "
          "after its commit)")
    ten = ten_year_records(int(args.rate * args.seconds) * 2)
    targets: list[tuple[str, str | None]] = [("SQLite", None)]
    running: list[Server] = []
    pg_name = None
    if not args.no_pg:
        import psycopg

        pg_name = f"cmltrack_bench_{secrets.token_hex(4)}"
        with psycopg.connect(PG, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{pg_name}"')
        targets.append(("PostgreSQL", f"postgresql+psycopg://postgres@127.0.0.1:5432/{pg_name}"))
    try:
        for label, db in targets:
            with tempfile.TemporaryDirectory() as tmp:
                server = start(Path(tmp), db)
                running.append(server)
                try:
                    rate, cpu_ms = bench_import(server, lines, len(records))
                    print(f"  into {label:10s}: {rate:8,.0f} patients/s; server CPU "
                          f"{cpu_ms:.2f} ms/patient (capacity ~{1000 / cpu_ms:,.0f}/s); "
                          f"{load()}")
                    results.add(f"import into {label} >= 1,000 patients/s",
                                f"{rate:,.0f} patients/s; server CPU {cpu_ms:.2f} ms/patient",
                                rate >= 1000)
                    if label == "SQLite":
                        run_latency(running, Path(tmp), ten, args, results)
                finally:
                    for s in running:  # the one started and any restart of it
                        s.stop()
                    running.clear()
    finally:
        if pg_name:
            import psycopg

            with psycopg.connect(PG, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
    results.print()
    print("command: python benchmarks/service.py " + " ".join(sys.argv[1:]))


def run_latency(running: list[Server], tmp: Path, ten: list[dict[str, Any]], args: Any,
                results: Results) -> None:
    """The GET assessment and patient-view runs on ``running[-1]``; a restart is appended to
    ``running`` (the caller stops every server in it)."""
    server = running[-1]
    h = {"Authorization": f"Bearer {server.token}"}
    body = b"".join(json.dumps(r).encode() + b"\n" for r in ten)
    with httpx.Client(timeout=600) as c:
        c.post(server.url + "/api/v1/patients:import", content=body,
               headers={**h, "content-type": "application/x-ndjson"}).raise_for_status()
    n = int(args.rate * args.seconds)
    print(f"\n2. GET assessment at {args.rate:g} requests/s for {args.seconds:g} s each, "
          f"10-year histories ({sum(len(r['observations']) for r in ten) / len(ten):.0f} "
          "observations each on average)")

    def gets(s: Server, ids: list[str]) -> list[bytes]:
        hh = {"Authorization": f"Bearer {s.token}"}
        return [raw_request(s.url, "GET", f"/api/v1/patients/{i}/assessment", hh) for i in ids]

    first, second = [r["id"] for r in ten[:n]], [r["id"] for r in ten[n:2 * n]]
    lat, cpu = open_loop(server, gets(server, first), args.rate)
    report(results, "uncached (computed on request)", "GET assessment uncached p99 < 50 ms",
           lat, cpu, 50)
    time.sleep(1.0)  # the cache is written behind: let it land
    lat, cpu = open_loop(server, gets(server, [first[i % 100] for i in range(n)]), args.rate)
    report(results, "warm (cached, same 100 patients)", "GET assessment warm p99 < 50 ms",
           lat, cpu, 50)
    # Cold start: the server restarted; every request a patient whose cached assessment is in
    # the database only.
    server.stop()
    server = start(tmp, None, server.key, server.token)
    running.append(server)
    open_loop(server, gets(server, second[:20]), 20)  # connections and first queries
    lat, cpu = open_loop(server, gets(server, first), args.rate)
    report(results, "cold start (restarted, db cache)", "GET assessment cold start p99 < 50 ms",
           lat, cpu, 50)
    patient_view(server, ten[0], args, results)


def patient_view(server: Server, record: dict[str, Any], args: Any, results: Results) -> None:
    import jwt

    from cmltrack.io.fhir.writer import record_resources
    from cmltrack.io.validate import validate_record

    rec = validate_record(record, today=dt.date.today(), file="")
    resources = record_resources(rec)

    def bundle(pred: Any) -> dict[str, Any]:
        return {"resourceType": "Bundle", "type": "searchset",
                "entry": [{"resource": r} for r in resources if pred(r)]}

    def codes(r: dict[str, Any]) -> set[str]:
        return {c.get("code") for c in (r.get("code") or {}).get("coding") or []}

    obs = lambda r: r["resourceType"] == "Observation"  # noqa: E731
    prefetch = {
        "patient": next(r for r in resources if r["resourceType"] == "Patient"),
        "bcrabl1": bundle(lambda r: obs(r) and "69380-4" in codes(r)),
        "bloodCounts": bundle(lambda r: obs(r) and bool(codes(r) & {"6690-2", "751-8",
                                                                    "777-3", "718-7"})),
        "labs": bundle(obs),
        "medicationStatements": bundle(lambda r: r["resourceType"] == "MedicationStatement"),
        "medicationRequests": bundle(lambda r: r["resourceType"] == "MedicationRequest"),
        "conditions": bundle(lambda r: r["resourceType"] == "Condition"),
    }
    hook = json.dumps({"hook": "patient-view", "hookInstance": str(uuid.uuid4()),
                       "context": {"userId": "Practitioner/1", "patientId": rec.id},
                       "prefetch": prefetch}).encode()
    aud = "https://cml.example.org/cds-services/cmltrack-patient-view"
    m = max(20, int(args.pv_rate * args.seconds))
    now = int(time.time())

    def call() -> bytes:
        token = jwt.encode({"iss": "https://ehr.example.org", "aud": aud, "iat": now,
                            "exp": now + 280, "jti": str(uuid.uuid4())}, server.key,
                           algorithm="ES384", headers={"kid": "k1", "typ": "JWT"})
        return raw_request(server.url, "POST", "/cds-services/cmltrack-patient-view",
                           {"Authorization": f"Bearer {token}",
                            "Content-Type": "application/json"}, hook)

    print(f"\n3. cmltrack-patient-view with the full prefetch ({len(hook) / 1024:.0f} KiB, "
          f"{len(resources)} resources, {sum(1 for r in resources if obs(r))} Observations) "
          f"at {args.pv_rate:g} calls/s for {m / args.pv_rate:g} s")
    open_loop(server, [call() for _ in range(5)], 5)  # first call's imports
    lat, cpu = open_loop(server, [call() for _ in range(m)], args.pv_rate)
    report(results, "patient-view", f"patient-view p99 < 100 ms at {args.pv_rate:g}/s",
           lat, cpu, 100)


if __name__ == "__main__":
    main()
