"""Hypothesis strategies for valid patient records that every form can hold (helper module)."""

from __future__ import annotations

import datetime as dt
import string
from typing import Any

from hypothesis import strategies as st

from cmltrack.domain.records import REASONS_END, PatientRecord

_DAY = st.dates(dt.date(2000, 1, 1), dt.date(2025, 12, 31))
_TEXT = (
    st.text(alphabet=string.ascii_letters + string.digits + " ,;\"'-", min_size=1, max_size=12)
    .map(str.strip)
    .filter(bool)
)
_ACA = st.lists(st.sampled_from(["+8", "i(17q)", "+der(22)t(9;22)", "-7", "3q26.2", "complex"]),
                max_size=3, unique=True)


def _num(lo: float, hi: float) -> st.SearchStrategy[float]:
    # Arbitrary floats (not only round ones) so that writing and reading must be exact.
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


def _opt(s: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | s


@st.composite
def _observation(draw: st.DrawFn, date: dt.date, kind: str) -> dict[str, Any]:
    obs: dict[str, Any] = {"date": date.isoformat(), "kind": kind}
    if kind == "blood":
        wbc = draw(_num(0, 300))
        obs |= {"wbc": wbc, "anc": wbc * draw(_num(0, 1)), "platelets": draw(_num(0, 3000)),
                "hemoglobin": draw(_opt(_num(3, 20))), "blasts_pb": draw(_opt(_num(0, 15))),
                "basophils_pb": draw(_opt(_num(0, 15))),
                "extramedullary_blasts": draw(_opt(st.booleans())),
                "anc_lln": draw(_opt(_num(0, 2)))}
    elif kind == "marrow":
        obs["blasts_bm"] = draw(_num(0, 100))
    elif kind == "cytogenetics":
        n = draw(st.integers(1, 40))
        obs |= {"ph_pos": draw(st.integers(0, n)), "metaphases": n, "aca": draw(_ACA),
                "aca_ph_neg": draw(_ACA)}
    elif kind == "fish":
        obs["fish_pct"] = draw(_num(0, 100))
    elif kind == "pcr":
        detected = draw(st.booleans())
        obs |= {"bcr_abl1_is": draw(_num(0, 200)) if detected else None,
                "detected": draw(st.sampled_from([None, True])) if detected else False,
                "control_gene": "ABL1", "control_copies": draw(_opt(_num(0, 1e6)))}
    elif kind == "mutation":
        obs["mutations"] = draw(st.lists(st.sampled_from(["T315I", "E255K", "F317L"]),
                                         max_size=2, unique=True))
    else:
        obs |= {"alt": draw(_num(0, 2000)), "alt_uln": 40, "bilirubin": draw(_opt(_num(0, 30)))}
    return obs


@st.composite
def patient_records(draw: st.DrawFn, pid: str | None = None) -> PatientRecord:
    birth = draw(st.dates(dt.date(1930, 1, 1), dt.date(1999, 12, 31)))
    data: dict[str, Any] = {"id": pid or draw(_TEXT), "sex": draw(_opt(st.sampled_from("FM"))),
                            "birth_date": birth.isoformat()}
    if draw(st.booleans()):
        data["diagnosis"] = {
            "date": draw(_opt(_DAY)), "phase": draw(_opt(st.sampled_from(["chronic", "blast"]))),
            "transcript": draw(_opt(st.sampled_from(["e13a2", "e1a2"]))),
            "spleen_cm": draw(_opt(_num(0, 40))), "wbc": draw(_opt(_num(0, 2000))),
            "platelets": draw(_opt(_num(0, 10000))), "blasts_pb": draw(_opt(_num(0, 100))),
            "aca": draw(_ACA),
        }
    data["therapy"] = [
        {"drug": draw(st.sampled_from(["imatinib", "dasatinib", "hydroxyurea"])),
         "dose_mg_per_day": draw(_opt(_num(0, 2000))), "start": start.isoformat(),
         "end": None, "reason_end": draw(_opt(st.sampled_from(sorted(REASONS_END))))}
        for start in draw(st.lists(_DAY, max_size=3))
    ]
    keys = draw(st.lists(st.tuples(_DAY, st.sampled_from(
        ["blood", "marrow", "cytogenetics", "fish", "pcr", "mutation", "chemistry"])),
        max_size=8, unique=True))
    data["observations"] = [draw(_observation(d, k)) for d, k in keys]
    events = []
    for d in draw(st.lists(_DAY, max_size=3)):
        kind = draw(st.sampled_from(["progression", "death", "tki_stop", "off_study"]))
        detail = {"progression": "phase", "death": "cause"}.get(kind, "note")
        value = draw(st.sampled_from(["accelerated", "blast"])) if kind == "progression" else (
            draw(_opt(_TEXT)))
        events.append({"date": d.isoformat(), "kind": kind, detail: value})
    data["events"] = events
    return PatientRecord.model_validate(data)
