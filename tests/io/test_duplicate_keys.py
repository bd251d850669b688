"""An object that names a key twice is refused (issue 17): JSON parsers keep the last value
silently, so ``{"bcr_abl1_is": 0.01, "bcr_abl1_is": 10}`` would be read as 10 without a word.

The readers prove the common case (no duplicate) from two counts of colons and look for the
duplicate only when the counts differ; these texts are written by hand to hit each branch.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cmltrack.cli.app import run
from cmltrack.errors import InputError
from cmltrack.io import read_records
from cmltrack.io.jsonio import DuplicateKey, _loads, record_from_text

TODAY = dt.date(2026, 1, 1)
OK_LINE = '{"id": "P1", "sex": "F"}'


@pytest.mark.parametrize(
    ("text", "key", "path"),
    [
        ('{"a": 1, "a": 2}', "a", "$"),
        ('{"a": 1, "a": 1}', "a", "$"),  # the same value twice is still refused
        ('{"x": [{"b": 1}, {"c": 1, "d": 2, "c": 1}]}', "c", "$.x[1]"),
        ('[{"a": 1}, {"b": {"k": 1, "k": 2}}]', "k", "$[1].b"),
        # Two objects repeat keys: the first in the text is named.
        ('[{"p": 1, "p": 2}, {"q": 1, "q": 2}]', "p", "$[0]"),
        # Outer object first, though its second "o" comes after the inner pair.
        ('{"o": {"i": 1, "i": 2}, "o": 3}', "o", "$"),
        # An integer orjson cannot write: the counts are not compared, json looks.
        ('{"n": 123456789012345678901234567890, "n": 1}', "n", "$"),
        # A colon inside a string, and a duplicate: the counts differ by the dropped pair.
        ('{"t": "10:30", "t": "11:45"}', "t", "$"),
    ],
)
def test_a_repeated_key_is_refused_naming_key_and_path(text: str, key: str, path: str) -> None:
    with pytest.raises(DuplicateKey) as info:
        _loads(text)
    assert str(info.value) == (f"the key {key!r} appears twice in the object at {path} "
                               "(which value is meant cannot be told)")


def test_an_escaped_colon_cannot_hide_a_duplicate() -> None:
    # Text colons: 2 (after each "k"). Kept value {"k": ":"} written again: 2 as well (one
    # after the key, one in the string, which the text spelled as an escape). The counts
    # agree although a pair was dropped: the escape sends the text to the exact search.
    text = '{"k": "\\u003a", "k": "\\u003A"}'
    assert json.loads(text) == {"k": ":"}
    with pytest.raises(DuplicateKey, match="the key 'k' appears twice in the object at \\$ "):
        _loads(text)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ('{"a": 1, "b": {"a": 2}}', {"a": 1, "b": {"a": 2}}),  # one key in different objects
        ('[{"a": 1}, {"a": 2}]', [{"a": 1}, {"a": 2}]),
        ('{"note": "10:30 : ::", ":": ":"}', {"note": "10:30 : ::", ":": ":"}),
        ('{"a" : 1 ,\n "b":\t2}', {"a": 1, "b": 2}),  # colons after whitespace
        ('{"e": "\\u003a"}', {"e": ":"}),  # an escaped colon, no duplicate
        ('{"big": 123456789012345678901234567890}', {"big": 123456789012345678901234567890}),
        ('"a:b"', "a:b"),
        ("{}", {}),
    ],
)
def test_texts_without_a_repeated_key_read_as_before(text: str, value: Any) -> None:
    assert _loads(text) == value


json_objects = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet=":ab\\\"u", max_size=5),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(alphabet=":ab", max_size=3), inner, max_size=4),
    max_leaves=15,
)


@settings(max_examples=200, deadline=None)
@given(json_objects, st.text(alphabet=":ab", max_size=3))
def test_a_repeated_pair_is_found_whatever_keys_and_strings_hold(value: Any, key: str) -> None:
    # Any document is read as json reads it; the same document with its first pair written
    # twice (colons and escapes in keys and strings, nested repeats included) is refused.
    text = json.dumps({key: value, "z": [value]})
    assert _loads(text) == json.loads(text)
    head = "{" + json.dumps(key) + ":"
    repeated = text.replace(head, f"{head} 0, {json.dumps(key)}:", 1)
    assert repeated != text
    with pytest.raises(DuplicateKey):
        _loads(repeated)


def test_json_lines_refuses_the_line_and_names_it(tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    bad = '{"id": "P2", "observations": [{"date": "2020-01-01", "kind": "pcr", ' \
          '"bcr_abl1_is": 0.01, "bcr_abl1_is": 10}]}'
    path.write_text(f"{OK_LINE}\n{bad}\n")
    with pytest.raises(InputError) as info:
        list(read_records(path, today=TODAY))
    assert str(info.value) == (
        f"{path}, line 2: ambiguous JSON: the key 'bcr_abl1_is' appears twice in the object "
        "at $.observations[0] (which value is meant cannot be told)")
    assert info.value.code == "bad_format"


def test_json_file_refuses_and_names_the_record(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text('[{"id": "P1"}, {"id": "P2", "sex": "F", "sex": "M"}]')
    with pytest.raises(InputError) as info:
        list(read_records(path, today=TODAY))
    assert str(info.value) == (
        f"{path}: ambiguous JSON: the key 'sex' appears twice in the object at $[1] "
        "(which value is meant cannot be told)")


def test_engines_reading_lines_themselves_get_the_same_refusal() -> None:
    with pytest.raises(InputError) as info:
        record_from_text('{"id": "P1", "id": "P2"}', file="f.jsonl", where="line 7",
                         prefix="line 7, $", today=TODAY)
    assert str(info.value) == ("f.jsonl, line 7: ambiguous JSON: the key 'id' appears twice "
                               "in the object at $ (which value is meant cannot be told)")


def test_cli_exits_2_with_one_line_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "p.jsonl"
    path.write_text(f'{OK_LINE}\n{{"id": "P2", "birth_date": "1960-01-01", '
                    f'"birth_date": "1961-01-01"}}\n')
    out = tmp_path / "out.jsonl"
    assert run(["assess", str(path), "--json", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (f"cmltrack: error: {path}, line 2: ambiguous JSON: the key 'birth_date' "
                   "appears twice in the object at $ (which value is meant cannot be told)")
    assert not out.exists()
