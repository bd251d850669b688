"""CDS Hooks client authentication (CDS Hooks 2.0, "Trusting CDS Clients"; service.md).

Every call carries ``Authorization: Bearer <JWT>`` signed by a configured EHR (issuer) with a
key of its JWK Set. Accepted: ES384 / RS384 (and ES256, RS256, ES512, RS512); never ``none`` or
HMAC. ``kid`` must name a key of the issuer's set; a ``jku`` must equal the issuer's configured
``jwks_url`` (it is never fetched otherwise). ``aud`` must contain the URL called; ``exp`` in
the future and at most 5 minutes ahead; ``iat`` not in the future; ``jti`` unseen from that
issuer (kept in the database until ``exp``). Clock skew of 30 s is allowed. A refusal is 401
with an empty problem; the reason goes to the log only.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt
import orjson

from cmltrack.service import logs
from cmltrack.service.problems import Problem
from cmltrack.service.settings import CdsClient
from cmltrack.store import cds as cds_store
from cmltrack.store.db import Database

ALGORITHMS = frozenset({"ES384", "RS384", "ES256", "RS256", "ES512", "RS512"})
SKEW_S = 30
MAX_LIFETIME_S = 300
JWKS_REFETCH_S = 60


class Refused(Exception):
    """Why a JWT was refused (logged, never sent)."""


@dataclass
class _Jwks:
    keys: dict[str, dict[str, Any]]
    fetched: float = 0.0


@dataclass
class KeyStore:
    """The JWK Sets of the configured clients; a URL's set is fetched, cached and re-fetched on
    an unknown ``kid`` at most once a minute."""

    clients: dict[str, CdsClient]
    _cache: dict[str, _Jwks] = field(default_factory=dict)
    _parsed: dict[tuple[str, str], jwt.PyJWK] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def of(cls, clients: tuple[CdsClient, ...]) -> KeyStore:
        return cls({c.issuer: c for c in clients})

    def pyjwk(self, client: CdsClient, kid: str, alg: str) -> jwt.PyJWK:
        """The key as pyjwt's object (parsed once per JWK and algorithm)."""
        jwk = self.key(client, kid)
        cache_key = (orjson.dumps(jwk, option=orjson.OPT_SORT_KEYS).decode(), alg)
        found = self._parsed.get(cache_key)
        if found is None:
            found = self._parsed[cache_key] = jwt.PyJWK(jwk, algorithm=alg)
        return found

    def key(self, client: CdsClient, kid: str) -> dict[str, Any]:
        if client.jwks is not None:
            found = _by_kid(client.jwks).get(kid)
            if found is None:
                raise Refused(f"kid {kid!r} is not in the JWK Set of {client.issuer}")
            return found
        assert client.jwks_url is not None
        with self._lock:
            cached = self._cache.get(client.issuer)
            if cached is not None and kid in cached.keys:
                return cached.keys[kid]
            if cached is not None and time.monotonic() - cached.fetched < JWKS_REFETCH_S:
                raise Refused(f"kid {kid!r} unknown (JWK Set fetched less than a minute ago)")
            self._cache[client.issuer] = cached = _Jwks(_fetch(client.jwks_url),
                                                        time.monotonic())
        found = cached.keys.get(kid)
        if found is None:
            raise Refused(f"kid {kid!r} is not in the JWK Set at {client.jwks_url}")
        return found


def _by_kid(jwks: Any) -> dict[str, dict[str, Any]]:
    keys = jwks.get("keys") if isinstance(jwks, dict) else None
    return {k["kid"]: k for k in keys or []
            if isinstance(k, dict) and isinstance(k.get("kid"), str)}


def _fetch(url: str) -> dict[str, dict[str, Any]]:
    if not url.startswith("https://"):
        raise Refused("a JWK Set is fetched over HTTPS only")
    try:
        r = httpx.get(url, timeout=2.0, follow_redirects=False)
        r.raise_for_status()
        return _by_kid(r.json())
    except (httpx.HTTPError, ValueError) as exc:
        raise Refused(f"JWK Set at {url} could not be fetched: {type(exc).__name__}") from None


def verify_jwt(token: str | None, *, keys: KeyStore, audience: str, db: Database,
               now: float | None = None) -> dict[str, Any]:
    """The verified claims, or Problem 401 (the reason is logged)."""
    try:
        return _verify(token, keys=keys, audience=audience, db=db,
                       now=time.time() if now is None else now)
    except (Refused, jwt.PyJWTError, ValueError, KeyError, TypeError) as exc:
        logs.event("cds client refused", reason=f"{type(exc).__name__}: {exc}",
                   audience=audience)
        raise Problem(401, "unauthorized") from None


def _verify(token: str | None, *, keys: KeyStore, audience: str, db: Database,
            now: float) -> dict[str, Any]:
    if not token:
        raise Refused("no bearer token")
    header = jwt.get_unverified_header(token)
    alg = header.get("alg")
    if alg not in ALGORITHMS:
        raise Refused(f"alg {alg!r} is not accepted")
    if header.get("typ") != "JWT":
        raise Refused(f"typ {header.get('typ')!r} is not JWT")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise Refused("no kid")
    unverified = jwt.decode(token, options={"verify_signature": False})
    iss = unverified.get("iss")
    client = keys.clients.get(iss) if isinstance(iss, str) else None
    if client is None:
        raise Refused(f"iss {iss!r} is not a trusted CDS client")
    jku = header.get("jku")
    if jku is not None and jku != client.jwks_url:
        raise Refused(f"jku {jku!r} is not the configured jwks_url of {iss}")
    jwk = keys.pyjwk(client, kid, str(alg))
    claims: dict[str, Any] = jwt.decode(
        token, jwk.key, algorithms=[str(alg)], audience=audience, issuer=iss,
        leeway=SKEW_S, options={"require": ["iss", "aud", "exp", "iat", "jti"]},
    )
    # pyjwt has checked exp (with leeway) and iat (not in the future, with leeway).
    if float(claims["exp"]) > now + MAX_LIFETIME_S + SKEW_S:
        raise Refused("exp is more than 5 minutes ahead")
    if float(claims["iat"]) > now + SKEW_S:
        raise Refused("iat is in the future")
    jti = claims["jti"]
    if not isinstance(jti, str) or not 0 < len(jti) <= 500:
        raise Refused("jti missing or over 500 characters")
    with db.write() as session:
        fresh = cds_store.remember_jti(session, str(iss), jti, int(float(claims["exp"])) + SKEW_S,
                                       int(now))
    if not fresh:
        raise Refused(f"jti {jti!r} replayed")
    return claims
