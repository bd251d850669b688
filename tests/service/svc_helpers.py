"""Helpers of the service tests: a real cmltrack service on loopback, on SQLite and PostgreSQL.

Each dialect gets one server process for the session (``cmltrack serve --port 0``), configured
through a tokens file and a CDS clients file whose keys are generated here; PostgreSQL gets a
uniquely named database on 127.0.0.1:5432 that is dropped at the end. Tests use their own
patient ids, so they share the server without stepping on each other.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def pg_available() -> bool:
    try:
        import psycopg

        with psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=test",
                             connect_timeout=3):
            return True
    except Exception:
        return False


def make_ec_jwks(kid: str) -> tuple[Any, dict[str, Any]]:
    """A P-384 key pair made now: (private key, JWK Set with its public key)."""
    from cryptography.hazmat.primitives.asymmetric import ec
    from jwt.algorithms import ECAlgorithm

    key = ec.generate_private_key(ec.SECP384R1())
    jwk = json.loads(ECAlgorithm.to_jwk(key.public_key()))
    jwk.update({"kid": kid, "alg": "ES384", "use": "sig"})
    return key, {"keys": [jwk]}


def make_rsa_jwks(kid: str) -> tuple[Any, dict[str, Any]]:
    from cryptography.hazmat.primitives.asymmetric import rsa
    from jwt.algorithms import RSAAlgorithm

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update({"kid": kid, "alg": "RS384", "use": "sig"})
    return key, {"keys": [jwk]}


@dataclass
class Server:
    """A running ``cmltrack serve`` and what the tests need to call it."""

    url: str
    db_url: str
    data_dir: Path
    tokens: dict[str, str]
    proc: subprocess.Popen[bytes] | None = None
    ehr_keys: dict[str, Any] = field(default_factory=dict)
    issuer: str = "https://ehr.example.org"
    args: list[str] = field(default_factory=list)

    def client(self, role: str | None = "clinician", **kw: Any) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.tokens[role]}"} if role else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30, **kw)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=20)
        self.proc = None

    def start(self) -> None:
        self.proc, self.url = start_server(self.args, self.data_dir.parent / "server.log")


def serve_command(args: list[str]) -> list[str]:
    return [sys.executable, "-c", "from cmltrack.cli.app import main; main()", "serve", *args]


def start_server(args: list[str], log: Path | None = None
                 ) -> tuple[subprocess.Popen[bytes], str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    err = log.open("ab") if log is not None else subprocess.DEVNULL
    proc = subprocess.Popen(serve_command(args), stdout=subprocess.PIPE, stderr=err, env=env)
    assert proc.stdout is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline().decode()
        if not line:
            break
        if line.startswith("cmltrack serve: listening on "):
            url = line.split()[4]
            return proc, url
    proc.kill()
    raise RuntimeError(f"cmltrack serve did not start (exit {proc.wait()})")


def configure(tmp: Path, db_url: str) -> Server:
    """Token and CDS client files for a server (keys and tokens made now)."""
    tokens = {role: "cmlt_" + secrets.token_urlsafe(32)
              for role in ("clinician", "analyst", "admin")}
    (tmp / "tokens.toml").write_text("".join(
        f'[[tokens]]\nname = "test-{role}"\nrole = "{role}"\n'
        f'sha256 = "{hashlib.sha256(tok.encode()).hexdigest()}"\n\n'
        for role, tok in tokens.items()))
    ec_key, ec_jwks = make_ec_jwks("ec-1")
    rsa_key, rsa_jwks = make_rsa_jwks("rsa-1")
    jwks = {"keys": ec_jwks["keys"] + rsa_jwks["keys"]}
    (tmp / "ehr-jwks.json").write_text(json.dumps(jwks))
    (tmp / "cds.toml").write_text('[[cds_clients]]\nissuer = "https://ehr.example.org"\n'
                                  'jwks_file = "ehr-jwks.json"\n')
    data_dir = tmp / "data"
    args = ["--port", "0", "--data-dir", str(data_dir), "--tokens", str(tmp / "tokens.toml"),
            "--cds-clients", str(tmp / "cds.toml"), "--public-url", "https://cml.example.org"]
    if db_url != "sqlite":
        args += ["--db", db_url]
    return Server(url="", db_url=db_url, data_dir=data_dir, tokens=tokens,
                  ehr_keys={"ec-1": ec_key, "rsa-1": rsa_key}, args=args)


def database_url(srv: Server) -> str:
    """The SQLAlchemy URL of the server's database (to inspect it directly)."""
    if srv.db_url == "sqlite":
        return f"sqlite+pysqlite:///{srv.data_dir / 'cmltrack.sqlite3'}"
    return srv.db_url


def examples() -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads(
        (ROOT / "src" / "cmltrack" / "examples" / "patients.json").read_text())
    return data


def hook_jwt(srv: Server, audience: str, *, kid: str = "ec-1", alg: str = "ES384",
             key: Any = None, iss: str | None = None, header: dict[str, Any] | None = None,
             **claims: Any) -> str:
    """A CDS client JWT signed with the test EHR's key (made at session start)."""
    import uuid

    import jwt

    now = int(time.time())
    payload: dict[str, Any] = {"iss": iss or srv.issuer, "aud": audience, "iat": now,
                               "exp": now + 120, "jti": str(uuid.uuid4())}
    payload.update(claims)
    payload = {k: v for k, v in payload.items() if v is not None}
    return jwt.encode(payload, key if key is not None else srv.ehr_keys[kid], algorithm=alg,
                      headers={"kid": kid, "typ": "JWT", **(header or {})})


PUBLIC_URL = "https://cml.example.org"


def jcs_free_digest(value: Any) -> str:
    """The record digest, as the service computes it (for values read back from it)."""
    from cmltrack.store.canonical import digest

    return digest(value)


def prefetch_of(record: dict[str, Any]) -> dict[str, Any]:
    """The service's prefetch keys filled from the record's FHIR form (fhir.md writer)."""
    from cmltrack.io.fhir.writer import record_resources
    from cmltrack.io.validate import validate_record

    resources = record_resources(validate_record(record, today=dt.date.today(), file=""))

    def search(pred: Any) -> dict[str, Any]:
        return {"resourceType": "Bundle", "type": "searchset",
                "entry": [{"resource": r, "search": {"mode": "match"}}
                          for r in resources if pred(r)]}

    def code(r: dict[str, Any]) -> set[str]:
        return {c.get("code") for c in (r.get("code") or {}).get("coding") or []}

    return {
        "patient": next(r for r in resources if r["resourceType"] == "Patient"),
        "bcrabl1": search(lambda r: r["resourceType"] == "Observation" and "69380-4" in code(r)),
        "bloodCounts": search(lambda r: r["resourceType"] == "Observation"
                              and code(r) & {"6690-2", "751-8", "777-3", "718-7"}),
        "labs": search(lambda r: r["resourceType"] == "Observation"),
        "medicationStatements": search(lambda r: r["resourceType"] == "MedicationStatement"),
        "medicationRequests": search(lambda r: r["resourceType"] == "MedicationRequest"),
        "conditions": search(lambda r: r["resourceType"] == "Condition"),
    }
