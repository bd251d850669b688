"""Browser sessions: a signed cookie, CSRF tokens, and the security headers of every page.

The cookie holds the signed-in token's name, role and SHA-256 (never the token), a CSRF token
and an expiry, signed with HMAC-SHA-256 by a key kept in the database (so every worker and a
restart accept it). Each request looks the token's hash up again, so revoking the token ends
its sessions at once. The cookie is ``HttpOnly``, ``Secure`` and ``SameSite=Strict``; forms carry
the session's CSRF token, compared in constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass

COOKIE = "cmltrack_session"
#: How long a sign-in lasts (a clinic day).
MAX_AGE_S = 12 * 3600

#: No script but the package's own files, no inline script or style, nothing from elsewhere.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; object-src 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True, slots=True)
class Session:
    """What a cookie carries: who (None before sign-in), the token's hash, the CSRF token."""

    name: str | None
    role: str | None
    token_sha256: str | None
    csrf: str
    expires: int

    @classmethod
    def anonymous(cls) -> Session:
        return cls(None, None, None, secrets.token_urlsafe(24), int(time.time()) + MAX_AGE_S)

    @classmethod
    def signed_in(cls, name: str, role: str, token_sha256: str) -> Session:
        """A fresh session (a new CSRF token: nothing from before the sign-in carries over)."""
        return cls(name, role, token_sha256, secrets.token_urlsafe(24),
                   int(time.time()) + MAX_AGE_S)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode(session: Session, key: bytes) -> str:
    body = _b64(json.dumps(
        [session.name, session.role, session.token_sha256, session.csrf, session.expires],
        separators=(",", ":")).encode())
    sig = _b64(hmac.new(key, body.encode(), hashlib.sha256).digest())
    return f"{body}.{sig}"


def decode(value: str | None, key: bytes, now: float | None = None) -> Session | None:
    """The session a cookie holds, or None when it is absent, forged, malformed or expired."""
    if not value or len(value) > 2048 or "." not in value:
        return None
    body, _, sig = value.partition(".")
    expected = _b64(hmac.new(key, body.encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(sig, expected):
        return None
    try:
        name, role, sha, csrf, expires = json.loads(_unb64(body))
    except (ValueError, TypeError):
        return None
    if not isinstance(expires, int) or expires < (time.time() if now is None else now):
        return None
    return Session(name, role, sha, str(csrf), expires)


def csrf_ok(session: Session, submitted: str | None) -> bool:
    return bool(submitted) and hmac.compare_digest(session.csrf, str(submitted))
