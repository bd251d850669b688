"""RFC 8785 (JCS) canonical JSON and the record digest (``sha256:`` + hex) built on it.

JCS sorts object keys, writes strings as orjson does, and writes numbers as ECMAScript's
Number.prototype.toString: the shortest round-trip digits (Python's ``repr`` finds the same),
placed by ES rules (``400.0`` is ``400``, ``1e-6`` is ``0.000001``, ``1e-7`` is ``1e-7``,
``1e21`` is ``1e+21``). orjson writes doubles that way already except integral ones (written as
ints here) and 1e-6 <= |x| < 1e-5 (written by :func:`es_number`, handed over as raw JSON).
Keys are compared by code point, which equals JCS's UTF-16 order for every key outside the
astral planes (record keys are the contract's ASCII field names).
"""

from __future__ import annotations

import hashlib
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


def _float(x: float) -> Any:
    if x.is_integer():
        # Below 2**53 the integer is exact and its digits are ECMAScript's; above, ECMAScript
        # writes the shortest round-trip digits padded with zeros (2**60 is 1152921504606847000).
        return int(x) if abs(x) < 2**53 else orjson.Fragment(es_number(x).encode())
    if x != x or x in (float("inf"), float("-inf")):
        raise ValueError("NaN and infinity have no JSON form")
    # orjson writes every other double as ECMAScript does, except 1e-6 <= |x| < 1e-5, where
    # it uses an exponent and ECMAScript does not (checked on 200,000 random doubles).
    return orjson.Fragment(es_number(x).encode()) if 1e-6 <= abs(x) < 1e-5 else x


def _dict(d: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        t = type(v)
        if t is float:
            out[k] = _float(v)
        elif t is dict:
            out[k] = _dict(v)
        elif t is list:
            out[k] = _list(v)
        else:
            out[k] = v
    return out


def _list(items: list[Any]) -> list[Any]:
    out: list[Any] = []
    for v in items:
        t = type(v)
        if t is float:
            out.append(_float(v))
        elif t is dict:
            out.append(_dict(v))
        elif t is list:
            out.append(_list(v))
        else:
            out.append(v)
    return out


def _normalise(value: Any) -> Any:
    if isinstance(value, float):
        return _float(value)
    if isinstance(value, dict):
        return _dict(value)
    if isinstance(value, list | tuple):
        return _list(list(value))
    return value


def canonical_json(value: Any) -> bytes:
    """The JCS form of a JSON value, as UTF-8 bytes."""
    return orjson.dumps(_normalise(value), option=orjson.OPT_SORT_KEYS)


def digest(value: Any) -> str:
    """``sha256:`` and the hex SHA-256 of the value's canonical JSON (the record's ETag)."""
    return "sha256:" + hashlib.sha256(canonical_json(value)).hexdigest()
