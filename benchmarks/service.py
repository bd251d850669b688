"""Service benchmarks (issue 11), loopback only, one uvicorn worker.

Run:  python benchmarks/service.py [--rate 200] [--seconds 10] [--import-patients 5000] [--no-pg]

Starts ``cmltrack serve`` as a subprocess (one worker; SQLite in a temporary folder, and
PostgreSQL on 127.0.0.1:5432 in a database made for the run and dropped after) and measures:

1. ``POST /api/v1/patients:import``: patients/s end to end, acknowledgements included (a seeded
   synthetic clinic as JSON Lines), into SQLite and into PostgreSQL. Baseline of the run: the
   same records validated and digested in this process without a server or a database.
2. ``GET /api/v1/patients/{id}/assessment`` at a fixed arrival rate (open loop: latency counts
   from each request's scheduled start, so a slow answer delays the measurement, never hides
   it), 10-year histories (the synthetic clinic's patients with >= 10 years of follow-up,
   cloned under new ids): warm (each assessment cached) and cold (every request a patient not
   assessed yet). Baseline: the in-process ``assess`` time of the same records.
3. ``cmltrack-patient-view`` with the full prefetch (the 7 keys, the record's FHIR form), each
   call with a freshly signed ES384 JWT (signed before the clock starts).

The machine may be shared with other work: the figures are printed with that caveat.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import hashlib
import importlib.util
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
PG = "host=127.0.0.1 port=5432 user=postgres dbname=test"


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(p / 100 * (len(xs) - 1)))]


def start(tmp: Path, db: str | None) -> tuple[subprocess.Popen[bytes], str, str, Any]:
    from cryptography.hazmat.primitives.asymmetric import ec
    from jwt.algorithms import ECAlgorithm

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
            return proc, line.split()[4], token, key
    raise SystemExit("cmltrack serve did not start")


def bench_import(url: str, token: str, lines: bytes, n: int) -> float:
    with httpx.Client(timeout=600) as c:
        t0 = time.perf_counter()
        acks = 0
        with c.stream("POST", url + "/api/v1/patients:import", content=lines, headers={
                "Authorization": f"Bearer {token}", "content-type": "application/x-ndjson"}
                      ) as r:
            for line in r.iter_lines():
                if line:
                    acks += 1
        elapsed = time.perf_counter() - t0
    assert acks == n, (acks, n)
    return n / elapsed


async def open_loop(url: str, paths: list[str], rate: float, headers: dict[str, str],
                    method: str = "GET", bodies: list[tuple[str, bytes]] | None = None
                    ) -> list[float]:
    """Latency (s) of each request, from its scheduled start at ``rate`` per second."""
    lat: list[float] = []
    limits = httpx.Limits(max_connections=256, max_keepalive_connections=256)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as c:
        t0 = time.perf_counter() + 0.05

        async def one(i: int) -> None:
            scheduled = t0 + i / rate
            await asyncio.sleep(max(0.0, scheduled - time.perf_counter()))
            h = headers if bodies is None else {**headers, "Authorization": bodies[i][0]}
            content = None if bodies is None else bodies[i][1]
            for attempt in range(3):  # a kept-alive connection the server closed: retry
                try:
                    r = await c.request(method, paths[i], headers=h, content=content)
                    break
                except (httpx.ReadError, httpx.RemoteProtocolError):
                    if attempt == 2:
                        raise
            r.raise_for_status()
            lat.append(time.perf_counter() - scheduled)

        await asyncio.gather(*(one(i) for i in range(len(paths))))
    return lat


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


def report(name: str, lat: list[float], target_ms: float) -> None:
    ms = [x * 1000 for x in lat]
    print(f"  {name:38s} n={len(ms):5d}  p50 {pct(ms, 50):7.1f} ms  p99 {pct(ms, 99):7.1f} ms"
          f"  max {max(ms):7.1f} ms   target p99 < {target_ms:g} ms: "
          f"{'met' if pct(ms, 99) < target_ms else 'NOT met'}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rate", type=float, default=200.0)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--import-patients", type=int, default=5000)
    ap.add_argument("--no-pg", action="store_true")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    from cmltrack.domain.assess import assess
    from cmltrack.io.validate import validate_record
    from cmltrack.store.canonical import digest
    from cmltrack.synth import generate_cohort_dicts

    print(f"cmltrack service benchmarks ({os.cpu_count()} cores, possibly shared with other "
          "work; loopback; one uvicorn worker)")
    records = list(generate_cohort_dicts(args.import_patients, seed=7))
    lines = b"".join(json.dumps(r, separators=(",", ":")).encode() + b"\n" for r in records)
    today = dt.date.today()
    t0 = time.perf_counter()
    for r in records:
        validate_record(r, today=today, file="")
        digest(r)
    base_rate = len(records) / (time.perf_counter() - t0)
    print(f"\n1. Import of {len(records)} synthetic patients (JSON Lines, acknowledged after "
          f"commit); in-process validate + digest baseline {base_rate:,.0f} patients/s")
    ten = ten_year_records(int(args.rate * args.seconds))
    recs = [validate_record(r, today=today, file="") for r in ten[:50]]
    t0 = time.perf_counter()
    for rec in recs:
        assess(rec)
    assess_ms = (time.perf_counter() - t0) / len(recs) * 1000
    targets: list[tuple[str, str | None]] = [("SQLite", None)]
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
                proc, url, token, key = start(Path(tmp), db)
                try:
                    rate = bench_import(url, token, lines, len(records))
                    print(f"  into {label:10s}: {rate:8,.0f} patients/s "
                          f"(target >= 1,000: {'met' if rate >= 1000 else 'NOT met'}; "
                          f"{rate / base_rate:.2f} x the in-process baseline)")
                    if label == "SQLite":
                        run_latency(url, token, key, ten, args, assess_ms)
                finally:
                    proc.terminate()
                    proc.wait(30)
    finally:
        if pg_name:
            import psycopg

            with psycopg.connect(PG, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')


def run_latency(url: str, token: str, key: Any, ten: list[dict[str, Any]], args: Any,
                assess_ms: float) -> None:
    import jwt

    from cmltrack.io.validate import validate_record

    h = {"Authorization": f"Bearer {token}"}
    body = b"".join(json.dumps(r).encode() + b"\n" for r in ten)
    with httpx.Client(timeout=600) as c:
        c.post(url + "/api/v1/patients:import", content=body,
               headers={**h, "content-type": "application/x-ndjson"}).raise_for_status()
    n = len(ten)
    print(f"\n2. GET assessment at {args.rate:g} requests/s for {args.seconds:g} s, 10-year "
          f"histories ({sum(len(r['observations']) for r in ten) / n:.0f} observations "
          f"each on average); in-process assess baseline {assess_ms:.1f} ms per patient")
    cold_paths = [f"/api/v1/patients/{r['id']}/assessment" for r in ten]
    cold = asyncio.run(open_loop(url, cold_paths, args.rate, h))
    report("cold (each patient assessed first time)", cold, 50)
    warm_paths = [cold_paths[i % 100] for i in range(n)]
    warm = asyncio.run(open_loop(url, warm_paths, args.rate, h))
    report("warm (cached by record digest)", warm, 50)
    # Service time without queueing: one request at a time (closed loop, warm).
    one: list[float] = []
    with httpx.Client(base_url=url, headers=h, timeout=60) as c:
        for p in warm_paths[:300]:
            t0 = time.perf_counter()
            c.get(p).raise_for_status()
            one.append(time.perf_counter() - t0)
    report("warm, one request at a time", one, 50)
    print(f"  (capacity of the one worker, warm: about {len(one) / sum(one):,.0f} requests/s)")

    rec = validate_record(ten[0], today=dt.date.today(), file="")
    if importlib.util.find_spec("cmltrack.io.fhir") is None:
        print("\n3. patient-view: not measured (cmltrack.io.fhir, the FHIR reader, is missing)")
        return
    from cmltrack.io.fhir.writer import record_resources

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
    pv_rate = 20.0
    m = int(pv_rate * args.seconds)
    now = int(time.time())
    signed = [(f"Bearer {jwt.encode({'iss': 'https://ehr.example.org', 'aud': aud, 'iat': now, 'exp': now + 280, 'jti': str(uuid.uuid4())}, key, algorithm='ES384', headers={'kid': 'k1', 'typ': 'JWT'})}",  # noqa: E501
               hook) for _ in range(m)]
    print(f"\n3. cmltrack-patient-view with the full prefetch ({len(hook) / 1024:.0f} KiB, "
          f"{len(resources)} resources) at {pv_rate:g} calls/s for {args.seconds:g} s")
    lat = asyncio.run(open_loop(url, ["/cds-services/cmltrack-patient-view"] * m, pv_rate,
                                {"content-type": "application/json"}, "POST", signed))
    report("patient-view", lat, 100)
    now = int(time.time())
    one: list[float] = []
    with httpx.Client(base_url=url, timeout=60) as c:
        for _ in range(20):  # service time without queueing: one call at a time
            token = jwt.encode({"iss": "https://ehr.example.org", "aud": aud, "iat": now,
                                "exp": now + 280, "jti": str(uuid.uuid4())}, key,
                               algorithm="ES384", headers={"kid": "k1", "typ": "JWT"})
            t0 = time.perf_counter()
            c.post("/cds-services/cmltrack-patient-view", content=hook, headers={
                "Authorization": f"Bearer {token}", "content-type": "application/json"}
                   ).raise_for_status()
            one.append(time.perf_counter() - t0)
    report("patient-view, one call at a time", one, 100)


if __name__ == "__main__":
    main()
