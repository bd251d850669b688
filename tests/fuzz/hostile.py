"""Hostile input for every reader: valid data first, then corrupted (issue 17).

A reusable module (the service's tests and the atheris targets use it too):

- ``*_inputs()`` strategies draw an :class:`Input`: the files of one input (name -> bytes) and
  the command that reads it. Each starts from valid data (a record from
  ``tests/io/io_strategies``, a statistics table) and then, usually, corrupts it: types,
  ranges, dates, units, encodings, nesting, sizes, duplicated ids and columns, truncation.
- :func:`judge` runs the command in this process and says how it ended: ``ok`` (exit 0, every
  output line JSON), ``refused`` (exit 2, one line ``cmltrack: error: <file>...``) or
  ``other`` with the reason (a traceback, a second line, a refusal not naming the file, a run
  over :data:`MAX_SECONDS`). ``other`` is a finding.

The property a reader must hold: exit 0 with a result or exit 2 with one line naming where,
within :data:`MAX_SECONDS` and :data:`MAX_RSS_MB`. Whatever a reader refuses the service must
refuse with a 4xx and store nothing: it can draw the same inputs.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "io"))
from io_strategies import patient_records

from cmltrack.io import record_to_dict, write_csv_tables

MAX_SECONDS = 20.0
MAX_RSS_MB = 1024
#: The readers and the command each is judged by.
READERS = ("json", "jsonl", "csv", "stats", "fhir", "fhir-ndjson")


@dataclass
class Input:
    """One hostile input: its files and the command reading them ({dir} is where they are)."""

    reader: str
    files: dict[str, bytes]
    argv: list[str]
    corrupted: bool = True
    #: For a valid input: the patient ids the result must list, in order.
    expect_ids: list[str] | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class Verdict:
    outcome: str  # ok | refused | other
    rc: int | None
    err: str
    seconds: float
    why: str = ""
    out: str = ""


# --------------------------------------------------------------------------- hostile values

_DEEP = "\x00DEEP{}\x00"  # a marker replaced by nesting in the text (json.dumps would recurse)


def _deep_marker(levels: int) -> str:
    return _DEEP.format(levels)


def _expand_deep(text: str) -> str:
    while '"\\u0000DEEP' in text:
        start = text.index('"\\u0000DEEP')
        end = text.index('\\u0000"', start + 1) + len('\\u0000"')
        levels = int(text[start + len('"\\u0000DEEP'):end - len('\\u0000"')])
        text = text[:start] + "[" * levels + "]" * levels + text[end:]
    return text


BAD_DATES = ["2021-02-30", "2021-13-01", "21-01-01", "2021/01/01", "", "0000-01-01",
             "9999-12-31", "2099-01-01", "1800-01-01", "2021-1-1", "2021-01-01T00:00:00",
             "２０２１-01-01", "2021-01-01\n"]
BAD_UNITS = ["g/L", "mmol/L", "10^9/L", "/uL", "umol/L", "ukat/L", "%", "", "furlongs",
             "G/L", None, 5]
WEIRD_TEXT = ["", " ", "\u0000", "\ud800", "\u202e", "NaN", "Infinity", "-1", "1e309", "true",
              "null", "ｉｍａｔｉｎｉｂ", "imatinib\n", "T315I" * 50, "'", '"', "\\", "a,b",
              "t(9;22)", "😀"]


def hostile_values() -> st.SearchStrategy[Any]:
    """A value to put where a field was: wrong type, out of range, bad date or unit, deep,
    huge."""
    return st.one_of(
        st.sampled_from(WEIRD_TEXT),
        st.sampled_from(BAD_DATES),
        st.text(max_size=30),
        st.integers(min_value=-(10**40), max_value=10**40),
        st.floats(allow_nan=True, allow_infinity=True),  # json.dumps writes NaN, Infinity
        st.sampled_from([-1, 0, -0.0, 1e-320, 100.0000001, 101, 1e308, 2**63, -(2**63) - 1]),
        st.booleans(),
        st.none(),
        st.lists(st.integers(), max_size=3),
        st.dictionaries(st.sampled_from(["value", "unit", "x"]),
                        st.one_of(st.integers(-5, 500), st.sampled_from(BAD_UNITS)), max_size=3),
        st.builds(lambda u, v: {"value": v, "unit": u}, st.sampled_from(BAD_UNITS),
                  st.one_of(st.floats(-10, 1e6), st.text(max_size=3))),
        st.sampled_from([150, 201, 999, 1_500, 100_000]).map(_deep_marker),
        st.sampled_from([10_001, 130_000, 300_000]).map(lambda n: "x" * n),
        st.sampled_from([129, 5_000]).map(lambda n: "P" * n),
    )


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = [prefix] if prefix else []
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*prefix, i))
    return out


def _parent(data: Any, path: tuple[Any, ...]) -> Any:
    for part in path[:-1]:
        data = data[part]
    return data


@st.composite
def corrupted_records(draw: st.DrawFn) -> tuple[list[dict[str, Any]], bool]:
    """Valid records as dicts, then 0-3 corruptions of their structure: a value replaced, a key
    dropped or added, an id duplicated, a record replaced by a non-object."""
    records = [record_to_dict(r) for r in draw(st.lists(patient_records(), min_size=1,
                                                         max_size=3))]
    for i, r in enumerate(records):
        r["id"] = f"P{i}"  # unique unless a corruption duplicates one
    n = draw(st.integers(0, 3))
    for _ in range(n):
        op = draw(st.sampled_from(["set", "set", "set", "drop", "add", "dup_id", "dup_record",
                                   "not_object"]))
        paths = _paths(records)
        if op == "set" and paths:
            path = draw(st.sampled_from(paths))
            _parent(records, path)[path[-1]] = draw(hostile_values())
        elif op == "drop" and paths:
            path = draw(st.sampled_from([p for p in paths if isinstance(p[-1], str)] or paths))
            parent = _parent(records, path)
            del parent[path[-1]]
        elif op == "add":
            target = draw(st.sampled_from([r for r in records if isinstance(r, dict)] or [{}]))
            target[draw(st.sampled_from(["zz", "wbc", "id", "kind", "observations"]))] = (
                draw(hostile_values()))
        elif op == "dup_id" and len(records) > 1:
            if isinstance(records[-1], dict) and isinstance(records[0], dict):
                records[-1]["id"] = records[0].get("id")
        elif op == "dup_record":
            records.append(json.loads(json.dumps(records[0])))
        elif op == "not_object":
            records[draw(st.integers(0, len(records) - 1))] = draw(hostile_values())
    return records, n > 0


# ------------------------------------------------------------------------- byte corruptions


@st.composite
def corrupt_bytes(draw: st.DrawFn, data: bytes, *, numbers_to: bool = True) -> bytes:
    """Encodings, truncation, stray bytes, NaN/Infinity tokens, a huge line."""
    op = draw(st.sampled_from(["none", "none", "encoding", "truncate", "insert", "flip",
                               "constant", "bom", "crlf", "nul", "long_line"]))
    if op == "encoding":
        text = data.decode("utf-8", "surrogatepass")
        enc = draw(st.sampled_from(["utf-16", "utf-32", "latin-1", "cp1252", "utf-8-sig"]))
        return text.encode(enc, "replace")
    if op == "truncate" and data:
        return data[: draw(st.integers(0, len(data) - 1))]
    if op == "insert":
        at = draw(st.integers(0, len(data)))
        junk = draw(st.sampled_from([b"\xff", b"\xc3", b",", b"]", b"{", b'"', b"\\", b"\n",
                                     b"\r", b"\x00", b"\xef\xbb\xbf", b",,,,", b"\n\n\n"]))
        return data[:at] + junk + data[at:]
    if op == "flip" and data:
        at = draw(st.integers(0, len(data) - 1))
        return data[:at] + bytes([data[at] ^ (1 << draw(st.integers(0, 7)))]) + data[at + 1:]
    if op == "constant" and numbers_to:
        for digit in b"0123456789":
            at = data.find(bytes([digit]))
            if at >= 0:
                word = draw(st.sampled_from([b"NaN", b"Infinity", b"-Infinity", b"1e999",
                                             b"0x10", b"+1", b".5", b"1_000"]))
                return data[:at] + word + data[at + 1:]
    if op == "bom":
        return b"\xef\xbb\xbf" + data
    if op == "crlf":
        return data.replace(b"\n", b"\r\n")
    if op == "nul":
        return data.replace(b",", b"\x00,", 1)
    if op == "long_line":
        return data + b"\n" + b"x" * draw(st.sampled_from([200_000, 2_000_000])) + b"\n"
    return data


# --------------------------------------------------------------------------------- readers


@st.composite
def json_inputs(draw: st.DrawFn) -> Input:
    records, corrupted = draw(corrupted_records())
    single = draw(st.booleans()) and len(records) == 1
    text = _expand_deep(json.dumps(records[0] if single else records, indent=draw(
        st.sampled_from([None, 1]))))
    raw = text.encode("utf-8", "surrogatepass")
    data = draw(corrupt_bytes(raw))
    corrupted = corrupted or data != raw
    name = draw(st.sampled_from(["p.json", "p.json.gz"]))
    if name.endswith(".gz"):
        import gzip

        data = gzip.compress(data)
        if draw(st.booleans()):
            data = data[: len(data) // 2]  # a damaged archive
            corrupted = True
    return Input("json", {name: data}, ["assess", "{dir}/" + name, "--json"],
                 corrupted=corrupted,
                 expect_ids=None if corrupted else [r["id"] for r in records])


@st.composite
def jsonl_inputs(draw: st.DrawFn) -> Input:
    records, corrupted = draw(corrupted_records())
    lines = [_expand_deep(json.dumps(r)) for r in records]
    raw = ("\n".join(lines) + "\n").encode("utf-8", "surrogatepass")
    data = draw(corrupt_bytes(raw))
    return Input("jsonl", {"p.jsonl": data}, ["assess", "{dir}/p.jsonl", "--json"],
                 corrupted=corrupted or data != raw,
                 expect_ids=None if corrupted or data != raw else [r["id"] for r in records])


_TABLES = ("patients.csv", "therapy.csv", "labs.csv", "events.csv")


@st.composite
def _corrupt_table(draw: st.DrawFn, data: bytes) -> bytes:
    lines = data.split(b"\n")
    op = draw(st.sampled_from(["header_dup", "header_empty", "header_unknown", "header_repeat",
                               "cell", "cells_count", "bytes", "dup_row", "drop_header"]))
    header = lines[0].split(b",")
    if op == "header_dup":
        lines[0] += b"," + draw(st.sampled_from(header))
    elif op == "header_empty":
        lines[0] += b","
    elif op == "header_unknown":
        lines[0] += b",weight"
    elif op == "header_repeat":
        lines[0] = b",".join([header[0]] * draw(st.sampled_from([3, 1000, 100_000])))
    elif op == "cell" and len(lines) > 2:
        i = draw(st.integers(1, len(lines) - 2))
        cells = lines[i].split(b",")
        j = draw(st.integers(0, len(cells) - 1))
        value = draw(hostile_values())
        text = value if isinstance(value, str) else json.dumps(value)
        cells[j] = text.replace("\x00DEEP", "(").encode("utf-8", "replace")
        lines[i] = b",".join(cells)
    elif op == "cells_count" and len(lines) > 2:
        lines[1] += b",extra"
    elif op == "dup_row" and len(lines) > 2:
        lines.insert(1, lines[1])
    elif op == "drop_header":
        lines = lines[1:]
    else:
        return draw(corrupt_bytes(data, numbers_to=False))
    return b"\n".join(lines)


@st.composite
def csv_folder_inputs(draw: st.DrawFn) -> Input:
    records, _ = draw(corrupted_records())
    from cmltrack.domain.records import PatientRecord

    valid = []
    for r in records:  # the tables are written from records that validate
        with contextlib.suppress(Exception):
            valid.append(PatientRecord.model_validate(r))
    if not valid or len({r.id for r in valid}) < len(valid):
        valid = [draw(patient_records(pid="P0"))]
    with tempfile.TemporaryDirectory() as tmp:
        try:
            write_csv_tables(valid, tmp)
        except ValueError:
            valid = [PatientRecord.model_validate({"id": "P0"})]
            write_csv_tables(valid, tmp)
        files = {name: (Path(tmp) / name).read_bytes() for name in _TABLES}
    n = draw(st.integers(0, 2))
    for _ in range(n):
        name = draw(st.sampled_from(_TABLES))
        files[name] = draw(_corrupt_table(files[name]))
    if draw(st.integers(0, 9)) == 0:
        del files[draw(st.sampled_from(_TABLES))]
        n += 1
    return Input("csv", files, ["assess", "{dir}", "--json"], corrupted=n > 0,
                 expect_ids=None if n else [r.id for r in valid])


@st.composite
def stats_inputs(draw: st.DrawFn) -> Input:
    """A statistics table for km, cox, cif or current, then corrupted."""
    n = draw(st.integers(2, 30))
    cmd = draw(st.sampled_from(["km", "cox", "cif", "current"]))
    rows: list[list[str]] = []
    if cmd == "current":
        header = ["remission_1", "loss_1", "remission_2", "follow_up", "death"]
        for _ in range(n):
            fu = draw(st.integers(10, 3000))
            r1 = draw(st.one_of(st.just(""), st.integers(0, fu).map(str)))
            rows.append([r1, "", "", str(fu), str(draw(st.integers(0, 1)))])
        argv = ["stats", "current", "{dir}/d.csv", "--at", "365,730", "--json"]
    else:
        header = ["months", "dead", "status", "arm", "age"]
        for _ in range(n):
            rows.append([repr(draw(st.floats(0, 120).map(lambda x: round(x, 2)))),
                         str(draw(st.integers(0, 1))), str(draw(st.integers(0, 2))),
                         draw(st.sampled_from(["A", "B"])), str(draw(st.integers(18, 90)))])
        argv = {
            "km": ["stats", "km", "{dir}/d.csv", "--time", "months", "--event", "dead",
                   "--group", "arm", "--at", "12", "--json"],
            "cox": ["stats", "cox", "{dir}/d.csv", "--time", "months", "--event", "dead",
                    "--covariates", "age", "--json"],
            "cif": ["stats", "cif", "{dir}/d.csv", "--time", "months", "--status", "status",
                    "--group", "arm", "--at", "12", "--json"],
        }[cmd]
    raw = ("\n".join(",".join(r) for r in [header, *rows]) + "\n").encode()
    k = draw(st.integers(0, 2))
    data = raw
    for _ in range(k):
        data = draw(_corrupt_table(data))
    return Input("stats", {"d.csv": data}, argv, corrupted=data != raw)


# ------------------------------------------------------------------------------------ FHIR

#: The files of a Bulk export input, in the order input_from_bytes splits them.
NDJSON_FILES = ("Condition.ndjson", "MedicationStatement.ndjson", "Observation.ndjson",
                "Patient.ndjson", "Procedure.ndjson")
BAD_REFERENCES = ["Patient/ZZ", "", "Patient/", "urn:uuid:00000000", "Patient/P0/_history/1",
                  "https://h/fhir/Patient/P0", "Observation/P0", 5, None, "Patient/" + "P" * 300]
_RESOURCE_KEYS = ["zz", "id", "resourceType", "subject", "valueQuantity", "effectiveDateTime",
                  "effectivePeriod", "component", "code", "status", "referenceRange",
                  "valueCodeableConcept", "valueString", "dosage", "identifier", "evidence"]


def _fhir_records(draw: st.DrawFn) -> tuple[list[Any], list[str]]:
    """Valid records (unique ids P0, P1, ...) and their FHIR resources, in writing order."""
    from cmltrack.io.fhir.writer import record_resources

    records = draw(st.lists(patient_records(), min_size=1, max_size=3))
    resources: list[Any] = []
    ids = []
    for i, rec in enumerate(records):
        rec = rec.model_copy(update={"id": f"P{i}"})
        # A copy: the writer shares constant parts (a category) between resources and
        # records, and the corruptions below change what they are given.
        resources += json.loads(json.dumps(record_resources(rec)))
        ids.append(rec.id)
    return resources, ids


def _quantities(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, dict):
        own = [value] if "value" in value and ("code" in value or "unit" in value) else []
        return own + [q for v in value.values() for q in _quantities(v)]
    if isinstance(value, list):
        return [q for v in value for q in _quantities(v)]
    return []


@st.composite
def corrupted_resources(draw: st.DrawFn) -> tuple[list[Any], list[str], bool]:
    """FHIR resources of valid records, then 0-3 corruptions: a value replaced (types, ranges,
    dates, nesting, sizes), a key dropped or added, a unit, a reference, a resource type, a
    duplicated resource id or Patient, a resource replaced by a non-object."""
    resources, ids = _fhir_records(draw)
    n = draw(st.integers(0, 3))
    for _ in range(n):
        op = draw(st.sampled_from(["set", "set", "set", "drop", "add", "unit", "reference",
                                   "type", "dup_id", "dup_patient", "not_object"]))
        i = draw(st.integers(0, len(resources) - 1))
        res = resources[i]
        if not isinstance(res, dict):
            continue
        paths = _paths(res)
        if op == "set" and paths:
            path = draw(st.sampled_from(paths))
            _parent(res, path)[path[-1]] = draw(hostile_values())
        elif op == "drop" and paths:
            path = draw(st.sampled_from(paths))
            parent = _parent(res, path)
            del parent[path[-1]]
        elif op == "add":
            res[draw(st.sampled_from(_RESOURCE_KEYS))] = draw(hostile_values())
        elif op == "unit":
            qs = _quantities(res)
            if qs:
                q = draw(st.sampled_from(qs))
                q[draw(st.sampled_from(["code", "unit", "system"]))] = draw(
                    st.sampled_from(BAD_UNITS))
        elif op == "reference":
            key = draw(st.sampled_from(["subject", "patient", "focus"]))
            res[key] = {"reference": draw(st.sampled_from(BAD_REFERENCES))}
        elif op == "type":
            res["resourceType"] = draw(st.sampled_from(
                ["Encounter", "Observation", "Patient", "Condition", "Bundle", "", 5, None]))
        elif op == "dup_id":
            other = resources[draw(st.integers(0, len(resources) - 1))]
            if isinstance(other, dict):
                res["id"] = other.get("id")
        elif op == "dup_patient":
            patients = [r for r in resources if isinstance(r, dict)
                        and r.get("resourceType") == "Patient"]
            if patients:
                resources.append(json.loads(json.dumps(draw(st.sampled_from(patients)))))
        elif op == "not_object":
            resources[i] = draw(hostile_values())
    return resources, ids, n > 0


@st.composite
def _fhir_text(draw: st.DrawFn, data: bytes) -> bytes:
    """Byte corruptions, and a JSON key given twice in one object."""
    if draw(st.integers(0, 4)) == 0:
        starts = [i for i in range(len(data)) if data[i:i + 2] == b'{"']
        if starts:
            at = draw(st.sampled_from(starts)) + 1
            key = draw(st.sampled_from([b"resourceType", b"id", b"value", b"reference",
                                        b"code", b"zz"]))
            return data[:at] + b'"' + key + b'":1,"' + key + b'":2,' + data[at:]
    return draw(corrupt_bytes(data))


def _dumps(value: Any) -> bytes:
    return _expand_deep(json.dumps(value)).encode("utf-8", "surrogatepass")


@st.composite
def fhir_bundle_inputs(draw: st.DrawFn) -> Input:
    """A FHIR Bundle (.json) of valid records' resources, then corrupted."""
    resources, ids, corrupted = draw(corrupted_resources())
    btype = "collection"
    if draw(st.integers(0, 9)) == 0:
        btype = draw(st.sampled_from(["searchset", "transaction", "batch", "document", "", 5]))
        corrupted = corrupted or btype not in ("searchset", "transaction", "batch")
    entries: list[Any] = []
    for res in resources:
        entry: dict[str, Any] = {"resource": res}
        if isinstance(res, dict) and draw(st.booleans()):
            entry["fullUrl"] = f"urn:uuid:{len(entries):08d}-0000-0000-0000-000000000000"
        entries.append(entry)
    raw = _dumps({"resourceType": "Bundle", "type": btype, "entry": entries})
    data = draw(_fhir_text(raw))
    corrupted = corrupted or data != raw
    name = draw(st.sampled_from(["b.json", "b.json", "b.json.gz"]))
    if name.endswith(".gz"):
        import gzip

        data = gzip.compress(data)
    return Input("fhir", {name: data}, ["assess", "{dir}/" + name, "--json"],
                 corrupted=corrupted, expect_ids=None if corrupted else ids)


@st.composite
def fhir_ndjson_inputs(draw: st.DrawFn) -> Input:
    """A FHIR Bulk export folder (one NDJSON file per type) of valid records' resources, then
    corrupted: resources, then the bytes of one file (blank lines, a duplicated key, ...)."""
    resources, ids, corrupted = draw(corrupted_resources())
    files: dict[str, bytes] = {}
    for res in resources:
        rtype = res.get("resourceType") if isinstance(res, dict) else None
        name = f"{rtype}.ndjson" if f"{rtype}.ndjson" in NDJSON_FILES else "Observation.ndjson"
        files[name] = files.get(name, b"") + _dumps(res) + b"\n"
    name = draw(st.sampled_from(sorted(files)))
    data = draw(_fhir_text(files[name]))
    if draw(st.integers(0, 5)) == 0:
        data = data.replace(b"\n", b"\n\n", 1)  # a blank line: fine
    if data.replace(b"\n\n", b"\n") != files[name]:
        corrupted = True
    files[name] = data
    return Input("fhir-ndjson", files, ["assess", "{dir}", "--json"], corrupted=corrupted,
                 expect_ids=None if corrupted else ids)


STRATEGIES = {"json": json_inputs, "jsonl": jsonl_inputs, "csv": csv_folder_inputs,
              "stats": stats_inputs, "fhir": fhir_bundle_inputs,
              "fhir-ndjson": fhir_ndjson_inputs}


# ----------------------------------------------------------------------------------- judging


def write_files(inp: Input, folder: Path) -> list[str]:
    """Write the input's files into ``folder``; the command with {dir} filled in."""
    for name, data in inp.files.items():
        (folder / name).write_bytes(data)
    return [a.replace("{dir}", str(folder)) for a in inp.argv]


def _not_json(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def judge_argv(argv: list[str], folder: Path) -> Verdict:
    """Run ``cmltrack argv`` in this process and classify how it ended."""
    from cmltrack.cli.app import run

    out, err = io.StringIO(), io.StringIO()
    start = time.perf_counter()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            rc: int | None = run(argv)
    except BaseException:
        seconds = time.perf_counter() - start
        return Verdict("other", None, traceback.format_exc(limit=8), seconds, "traceback")
    seconds = time.perf_counter() - start
    text = err.getvalue()
    if seconds > MAX_SECONDS:
        return Verdict("other", rc, text, seconds, f"took {seconds:.1f} s")
    if rc == 0:
        for line in out.getvalue().splitlines():
            try:
                json.loads(line, parse_constant=_not_json)
            except ValueError:
                return Verdict("other", rc, line[:200], seconds, "exit 0 but output not JSON")
        return Verdict("ok", rc, text, seconds, out=out.getvalue())
    if rc == 2:
        # One line of refusal; before it, the FHIR readers' warnings may stand (spec/fhir.md:
        # one line each, prefixed "warning:", never changing the exit status).
        lines = text.splitlines(keepends=True)
        error = lines[-1] if lines else ""
        if (not error.startswith("cmltrack: error: ") or error.count("\n") != 1
                or not all(w.startswith("warning: ") for w in lines[:-1])):
            return Verdict("other", rc, text[:2000], seconds, "refusal not one line")
        if str(folder) not in error:
            return Verdict("other", rc, text, seconds, "refusal names no file")
        if len(error) > 1000:
            return Verdict("other", rc, text[:300], seconds, "refusal over 1000 characters")
        return Verdict("refused", rc, text, seconds)
    return Verdict("other", rc, text[:2000], seconds, f"exit {rc}")


def judge(inp: Input) -> Verdict:
    """Write the input to a fresh folder, run its command, classify the end; for a valid
    input the result must be exit 0 listing exactly its patients."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        argv = write_files(inp, folder)
        if inp.expect_ids is None:
            return judge_argv(argv, folder)
        verdict = judge_argv(argv, folder)
        if verdict.outcome != "ok":
            return Verdict("other", verdict.rc, verdict.err, verdict.seconds,
                           f"valid input not read: {verdict.why or verdict.err[:200]}")
        ids = [json.loads(line).get("patient_id") for line in verdict.out.splitlines()]
        if ids != inp.expect_ids:
            return Verdict("other", 0, "", verdict.seconds, f"read {ids}, not {inp.expect_ids}")
        return verdict


def input_from_bytes(reader: str, data: bytes) -> Input:
    """An input of one reader from raw bytes (the atheris targets and the regression cases):
    the file's bytes, or for a CSV folder the four tables split at a line ``--8<--``."""
    if reader == "csv":
        parts = data.split(b"\n--8<--\n")
        files = {name: part for name, part in zip(_TABLES, parts, strict=False)}
        return Input("csv", files, ["assess", "{dir}", "--json"])
    if reader == "stats":
        first = data.split(b"\n", 1)[0]
        cmd = ["stats", "km", "{dir}/d.csv", "--time", "months", "--event", "dead", "--json"]
        if b"remission_1" in first:
            cmd = ["stats", "current", "{dir}/d.csv", "--at", "365", "--json"]
        elif b"status" in first:
            cmd = ["stats", "cif", "{dir}/d.csv", "--time", "months", "--status", "status",
                   "--json"]
        return Input("stats", {"d.csv": data}, cmd)
    if reader == "fhir-ndjson":
        parts = data.split(b"\n--8<--\n")
        files = {name: part for name, part in zip(NDJSON_FILES, parts, strict=False)}
        return Input("fhir-ndjson", files, ["assess", "{dir}", "--json"])
    name = {"json": "p.json", "jsonl": "p.jsonl", "fhir": "b.json"}[reader]
    return Input(reader, {name: data}, ["assess", "{dir}/" + name, "--json"])


def input_to_bytes(inp: Input) -> bytes:
    """The inverse of :func:`input_from_bytes` (gzip files are stored decompressed-free as is)."""
    if inp.reader == "csv":
        return b"\n--8<--\n".join(inp.files.get(name, b"") for name in _TABLES)
    if inp.reader == "fhir-ndjson":
        return b"\n--8<--\n".join(inp.files.get(name, b"") for name in NDJSON_FILES)
    return next(iter(inp.files.values()))
