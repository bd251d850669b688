"""RFC 8785 (JCS) canonical JSON and the record digest (``sha256:`` + hex) built on it.

JCS sorts object keys, writes strings as orjson does, and writes numbers as ECMAScript's
Number.prototype.toString: the shortest round-trip digits (Python's ``repr`` finds the same),
placed by ES rules (``400.0`` is ``400``, ``1e-6`` is ``0.000001``, ``1e-7`` is ``1e-7``,
``1e21`` is ``1e+21``). Each double is written by :func:`es_number` and handed to orjson as a
raw fragment. Keys are compared by code point, which equals JCS's UTF-16 order for every key
outside the astral planes (record keys are the contract's ASCII field names).
"""

from __future__ import annotations

import hashlib
import math
from typing import Any

import orjson


def es_number(x: float) -> str:
    """A finite double as ECMAScript writes it (ECMA-262 Number::toString, radix 10)."""
    if x == 0:
        return "0"
    r = repr(x)
    sign = "-" if r[0] == "-" else ""
    r = r.lstrip("-")
    mant, _, exp_s = r.partition("e")
    ip, _, fp = mant.partition(".")
    raw = ip + fp
    stripped = raw.lstrip("0")
    digits = stripped.rstrip("0")
    k = len(digits)
    n = len(ip) - (len(raw) - len(stripped)) + (int(exp_s) if exp_s else 0)
    if k <= n <= 21:
        out = digits + "0" * (n - k)
    elif 0 < n <= 21:
        out = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        out = "0." + "0" * (-n) + digits
    else:
        e = n - 1
        out = (digits if k == 1 else digits[0] + "." + digits[1:]) + \
            f"e{'+' if e >= 0 else '-'}{abs(e)}"
    return sign + out


def _normalise(value: Any) -> Any:
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("NaN and infinity have no JSON form")
        if value.is_integer() and abs(value) < 1e21:
            return int(value)
        return orjson.Fragment(es_number(value).encode())
    if isinstance(value, dict):
        return {k: _normalise(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_normalise(v) for v in value]
    return value


def canonical_json(value: Any) -> bytes:
    """The JCS form of a JSON value, as UTF-8 bytes."""
    return orjson.dumps(_normalise(value), option=orjson.OPT_SORT_KEYS)


def digest(value: Any) -> str:
    """``sha256:`` and the hex SHA-256 of the value's canonical JSON (the record's ETag)."""
    return "sha256:" + hashlib.sha256(canonical_json(value)).hexdigest()
