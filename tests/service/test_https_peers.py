"""The service as an HTTPS client, against real HTTPS peers on loopback: the EHR's JWK Set
fetched from ``jwks_url`` and CDS Hooks prefetch queries run against ``fhirServer`` with the
``fhirAuthorization`` bearer token (service.md, "CDS Hooks 2.0").

Each peer is a real TLS server (Python's http.server in a thread) whose certificate is signed
by a CA made at test time with the cryptography package; the service trusts that CA through
``SSL_CERT_FILE`` (as a deployment names its own CA bundle), and nothing else is mocked.
"""

from __future__ import annotations

import datetime as dt
import http.server
import json
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from svc_helpers import PUBLIC_URL, Server, configure, examples, hook_jwt, prefetch_of

DISCOVERY = PUBLIC_URL + "/cds-services"
PV = PUBLIC_URL + "/cds-services/cmltrack-patient-view"
TOKEN = "fhir-access-token-6b1f"  # the EHR's fhirAuthorization.access_token


def _tls_files(folder: Path) -> tuple[Path, Path, Path]:
    """(CA certificate, server certificate, server key) for 127.0.0.1, made now."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "cmltrack test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - dt.timedelta(minutes=5))
          .not_valid_after(now + dt.timedelta(hours=2))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False,
                                       False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(hours=2))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = folder / "ca.pem", folder / "peer.pem", folder / "peer.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return paths


@dataclass
class Peer:
    """An HTTPS server on loopback: ``/jwks`` and a FHIR search API under ``/fhir``."""

    url: str = ""
    jwks: dict[str, Any] = field(default_factory=dict)
    record: dict[str, Any] | None = None  # the patient the FHIR API answers for
    seen: list[tuple[str, str | None]] = field(default_factory=list)  # (path?query, auth)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def requests(self, prefix: str) -> list[tuple[str, str | None]]:
        with self.lock:
            return [s for s in self.seen if s[0].startswith(prefix)]

    def answer(self, target: str, auth: str | None) -> tuple[int, Any]:
        parts = urlsplit(target)
        if parts.path == "/jwks":
            return 200, self.jwks
        if not parts.path.startswith("/fhir/"):
            return 404, {"resourceType": "OperationOutcome"}
        if auth != f"Bearer {TOKEN}":
            return 401, {"resourceType": "OperationOutcome"}
        assert self.record is not None
        keys = prefetch_of(self.record)
        what = parts.path.removeprefix("/fhir/")
        q = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if what.startswith("Patient/"):
            return 200, keys["patient"]
        assert q.get("patient") == self.record["id"], target
        if what == "Observation":
            if q.get("code") == "http://loinc.org|69380-4":
                return 200, keys["bcrabl1"]
            if "http://loinc.org|6690-2" in q.get("code", ""):
                return 200, keys["bloodCounts"]
            if q.get("category") == "laboratory":
                return 200, keys["labs"]
        key = {"MedicationStatement": "medicationStatements",
               "MedicationRequest": "medicationRequests", "Condition": "conditions"}.get(what)
        return (200, keys[key]) if key else (400, {"resourceType": "OperationOutcome"})


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    return _tls_files(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def peer(tls: tuple[Path, Path, Path]) -> Iterator[Peer]:
    state = Peer()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            auth = self.headers.get("Authorization")
            with state.lock:
                state.seen.append((self.path, auth))
            status, body = state.answer(self.path, auth)
            raw = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/fhir+json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, *args: Any) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(tls[1]), str(tls[2]))
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
    state.url = f"https://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
           tls: tuple[Path, Path, Path], peer: Peer) -> Iterator[Server]:
    """A service whose CDS client's keys are at the peer's ``/jwks``, trusting the test CA."""
    db_url = "sqlite" if request.param == "sqlite" else request.getfixturevalue("pg_database")
    tmp = tmp_path_factory.mktemp(f"https-{request.param}")
    srv = configure(tmp, db_url)
    peer.jwks = json.loads((tmp / "ehr-jwks.json").read_text())
    (tmp / "cds.toml").write_text('[[cds_clients]]\nissuer = "https://ehr.example.org"\n'
                                  f'jwks_url = "{peer.url}/jwks"\n')
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SSL_CERT_FILE", str(tls[0]))
        srv.start()
    try:
        yield srv
    finally:
        srv.stop()


def call(srv: Server, method: str, path: str, token: str, **kw: Any) -> httpx.Response:
    return httpx.request(method, srv.url + path, headers={"Authorization": f"Bearer {token}"},
                         timeout=30, **kw)


def test_jwks_fetched_over_https_and_cached(server: Server, peer: Peer) -> None:
    before = len(peer.requests("/jwks"))
    for kid, alg in (("ec-1", "ES384"), ("rsa-1", "RS384"), ("ec-1", "ES384")):
        r = call(server, "GET", "/cds-services", hook_jwt(server, DISCOVERY, kid=kid, alg=alg))
        assert r.status_code == 200, r.text
    # One fetch for the three calls: the set is cached.
    assert len(peer.requests("/jwks")) == before + 1
    # A jku naming the configured URL is accepted (and not fetched again).
    r = call(server, "GET", "/cds-services",
             hook_jwt(server, DISCOVERY, header={"jku": f"{peer.url}/jwks"}))
    assert r.status_code == 200, r.text
    # An unknown kid: refused, and the set is not fetched again within a minute.
    r = call(server, "GET", "/cds-services", hook_jwt(server, DISCOVERY, header={"kid": "ec-9"}))
    assert r.status_code == 401
    assert len(peer.requests("/jwks")) == before + 1


def _p03_before_switch() -> dict[str, Any]:
    p03 = next(r for r in examples() if r["id"] == "P03")
    return dict(p03, therapy=[dict(p03["therapy"][0], end=None, reason_end=None)],
                observations=[o for o in p03["observations"] if o["date"] < "2018-07-23"],
                events=[])


def _hook(prefetch: dict[str, Any] | None, fhir_server: str | None, token: str | None
          ) -> dict[str, Any]:
    body: dict[str, Any] = {"hook": "patient-view",
                            "hookInstance": "0d4b1b8e-8f0b-4c53-b2b4-7e0f3c1f2a10",
                            "context": {"userId": "Practitioner/1", "patientId": "P03"}}
    if prefetch is not None:
        body["prefetch"] = prefetch
    if fhir_server is not None:
        body["fhirServer"] = fhir_server
        body["fhirAuthorization"] = {"access_token": token, "token_type": "Bearer",
                                     "expires_in": 300, "scope": "patient/*.read",
                                     "subject": "cmltrack"}
    return body


def test_missing_prefetch_is_fetched_from_fhir_server_with_the_bearer(
        server: Server, peer: Peer) -> None:
    record = _p03_before_switch()
    peer.record = record
    full = call(server, "POST", "/cds-services/cmltrack-patient-view", hook_jwt(server, PV),
                json=_hook(prefetch_of(record), None, None))
    assert full.status_code == 200, full.text
    before = len(peer.requests("/fhir/"))
    fetched = call(server, "POST", "/cds-services/cmltrack-patient-view", hook_jwt(server, PV),
                   json=_hook(None, f"{peer.url}/fhir", TOKEN))
    assert fetched.status_code == 200, fetched.text
    asked = peer.requests("/fhir/")[before:]
    # The seven prefetch queries of service.md, each with the EHR's bearer token.
    assert len(asked) == 7
    assert {auth for _, auth in asked} == {f"Bearer {TOKEN}"}
    paths = sorted(urlsplit(p).path for p, _ in asked)
    assert paths == ["/fhir/Condition", "/fhir/MedicationRequest", "/fhir/MedicationStatement",
                     "/fhir/Observation", "/fhir/Observation", "/fhir/Observation",
                     "/fhir/Patient/P03"]
    # The same card as with the full prefetch (P03: failure on imatinib, switch TKI).
    (a,), (b,) = full.json()["cards"], fetched.json()["cards"]
    assert b["indicator"] == a["indicator"] == "critical"
    assert b["summary"] == a["summary"] and b["detail"] == a["detail"]
    # Only the keys that are missing are fetched.
    partial = {k: v for k, v in prefetch_of(record).items() if k != "conditions"}
    before = len(peer.requests("/fhir/"))
    r = call(server, "POST", "/cds-services/cmltrack-patient-view", hook_jwt(server, PV),
             json=_hook(partial, f"{peer.url}/fhir", TOKEN))
    assert r.status_code == 200, r.text
    assert [urlsplit(p).path for p, _ in peer.requests("/fhir/")[before:]] == [
        "/fhir/Condition"]


def test_fhir_server_refusing_the_token_is_412(server: Server, peer: Peer) -> None:
    peer.record = _p03_before_switch()
    r = call(server, "POST", "/cds-services/cmltrack-patient-view", hook_jwt(server, PV),
             json=_hook(None, f"{peer.url}/fhir", "expired-token"))
    assert r.status_code == 412
    assert r.headers["content-type"] == "application/problem+json"
