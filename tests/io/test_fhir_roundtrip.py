"""record -> FHIR -> record is the identity for every field of the record contract
(spec/fhir.md, "Writing FHIR"), and the example clinic assesses the same in every form.

The hypothesis test draws records that set every field of the contract; the synthetic test
round-trips a generated cohort. Their sizes are modest for CI; set CMLTRACK_FHIR_ROUNDTRIP_N
(e.g. 10000) to run the synthetic check on that many patients and the hypothesis test on
N / 10 examples of 10 records each (docs/fhir.md records the 10,000-record run).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import string
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from io_strategies import _ACA, _DAY, _num, _opt

from cmltrack.cli.app import run
from cmltrack.cli.demo import example_path
from cmltrack.domain.assess import assess
from cmltrack.domain.records import AML_FINDINGS, REASONS_END, TRANSCRIPTS, PatientRecord
from cmltrack.io import load_records
from cmltrack.io.fhir import records_from_bundle
from cmltrack.io.fhir.writer import (
    canonical,
    records_bundle,
    write_fhir_bundle,
    write_fhir_ndjson,
)
from cmltrack.synth import generate_cohort

TODAY = dt.date(2026, 1, 1)
N = int(os.environ.get("CMLTRACK_FHIR_ROUNDTRIP_N", "0"))
_TEXT = st.text(alphabet=string.ascii_letters + string.digits + " ,;\"'-/_é", min_size=1,
                max_size=70).map(str.strip).filter(bool)


@st.composite
def _limits(draw: st.DrawFn, fields: tuple[str, ...], lln: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in fields:
        if lln:
            out[f + "_lln"] = draw(_opt(_num(0, 50)))
        out[f + "_uln"] = draw(_opt(_num(0.01, 500)))
    return out


@st.composite
def _observation(draw: st.DrawFn, date: dt.date, kind: str) -> dict[str, Any]:
    obs: dict[str, Any] = {"date": date.isoformat(), "kind": kind}
    if kind == "blood":
        wbc = draw(_opt(_num(0, 300)))
        diff = ["blasts_pb", "promyelocytes_pb", "myelocytes_pb", "metamyelocytes_pb",
                "basophils_pb", "eosinophils_pb"]
        obs |= {"wbc": wbc, "anc": None if wbc is None else draw(_opt(_num(0, 1))) and wbc / 2,
                "platelets": draw(_opt(_num(0, 3000))), "hemoglobin": draw(_opt(_num(3, 20))),
                "lymphocytes": draw(_opt(_num(0, 100))), "spleen_cm": draw(_opt(_num(0, 40))),
                "extramedullary_blasts": draw(_opt(st.booleans()))}
        obs |= {f: draw(_opt(_num(0, 16))) for f in diff}
        obs |= draw(_limits(("wbc", "anc", "platelets", "hemoglobin", "lymphocytes"), True))
        obs |= {f: draw(_opt(st.booleans()))
                for f in ("rbc_transfused_7d", "platelets_transfused_7d")}
    elif kind == "marrow":
        obs |= {f: draw(_opt(_num(0, 100))) for f in ("blasts_bm", "promyelocytes_bm",
                                                      "basophils_bm", "cellularity_pct")}
        obs |= {"auer_rods": draw(_opt(st.booleans())), "spicules": draw(_opt(st.booleans())),
                "cells_counted": draw(_opt(st.integers(0, 2000)))}
    elif kind == "mrd":
        obs |= {"method": draw(st.sampled_from(["qpcr", "flow", "ngs"])),
                "target": draw(_opt(st.sampled_from(["NPM1", "CBFB::MYH11", "LAIP"]))),
                "tissue": draw(_opt(st.sampled_from(["bm", "pb"]))),
                "result": draw(st.sampled_from(["positive", "negative"])),
                "value_pct": draw(_opt(_num(0, 100)))}
    elif kind == "extramedullary":
        obs |= {"present": draw(st.booleans()), "site": draw(_opt(_TEXT))}
    elif kind == "cytogenetics":
        if draw(st.booleans()):
            n = draw(st.integers(1, 40))
            obs |= {"ph_pos": draw(st.integers(0, n)), "metaphases": n}
        else:
            obs["ph_pct"] = draw(_num(0, 100))
        obs |= {"aca": draw(_ACA), "aca_ph_neg": draw(_ACA)}
    elif kind == "fish":
        if draw(st.booleans()):
            n = draw(st.integers(1, 500))
            obs |= {"pos_nuclei": draw(st.integers(0, n)), "nuclei": n}
        else:
            obs["fish_pct"] = draw(_num(0, 100))
    elif kind == "pcr":
        detected = draw(st.booleans())
        gene = draw(_opt(st.sampled_from(["ABL1", "GUSB"])))
        obs |= {"bcr_abl1_is": draw(_num(0, 200)) if detected else draw(st.sampled_from(
                [None, 0.0])),
                "detected": draw(st.sampled_from([None, True])) if detected else False,
                "control_gene": gene,
                "control_copies": draw(_opt(_num(0, 1e6))) if gene else None}
    elif kind == "mutation":
        obs["mutations"] = draw(st.lists(st.sampled_from(
            ["T315I", "E255K", "F317L", "F359V/C", "compound:T315I+E255K"]), max_size=3,
            unique=True))
    else:
        obs |= {f: draw(_opt(_num(0, 2000))) for f in ("alt", "ast", "bilirubin",
                                                         "creatinine")}
        obs |= draw(_limits(("alt", "ast", "bilirubin", "creatinine"), False))
    return obs


@st.composite
def _aml_mutation(draw: st.DrawFn) -> dict[str, Any]:
    gene = draw(st.sampled_from(["NPM1", "FLT3-ITD", "CEBPA", "TP53", "ASXL1", "KIT", "IDH2"]))
    m: dict[str, Any] = {"gene": gene}
    if gene == "FLT3-ITD":
        m["allelic_ratio"] = draw(_opt(_num(0, 5)))
    if gene == "CEBPA":
        m |= {"bzip_inframe": draw(_opt(st.booleans())), "biallelic": draw(_opt(st.booleans()))}
    m["vaf"] = draw(_opt(_num(0, 100)))
    return m


@st.composite
def _aml_diagnosis(draw: st.DrawFn) -> dict[str, Any]:
    """The AML extension's diagnosis fields (spec/aml.md section 1)."""
    out: dict[str, Any] = {
        "aml_type": draw(_opt(st.sampled_from(["de_novo", "secondary", "therapy_related"]))),
        "status": draw(_opt(st.sampled_from(["newly_diagnosed", "refractory", "relapsed"]))),
        "extramedullary": draw(_opt(st.booleans()))}
    if draw(st.booleans()):
        out["genetics"] = {
            "karyotype": draw(_opt(st.sampled_from(["46,XY,del(5q)[15]/46,XY[5]", "46,XX[20]"]))),
            "karyotype_done": draw(_opt(st.booleans())),
            "findings": draw(st.lists(st.sampled_from(AML_FINDINGS), max_size=3, unique=True)),
            "mutations_tested": draw(st.lists(st.sampled_from(["ELN2022", "KIT", "IDH1"]),
                                              max_size=2, unique=True)),
            "mutations": draw(st.lists(_aml_mutation(), max_size=3))}
    return out


@st.composite
def full_records(draw: st.DrawFn, pid: str | None = None) -> PatientRecord:
    """Records that may set every field of the contract (with their constraints kept)."""
    birth = draw(st.dates(dt.date(1930, 1, 1), dt.date(1999, 12, 31)))
    data: dict[str, Any] = {"id": pid or draw(_TEXT), "sex": draw(_opt(st.sampled_from("FM"))),
                            "birth_date": draw(_opt(st.just(birth.isoformat())))}
    if draw(st.booleans()):
        data["diagnosis"] = {
            "date": draw(_opt(_DAY)),
            "disease": draw(st.sampled_from(["CML", "AML", "CMML"])),
            "phase": draw(_opt(st.sampled_from(["chronic", "accelerated", "blast"]))),
            "transcript": draw(_opt(st.sampled_from(sorted(TRANSCRIPTS)))),
            "spleen_cm": draw(_opt(_num(0, 40))), "wbc": draw(_opt(_num(0, 2000))),
            "platelets": draw(_opt(_num(0, 10000))), "hemoglobin": draw(_opt(_num(0, 25))),
            "blasts_pb": draw(_opt(_num(0, 30))), "basophils_pb": draw(_opt(_num(0, 30))),
            "eosinophils_pb": draw(_opt(_num(0, 30))), "aca": draw(_ACA),
        }
        if data["birth_date"] is None:
            data["diagnosis"]["age"] = draw(_opt(_num(0, 120)))
        data["diagnosis"] |= {"anc": draw(_opt(_num(0, 20))), "blasts_bm": draw(_opt(_num(0, 100))),
                              "ecog": draw(_opt(st.integers(0, 5)))}
        if data["diagnosis"]["disease"] == "AML":
            data["diagnosis"] |= draw(_aml_diagnosis())
    therapy = []
    for start in draw(st.lists(_DAY, max_size=3)):
        end = draw(_opt(st.dates(start, dt.date(2025, 12, 31))))
        therapy.append({
            "drug": draw(st.sampled_from(["imatinib", "dasatinib", "nilotinib", "asciminib",
                                          "interferon", "hydroxyurea", "Ponatinib",
                                          "cytarabine", "arsenic trioxide"])),
            "dose_mg_per_day": draw(_opt(_num(0, 2000))), "start": start.isoformat(),
            "end": end.isoformat() if end else None,
            "reason_end": draw(_opt(st.sampled_from(sorted(REASONS_END))))})
    data["therapy"] = therapy
    keys = draw(st.lists(st.tuples(_DAY, st.sampled_from(
        ["blood", "marrow", "cytogenetics", "fish", "pcr", "mutation", "chemistry", "mrd",
         "extramedullary"])), max_size=10, unique=True))
    data["observations"] = [draw(_observation(d, k)) for d, k in keys]
    events = []
    for d in draw(st.lists(_DAY, max_size=4)):
        kind = draw(st.sampled_from(["progression", "death", "transplant", "tki_stop",
                                     "lost_to_follow_up", "off_study", "pregnancy"]))
        ev: dict[str, Any] = {"date": d.isoformat(), "kind": kind, "note": draw(_opt(_TEXT)),
                              "detail": draw(_opt(_TEXT))}
        if kind == "progression":
            ev["phase"] = draw(st.sampled_from(["accelerated", "blast"]))
        if kind == "death":
            ev["cause"] = draw(_opt(_TEXT))
        events.append(ev)
    data["events"] = events
    return PatientRecord.model_validate(data, context={"today": TODAY})


def _cohorts() -> st.SearchStrategy[list[PatientRecord]]:
    size = max(1, N // 1000) if N else 4
    return st.lists(st.integers(0, 10**6), max_size=size * 3, unique=True).flatmap(
        lambda ids: st.tuples(*(full_records(pid=f"P{i}") for i in ids)).map(list))


@settings(max_examples=max(N // 10, 60) if N else 60, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(records=_cohorts(), arbitrary=full_records())
def test_round_trip_is_identity(records: list[PatientRecord], arbitrary: PatientRecord) -> None:
    records = [*records, arbitrary.model_copy(update={"id": arbitrary.id + "#"})]
    bundle = json.loads(json.dumps(records_bundle(records)))
    back, warns = records_from_bundle(bundle, today=TODAY)
    assert warns == []
    assert back == [canonical(r) for r in records]


def test_round_trip_of_synthetic_cohort(tmp_path: Path) -> None:
    n = N or 300
    records = list(generate_cohort(n, seed=11, profile="high-dose-rescue"))
    write_fhir_ndjson(records, tmp_path / "bulk")
    back = load_records(tmp_path / "bulk", today=TODAY)
    assert len(back) == n
    assert back == [canonical(r) for r in records]


@pytest.mark.parametrize("form", ["fhir", "fhir-ndjson"])
def test_examples_assess_exactly_as_their_json(form: str,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    """Every bundled example patient, read from the shipped Bundle and Bulk folder, gives the
    assessment its JSON record gives."""
    assert run(["assess", str(example_path("json")), "--json"]) == 0
    expected = capsys.readouterr().out.splitlines()
    assert run(["assess", str(example_path(form)), "--json"]) == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines() == expected and len(expected) == 12
    assert captured.err == ""


def test_shipped_examples_are_what_the_writer_writes(tmp_path: Path) -> None:
    records = load_records(example_path("json"))
    write_fhir_bundle(records, tmp_path / "bundle.json")
    write_fhir_ndjson(records, tmp_path / "bulk")
    assert (tmp_path / "bundle.json").read_bytes() == example_path("fhir").read_bytes()
    shipped = example_path("fhir-ndjson")
    assert sorted(p.name for p in shipped.iterdir()) == sorted(
        p.name for p in (tmp_path / "bulk").iterdir())
    for p in shipped.iterdir():
        assert p.read_bytes() == (tmp_path / "bulk" / p.name).read_bytes(), p.name
    assert [assess(r).to_dict() for r in load_records(shipped)] == [
        assess(r).to_dict() for r in records]


def test_aml_records_round_trip_and_unmapped_fields_are_refused() -> None:
    from tests.aml.conftest import aml_record

    from cmltrack.errors import InputError
    from cmltrack.io.fhir.writer import record_resources

    # The AML record of spec/aml.md section 1: every field of the extension set.
    data = aml_record()
    record = PatientRecord.model_validate(data, context={"today": TODAY})
    resources = record_resources(record)
    cond = next(r for r in resources if r["resourceType"] == "Condition")
    assert cond["code"]["coding"][0]["code"] == "91861009"
    # Every diagnosis Observation is the Condition's evidence: 6 values (wbc, anc, platelets,
    # hemoglobin, blasts_pb, blasts_bm), type, status, ECOG, extramedullary, genetics and the
    # 4 mutations.
    assert len(cond["evidence"][0]["detail"]) == 6 + 4 + 1 + 4
    ecog = next(r for r in resources if r["id"] == "A001-dx-ecog")
    assert ecog["code"]["coding"][0] == {"system": "http://loinc.org", "code": "89247-1",
                                         "display": "ECOG Performance Status score"}
    assert ecog["valueInteger"] == 1
    mrd = next(r for r in resources if r["id"].endswith("-mrd"))
    assert mrd["valueCodeableConcept"]["coding"][0]["code"] == "260385009"  # SNOMED Negative
    (back,), warns = records_from_bundle(records_bundle([record]), today=TODAY)
    assert back == canonical(record) and warns == []
    # A value of the record with no FHIR form yet (a marrow's blast lineage) is refused,
    # never dropped.
    data["observations"][0]["blast_lineage"] = "myeloid"
    lineage = PatientRecord.model_validate(data, context={"today": TODAY})
    with pytest.raises(InputError, match=r"no FHIR form .*observations\[0\]\.blast_lineage"):
        record_resources(lineage)


def test_the_clag_im_cohort_converts_to_fhir_and_back(tmp_path: Path) -> None:
    source = Path(__file__).resolve().parents[2] / "examples" / "clag-im-cohort.jsonl"
    records = load_records(source, today=TODAY)
    assert len(records) == 38
    for to, out in (("fhir", tmp_path / "b.json"), ("fhir-ndjson", tmp_path / "bulk")):
        assert run(["convert", str(source), "--to", to, str(out)]) == 0
        assert load_records(out, today=TODAY) == [canonical(r) for r in records]
