# ruff: noqa: UP031  (%-formatting of fixed templates is the fastest way to a million records)
"""Turn a simulated batch into records: JSON Lines text or the rows of the four CSV tables.

For speed at a million patients the JSON is formatted from templates rather than built through
pydantic; the tests check on samples that every line validates as a
:class:`~cmltrack.domain.records.PatientRecord` and reads back through ``cmltrack.io``.
Observations are written in date order; at most one observation of a kind per patient and day
(the CSV form could not tell two apart), the first one simulated wins.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from cmltrack.synth.baseline import DX_ACA, TRANSCRIPTS
from cmltrack.synth.model import (
    DRUGS,
    E_DEATH,
    E_PROG,
    EVENTS,
    MUTATIONS,
    PROGRESSION_ACA,
    REASONS,
    BatchResult,
)

_BASE = dt.date(1880, 1, 1).toordinal()

PATIENT_COLUMNS = (
    "patient_id", "sex", "birth_date", "diagnosis_date", "disease", "phase", "transcript", "age",
    "spleen_cm", "wbc", "platelets", "hemoglobin", "blasts_pb", "basophils_pb", "eosinophils_pb",
    "aca",
)
THERAPY_COLUMNS = ("patient_id", "drug", "dose_mg_per_day", "start", "end", "reason_end")
LAB_COLUMNS = ("patient_id", "date", "test", "value", "unit")
EVENT_COLUMNS = ("patient_id", "date", "event", "detail")
CSV_TABLES = {
    "patients.csv": PATIENT_COLUMNS,
    "therapy.csv": THERAPY_COLUMNS,
    "labs.csv": LAB_COLUMNS,
    "events.csv": EVENT_COLUMNS,
}


@functools.cache
def _dates(last_ordinal: int) -> np.ndarray:
    """ISO strings of every day from 1880 to ``last_ordinal`` (a lookup beats isoformat())."""
    return np.array([dt.date.fromordinal(o).isoformat() for o in range(_BASE, last_ordinal + 1)],
                    dtype=object)


def _iso(dates: np.ndarray, ordinals: np.ndarray) -> list[str]:
    return dates[ordinals - _BASE].tolist()  # type: ignore[no-any-return]


def patient_id(index: int) -> str:
    """The id of the patient at 0-based position ``index`` of the cohort."""
    return f"SYN{index + 1:07d}"


_ACA_JSON = ["", *(json.dumps(a) for a in DX_ACA)]
_PACA_JSON = ["", *(json.dumps(a) for a in PROGRESSION_ACA)]
_ACA_TEXT = ["", *DX_ACA]
_PACA_TEXT = ["", *PROGRESSION_ACA]


@dataclass
class _Obs:
    """Observations of a batch sorted by patient and date, with per-patient offsets."""

    pid: np.ndarray
    ordinal: np.ndarray
    kind: np.ndarray
    index: np.ndarray  # row in that kind's log
    offsets: np.ndarray


KIND_ORDER = ("blood", "pcr", "cytogenetics", "mutation")


def _sorted_observations(res: BatchResult) -> _Obs:
    t0 = res.baseline["t0_ord"]
    logs = (res.blood, res.pcr, res.cyto, res.mutation)
    pid = np.concatenate([lg["pid"].astype(np.int64) for lg in logs])
    day = np.concatenate([lg["day"] for lg in logs])
    kind = np.concatenate([np.full(len(lg["pid"]), k) for k, lg in enumerate(logs)])
    index = np.concatenate([np.arange(len(lg["pid"])) for lg in logs])
    ordinal = t0[pid] + np.floor(day).astype(np.int64)
    # one int64 key (patient, day, kind) sorted stably keeps the simulated order within a key
    key = (pid * 200_000 + (ordinal - _BASE)) * 4 + kind
    order = np.argsort(key, kind="stable")
    pid, ordinal, kind, index = pid[order], ordinal[order], kind[order], index[order]
    dup = np.zeros(len(pid), dtype=bool)
    if len(pid) > 1:
        dup[1:] = (pid[1:] == pid[:-1]) & (ordinal[1:] == ordinal[:-1]) & (kind[1:] == kind[:-1])
    keep = ~dup
    pid, ordinal, kind, index = pid[keep], ordinal[keep], kind[keep], index[keep]
    offsets = np.searchsorted(pid, np.arange(res.n + 1))
    return _Obs(pid, ordinal, kind, index, offsets)


def _sorted(log: dict[str, np.ndarray], t0: np.ndarray, n: int) -> tuple[np.ndarray, ...]:
    pid = log["pid"].astype(np.int64)
    ordinal = t0[pid] + np.floor(log["day"]).astype(np.int64)
    order = np.lexsort((np.arange(len(pid)), ordinal, pid))
    return pid[order], ordinal[order], order, np.searchsorted(pid[order], np.arange(n + 1))


_BLOOD_JSON = (
    '{"date":"%s","kind":"blood","wbc":%s,"anc":%s,"platelets":%s,"hemoglobin":%s,'
    '"blasts_pb":%s,"promyelocytes_pb":%s,"myelocytes_pb":%s,"metamyelocytes_pb":%s,'
    '"basophils_pb":%s,"eosinophils_pb":%s,"spleen_cm":%s}'
)
_PCR_JSON = (
    '{"date":"%s","kind":"pcr","bcr_abl1_is":%.4g,"control_gene":"ABL1","control_copies":%d}'
)
_PCR0_JSON = '{"date":"%s","kind":"pcr","detected":false,"control_gene":"ABL1","control_copies":%d}'
_CYTO_JSON = '{"date":"%s","kind":"cytogenetics","ph_pos":%d,"metaphases":%d,"aca":[%s]}'
_MUT_JSON = '{"date":"%s","kind":"mutation","mutations":[%s]}'
_BLOOD_FIELDS = (
    ("wbc", "%.1f"), ("anc", "%.2f"), ("platelets", "%d"), ("hemoglobin", "%.1f"),
    ("blasts_pb", "%d"), ("promyelocytes_pb", "%d"), ("myelocytes_pb", "%d"),
    ("metamyelocytes_pb", "%d"), ("basophils_pb", "%d"), ("eosinophils_pb", "%d"),
    ("spleen_cm", "%d"),
)


def _fmt_is(v: float) -> str:
    return "%.4g" % v


@functools.cache
def _numbers() -> tuple[list[str], list[str], list[str]]:
    """Text of integers, tenths and hundredths (a list lookup beats formatting per value)."""
    ints = [str(i) for i in range(10_001)]
    tenths = ["%.1f" % (i / 10) for i in range(30_001)]
    hundredths = ["%.2f" % (i / 100) for i in range(100_001)]
    return ints, tenths, hundredths


def _text(values: np.ndarray, spec: str) -> list[str]:
    """Values already rounded to ``spec`` (%d, %.1f, %.2f) as text, by table lookup."""
    ints, tenths, hundredths = _numbers()
    if spec == "%d":
        return [ints[i] for i in np.rint(values).astype(np.int64).tolist()]
    if spec == "%.1f":
        return [tenths[i] for i in np.rint(values * 10).astype(np.int64).tolist()]
    return [hundredths[i] for i in np.rint(values * 100).astype(np.int64).tolist()]


def _obs_strings(res: BatchResult, obs: _Obs, dates: np.ndarray, csv_ids: list[str] | None
                 ) -> list[str]:
    """One string per kept observation, in ``obs`` order (JSON objects, or CSV row blocks)."""
    t0 = res.baseline["t0_ord"]
    every: list[str] = []
    start = []
    for k, log in enumerate((res.blood, res.pcr, res.cyto, res.mutation)):
        start.append(len(every))
        if not len(log["pid"]):
            continue
        pid = log["pid"].astype(np.int64)
        ordinal = t0[pid] + np.floor(log["day"]).astype(np.int64)
        ds = _iso(dates, ordinal)
        every += _format_kind(k, log, ds, pid.tolist(), csv_ids)
    where = (np.asarray(start)[obs.kind] + obs.index).tolist()
    return [every[i] for i in where]


def _format_kind(k: int, log: dict[str, np.ndarray], ds: list[str], pids: list[int],
                 csv_ids: list[str] | None) -> list[str]:
    if k == 0:
        cols = [_text(log[f], spec) for f, spec in _BLOOD_FIELDS]
        if csv_ids is None:
            return [_BLOOD_JSON % t for t in zip(ds, *cols, strict=True)]
        tmpl = "\n".join(f"%s,%s,{f},%s," for f, _ in _BLOOD_FIELDS)
        ids = [csv_ids[p] for p in pids]
        return [
            tmpl % tuple(x for pair in zip([i] * 11, [d] * 11, vals, strict=True) for x in pair)
            for i, d, *vals in zip(ids, ds, *cols, strict=True)
        ]
    if k == 1:
        vals = log["value"].tolist()
        copies = log["copies"].tolist()
        if csv_ids is None:
            return [
                _PCR0_JSON % (d, c) if v != v else _PCR_JSON % (d, v, c)
                for d, v, c in zip(ds, vals, copies, strict=True)
            ]
        return [
            f"{csv_ids[p]},{d},bcr_abl1_is,{'undetected' if v != v else _fmt_is(v)},\n"
            f"{csv_ids[p]},{d},control_gene,ABL1,\n{csv_ids[p]},{d},control_copies,{c:.0f},"
            for p, d, v, c in zip(pids, ds, vals, copies, strict=True)
        ]
    if k == 2:
        ph = log["ph_pos"].astype(np.int64).tolist()
        meta = log["metaphases"].astype(np.int64).tolist()
        aca = log["aca"].astype(np.int64).tolist()
        # diagnosis karyotypes carry the baseline ACA codes, later ones the progression codes
        prog = (log["day"] > 0).tolist()
        if csv_ids is None:
            return [
                _CYTO_JSON % (d, a, b, (_PACA_JSON if pr else _ACA_JSON)[c])
                for d, a, b, c, pr in zip(ds, ph, meta, aca, prog, strict=True)
            ]
        out = []
        for p, d, a, b, c, pr in zip(pids, ds, ph, meta, aca, prog, strict=True):
            s = f"{csv_ids[p]},{d},ph_pos,{a},\n{csv_ids[p]},{d},metaphases,{b},"
            if c:
                s += f"\n{csv_ids[p]},{d},aca,{(_PACA_TEXT if pr else _ACA_TEXT)[c]},"
            out.append(s)
        return out
    codes = log["code"].astype(np.int64).tolist()
    if csv_ids is None:
        return [
            _MUT_JSON % (d, f'"{MUTATIONS[c - 1]}"' if c else "")
            for d, c in zip(ds, codes, strict=True)
        ]
    return [
        f"{csv_ids[p]},{d},mutation,{MUTATIONS[c - 1] if c else 'none'},"
        for p, d, c in zip(pids, ds, codes, strict=True)
    ]


def _therapy_lines(res: BatchResult, dates: np.ndarray) -> list[list[tuple[str, ...]]]:
    """Per patient: (drug, dose text, start, end or '', reason or '') from the change log."""
    t0 = res.baseline["t0_ord"]
    _, ordinal, order, offsets = _sorted(res.therapy, t0, res.n)
    drug = res.therapy["drug"][order].astype(np.int64).tolist()
    dose = res.therapy["dose"][order].tolist()
    reason = res.therapy["reason"][order].astype(np.int64).tolist()
    ds = _iso(dates, ordinal)
    off = offsets.tolist()
    out: list[list[tuple[str, ...]]] = []
    for i in range(res.n):
        lines: list[tuple[str, ...]] = []
        cur: tuple[str, str, str] | None = None
        for j in range(off[i], off[i + 1]):
            d = ds[j]
            if cur is not None:
                r = reason[j]
                lines.append((*cur, d, REASONS[r] if r >= 0 else "other"))
                cur = None
            if drug[j] >= 0:
                dz = dose[j]
                cur = (DRUGS[drug[j]], "" if dz != dz else "%d" % dz, d)
        if cur is not None:
            lines.append((*cur, "", ""))
        out.append(lines)
    return out


def _events(res: BatchResult, dates: np.ndarray) -> list[list[tuple[str, str, str]]]:
    """Per patient: (date, kind, detail) in date order."""
    t0 = res.baseline["t0_ord"]
    _, ordinal, order, offsets = _sorted(res.events, t0, res.n)
    kind = res.events["kind"][order].astype(np.int64).tolist()
    detail = res.events["detail"][order].tolist()
    ds = _iso(dates, ordinal)
    off = offsets.tolist()
    out: list[list[tuple[str, str, str]]] = []
    for i in range(res.n):
        evs = []
        for j in range(off[i], off[i + 1]):
            k = kind[j]
            if k == E_PROG:
                det = "blast" if detail[j] > 0.5 else "accelerated"
            elif k == E_DEATH:
                det = "CML" if detail[j] > 0.5 else "other"
            else:
                det = ""
            evs.append((ds[j], EVENTS[k], det))
        out.append(evs)
    return out


def _baseline_rows(res: BatchResult, dates: np.ndarray) -> list[tuple[Any, ...]]:
    b = res.baseline
    cols = [
        ["M" if x else "F" for x in b["male"].tolist()],
        _iso(dates, b["birth_ord"]),
        _iso(dates, b["dx_ord"]),
        [TRANSCRIPTS[t] for t in b["transcript"].tolist()],
        b["age"].tolist(), b["spleen"].tolist(), b["wbc"].tolist(), b["platelets"].tolist(),
        b["hemoglobin"].tolist(), b["blasts"].tolist(), b["basophils"].tolist(),
        b["eosinophils"].tolist(), b["aca"].astype(np.int64).tolist(),
    ]
    return list(zip(*cols, strict=True))


_PATIENT_JSON = (
    '{"id":"%s","sex":"%s","birth_date":"%s","diagnosis":{"date":"%s","disease":"CML",'
    '"phase":"chronic","transcript":"%s","age":%.1f,"spleen_cm":%d,"wbc":%.1f,"platelets":%d,'
    '"hemoglobin":%.1f,"blasts_pb":%d,"basophils_pb":%d,"eosinophils_pb":%d,"aca":[%s]},'
    '"therapy":[%s],"observations":[%s],"events":[%s]}'
)


def _therapy_json(t: tuple[str, ...]) -> str:
    drug, dose, start, end, reason = t
    s = '{"drug":"%s",' % drug
    if dose:
        s += '"dose_mg_per_day":%s,' % dose
    s += '"start":"%s","end":' % start
    s += '"%s","reason_end":"%s"}' % (end, reason) if end else "null}"
    return s


def _event_json(e: tuple[str, str, str]) -> str:
    date, kind, det = e
    if kind == "progression":
        return '{"date":"%s","kind":"progression","phase":"%s"}' % (date, det)
    if kind == "death":
        return '{"date":"%s","kind":"death","cause":"%s"}' % (date, det)
    return '{"date":"%s","kind":"%s"}' % (date, kind)


def batch_to_jsonl(res: BatchResult, last_ordinal: int) -> str:
    """The batch as JSON Lines text (one patient per line, each line ending in a newline)."""
    dates = _dates(last_ordinal)
    obs = _sorted_observations(res)
    strs = _obs_strings(res, obs, dates, None)
    off = obs.offsets.tolist()
    therapy = _therapy_lines(res, dates)
    events = _events(res, dates)
    lines = []
    for i, row in enumerate(_baseline_rows(res, dates)):
        sex, birth, dx, tr, age, spl, wbc, plt, hb, bl, ba, eo, aca = row
        lines.append(_PATIENT_JSON % (
            patient_id(res.first_index + i), sex, birth, dx, tr, age, spl, wbc, plt, hb, bl, ba,
            eo, _ACA_JSON[aca], ",".join(_therapy_json(t) for t in therapy[i]),
            ",".join(strs[off[i]:off[i + 1]]), ",".join(_event_json(e) for e in events[i]),
        ))
    lines.append("")
    return "\n".join(lines)


def batch_to_csv(res: BatchResult, last_ordinal: int) -> dict[str, str]:
    """The batch as rows (no header) of patients.csv, therapy.csv, labs.csv and events.csv."""
    dates = _dates(last_ordinal)
    ids = [patient_id(res.first_index + i) for i in range(res.n)]
    obs = _sorted_observations(res)
    labs = _obs_strings(res, obs, dates, ids)
    patients = []
    for i, row in enumerate(_baseline_rows(res, dates)):
        sex, birth, dx, tr, age, spl, wbc, plt, hb, bl, ba, eo, aca = row
        patients.append("%s,%s,%s,%s,CML,chronic,%s,%.1f,%d,%.1f,%d,%.1f,%d,%d,%d,%s" % (
            ids[i], sex, birth, dx, tr, age, spl, wbc, plt, hb, bl, ba, eo, _ACA_TEXT[aca]))
    therapy = [
        ",".join((ids[i], *t)) for i, lines in enumerate(_therapy_lines(res, dates)) for t in lines
    ]
    events = [
        f"{ids[i]},{d},{k},{det}" for i, evs in enumerate(_events(res, dates)) for d, k, det in evs
    ]
    return {
        "patients.csv": _join(patients),
        "therapy.csv": _join(therapy),
        "labs.csv": _join(labs),
        "events.csv": _join(events),
    }


def _join(rows: list[str]) -> str:
    return "\n".join(rows) + "\n" if rows else ""


def batch_to_dicts(res: BatchResult, last_ordinal: int) -> Iterator[dict[str, Any]]:
    """The batch as plain JSON dicts (the shape of the patient-record contract)."""
    for line in batch_to_jsonl(res, last_ordinal).splitlines():
        yield json.loads(line)
