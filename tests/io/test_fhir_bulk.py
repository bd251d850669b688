"""The Bulk NDJSON reader's two paths (cmltrack.io.fhir.bulk): the fast path and the general
path read the same records and refuse the same lines with the same messages; duplicated keys
are refused; the items spill to disk and come back in order; the line and nesting bounds."""

from __future__ import annotations

import datetime as dt
import json
import warnings
from pathlib import Path
from typing import Any

import pytest

from cmltrack.errors import InputError
from cmltrack.io import Limits, load_records, read_records
from cmltrack.io.fhir import bulk
from cmltrack.io.fhir import reader as fhir_reader
from cmltrack.io.fhir.writer import write_fhir_ndjson
from cmltrack.synth import generate_cohort

TODAY = dt.date(2026, 1, 1)
LN, UCUM = "http://loinc.org", "http://unitsofmeasure.org"


def _read(folder: Path, **kw: Any) -> tuple[list[Any], list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        records = list(read_records(folder, today=TODAY, **kw))
    return records, [str(w.message) for w in caught]


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("bulk") / "export"
    write_fhir_ndjson(list(generate_cohort(12, 3, "high-dose-rescue")), folder)
    return folder


def _general_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bulk, "_provable", lambda block: False)


def test_fast_and_general_paths_read_the_same(cohort: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    fast, fast_warnings = _read(cohort)
    assert len(fast) == 12
    _general_only(monkeypatch)
    general, general_warnings = _read(cohort)
    assert fast == general and fast_warnings == general_warnings


def test_items_spill_to_disk_and_come_back_in_order(cohort: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    in_memory, _ = _read(cohort)
    spills: list[int] = []
    write = fhir_reader.Spill.write

    def counting(self: fhir_reader.Spill, items: dict[str, list[Any]]) -> None:
        spills.append(sum(map(len, items.values())))
        write(self, items)

    monkeypatch.setattr(bulk, "SPILL_ITEMS", 50)
    monkeypatch.setattr(fhir_reader.Spill, "write", counting)
    spilled, _ = _read(cohort)
    assert len(spills) > 5 and spilled == in_memory


def _obs_line(**extra: Any) -> dict[str, Any]:
    res: dict[str, Any] = {
        "resourceType": "Observation", "id": "o1", "status": "final",
        "code": {"coding": [{"system": LN, "code": "6690-2"}]},
        "subject": {"reference": "Patient/A"}, "effectiveDateTime": "2020-03-01",
        "valueQuantity": {"value": 5.5, "system": UCUM, "code": "10*9/L"}}
    res.update(extra)
    return res


def _folder(tmp_path: Path, obs_lines: list[str]) -> Path:
    folder = tmp_path / "x"
    folder.mkdir(exist_ok=True)
    patient = {"resourceType": "Patient", "id": "A", "gender": "male",
               "birthDate": "1960-01-02"}
    (folder / "Patient.ndjson").write_text(json.dumps(patient) + "\n")
    (folder / "Observation.ndjson").write_text("".join(line + "\n" for line in obs_lines))
    return folder


DUPLICATES = [
    # (line 2 of Observation.ndjson, the key named)
    ('{"resourceType":"Observation","id":"o2","valueQuantity":{"value":1},'
     + json.dumps(_obs_line(id="o2"))[1:], "resourceType"),  # all three repeated after
    (json.dumps(_obs_line(id="o2"))[:-1] + ',"status":"final"}', "status"),
    (json.dumps(_obs_line(id="o2"))[:-2] + ',"value":9.5}}', "value"),
    # In an element the reader ignores: still refused.
    (json.dumps(_obs_line(id="o2", extension=[{"url": "u", "url ": 1}]))
     .replace('"url ": 1', '"url": 1'), "url"),
]


@pytest.mark.parametrize(("line", "key"), DUPLICATES)
@pytest.mark.parametrize("path", ["fast", "general"])
def test_a_duplicated_key_is_refused_naming_file_and_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, line: str, key: str,
        path: str) -> None:
    if path == "general":
        _general_only(monkeypatch)
    folder = _folder(tmp_path, [json.dumps(_obs_line()), line])
    with pytest.raises(InputError) as exc:
        load_records(folder, today=TODAY)
    assert exc.value.file == f"{folder / 'Observation.ndjson'}:2"
    assert exc.value.code == "bad_format"
    assert f"ambiguous JSON: the key {key!r} appears twice in the object at $" in str(exc.value)


def test_a_duplicated_key_in_a_bundle_is_refused(tmp_path: Path) -> None:
    entry = json.dumps({"resource": _obs_line()})
    text = ('{"resourceType":"Bundle","type":"collection","entry":[' + entry + ","
            + entry[:-1] + ',"fullUrl":"urn:a","fullUrl":"urn:b"}]}')
    path = tmp_path / "b.json"
    path.write_text(text)
    with pytest.raises(InputError, match=r"the key 'fullUrl' appears twice in the object at "
                       r"\$\.entry\[1\]") as exc:
        load_records(path, today=TODAY)
    assert exc.value.file == str(path)


def test_what_the_fast_path_cannot_prove_takes_the_general_path(tmp_path: Path) -> None:
    # An explicit null, a non-ASCII note and an escape: each block is read line by line, and
    # reads as the plain form does.
    lines = [json.dumps(_obs_line(id="a", issued=None)),
             json.dumps(_obs_line(id="b", code={"coding": [{"system": LN, "code": "751-8"}],
                                              "text": "Neutrophiles \u00e9"}),
                        ensure_ascii=False),
             json.dumps(_obs_line(id="c", code={"coding": [{"system": LN, "code": "777-3"}],
                                              "text": 'say "platelets"'}))]
    lines[1] = lines[1].replace('"value": 5.5', '"value": 2.5')
    lines[2] = lines[2].replace('"value": 5.5', '"value": 250')
    (rec,), _ = _read(_folder(tmp_path, lines))
    obs = rec.observations[0]
    assert (obs.wbc, obs.anc, obs.platelets) == (5.5, 2.5, 250)  # type: ignore[union-attr]


def test_a_line_over_the_limit_is_refused_naming_it(tmp_path: Path) -> None:
    big = json.dumps(_obs_line(id="x" * 3000))
    folder = _folder(tmp_path, [json.dumps(_obs_line()), big])
    with pytest.raises(InputError, match="the line is larger than the limit") as exc:
        list(read_records(folder, today=TODAY, limits=Limits(max_line_mb=0.002)))
    assert exc.value.file == f"{folder / 'Observation.ndjson'}:2"


def test_deep_nesting_is_refused_not_a_recursion_error(tmp_path: Path) -> None:
    deep = json.dumps(_obs_line()).replace(
        '"status"', '"extension": ' + "[" * 300 + "]" * 300 + ', "status"')
    folder = _folder(tmp_path, [deep])
    with pytest.raises(InputError, match="nested deeper than 200") as exc:
        load_records(folder, today=TODAY)
    assert exc.value.file == f"{folder / 'Observation.ndjson'}:1"


def _transplant(note: str) -> dict[str, Any]:
    return {"resourceType": "Procedure", "id": "t", "status": "completed",
            "code": {"coding": [{"system": "http://snomed.info/sct", "code": "234336002"}]},
            "subject": {"reference": "Patient/A"}, "performedDateTime": "2021-05-01",
            "note": [{"text": note}]}


@pytest.mark.parametrize("form", ["bundle", "ndjson"])
def test_the_text_bound_applies_to_fhir_input(tmp_path: Path, form: str) -> None:
    folder = _folder(tmp_path, [])
    (folder / "Procedure.ndjson").write_text(json.dumps(_transplant("n" * 80)) + "\n")
    path: Path = folder
    if form == "bundle":
        path = tmp_path / "b.json"
        resources = [json.loads(line) for f in sorted(folder.iterdir())
                     for line in f.read_text().splitlines()]
        path.write_text(json.dumps({"resourceType": "Bundle", "type": "collection",
                                    "entry": [{"resource": r} for r in resources]}))
    (rec,) = load_records(path, today=TODAY)
    assert rec.events[0].note == "n" * 80
    with pytest.raises(InputError, match=r"\(Procedure/t\)") as exc:
        list(read_records(path, today=TODAY, limits=Limits(max_text_chars=50)))
    assert exc.value.field == "note"


def test_a_huge_id_is_cut_in_the_message(tmp_path: Path) -> None:
    bad = _obs_line(id="x" * 5000, valueQuantity={"value": 1, "system": UCUM, "code": "mg"})
    folder = _folder(tmp_path, [json.dumps(bad)])
    with pytest.raises(InputError, match=r"\(Observation/x+\.\.\.\(5000 chars\)\)") as exc:
        load_records(folder, today=TODAY)
    assert len(str(exc.value)) < 600


@pytest.mark.parametrize("line", ['""', "5", "[1]", "null"])
def test_a_line_that_is_not_an_object_is_refused_naming_it(tmp_path: Path, line: str) -> None:
    # Found by the fuzz harness: a JSON string on a line ended in an AttributeError.
    folder = _folder(tmp_path, [json.dumps(_obs_line()), line])
    with pytest.raises(InputError, match="expected a FHIR resource object") as exc:
        load_records(folder, today=TODAY)
    assert exc.value.file == f"{folder / 'Observation.ndjson'}:2"


@pytest.mark.parametrize("code", ["{x}", "{n}", "a}b{", "{0}"])
def test_a_code_with_braces_is_warned_about_as_it_is(tmp_path: Path, code: str) -> None:
    # Found by the long fuzz run: a code holding a brace broke the warning's formatting.
    odd = _obs_line(id="o2", code={"coding": [{"system": LN, "code": code}]})
    (rec,), warns = _read(_folder(tmp_path, [json.dumps(_obs_line()), json.dumps(odd)]))
    assert warns == [f"1 Observations with code {LN}|{code} ignored"]
    assert rec.observations[0].wbc == 5.5  # type: ignore[union-attr]
