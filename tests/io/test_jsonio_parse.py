"""The JSON readers parse with pydantic-core and fall back to ``json`` for what it refuses.

The fast parser must change nothing: every text gives the same value (same types, same float
bits) or the same refusal, with json's message, as ``json.loads`` did before.
"""

from __future__ import annotations

import json
import string
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cmltrack.io.jsonio import _loads


def _same(a: Any, b: Any) -> bool:
    """Equal values of equal types; floats compared bit for bit (-0.0 is not 0.0)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float):
        return a.hex() == b.hex()
    return bool(a == b)


def _outcome(parse: Any, text: str) -> tuple[str, Any]:
    try:
        return "ok", parse(text)
    except ValueError as exc:
        return "error", str(exc)


def _reference(text: str) -> Any:
    """The reader's parse before pydantic-core: json with NaN and Infinity refused (and, since
    issue 17, an object naming a key twice)."""

    def refuse(name: str) -> float:
        raise ValueError(f"{name} is not a number JSON allows")

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        if len({k for k, _ in items}) < len(items):
            raise ValueError("duplicate key")
        return dict(items)

    return json.loads(text, parse_constant=refuse, object_pairs_hook=pairs)


def _same_refusal(got: str, want: str) -> bool:
    """json names no position for NaN or Infinity; the reader adds pydantic-core's. A
    duplicate key is refused with the reader's own message (test_duplicate_keys)."""
    if want == "duplicate key":
        return got.startswith("the key ") and "appears twice in the object at $" in got
    if want.endswith("is not a number JSON allows"):
        return got.startswith(want + " (line 1, column ")
    return got == want


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=6), inner,
                                                                max_size=5),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_any_json_document_parses_to_the_same_value(value: Any) -> None:
    text = json.dumps(value)
    assert _same(_loads(text), json.loads(text))


# Texts near JSON: numbers in every spelling, stray commas, constants, escapes.
near_json = st.text(alphabet=string.digits + '.eE+-[]{},:" \\uNaInfity0x\x01', max_size=14)


@settings(max_examples=500, deadline=None)
@given(near_json)
def test_any_text_gives_the_same_value_or_the_same_refusal(text: str) -> None:
    got, want = _outcome(_loads, text), _outcome(_reference, text)
    assert got[0] == want[0], (text, got, want)
    if got[0] == "ok":
        assert _same(got[1], want[1]), (text, got, want)
    else:
        assert _same_refusal(got[1], want[1]), (text, got, want)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Accepted by json and kept: a lone surrogate escape, a number beyond float range
        # (json reads it as infinity). A duplicate key, which json accepts (the last one
        # wins), is refused (test_duplicate_keys).
        ('"\\ud800"', "\ud800"),
        ("1e400", float("inf")),
        ("-0.0", -0.0),
        ("123456789012345678901234567890", 123456789012345678901234567890),
    ],
)
def test_edge_values_as_json_reads_them(text: str, expected: Any) -> None:
    assert _same(_loads(text), expected)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("NaN", "NaN is not a number JSON allows (line 1, column 1)"),
        ('{"wbc": Infinity}', "Infinity is not a number JSON allows (line 1, column 9)"),
        ('[1,\n -Infinity]', "-Infinity is not a number JSON allows (line 2, column 3)"),
    ],
)
def test_nan_and_infinity_are_refused(text: str, message: str) -> None:
    with pytest.raises(ValueError) as info:
        _loads(text)
    assert str(info.value) == message


@pytest.mark.parametrize("text", ["[1,]", '{"a": 1} x', '{"a" 1}', '"\\x41"', "01", ""])
def test_malformed_json_keeps_json_message(text: str) -> None:
    # The message names line and column as json does (its wording varies by Python version).
    with pytest.raises(json.JSONDecodeError) as info:
        _loads(text)
    with pytest.raises(json.JSONDecodeError) as ref:
        json.loads(text)
    assert (info.value.msg, info.value.pos) == (ref.value.msg, ref.value.pos)
