"""Seed 004 (Kantarjian 2003, high-dose imatinib), Table 3 "Details of cytogenetic responses".

Run:  python examples/seeds/seed004_table3.py        (prints the Markdown of docs/seed004-table3.md)

Each patient of Table 3 is encoded below with the seed's own text line, verbatim. The seed is a
text extraction of the paper that dropped every one-character table cell: the patient numbers
1-9 and the "0" in "lowest Ph+ % after dose increase" of the complete responses (CR = Ph 0%).
Those cells are restored from the row order and from the paper's definition, and marked.

For every patient the script
1. classifies the lowest Ph+ % after the dose increase with cmltrack's own cytogenetic rules
   (``cmltrack.domain.response.classify_cytogenetic``) under the paper's M.D. Anderson scheme
   (CR 0%, PR 1-34%, minor 35-90%) and the ELN scheme, and compares with the paper's label;
2. places the patient in the paper's resistance/relapse groups (text of the Results section);
3. rebuilds a 400 mg history from the two Ph+ values, derives the Kantarjian 2003 events with
   cmltrack's event rules and asks the protocol whether to escalate.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections import Counter
from dataclasses import dataclass

from cmltrack.domain.enums import CytogeneticResponse as CyR
from cmltrack.domain.enums import CytogeneticScheme, HematologicResponse
from cmltrack.domain.guidelines.events import DAYS_PER_MONTH, LossRule, derive_events
from cmltrack.domain.guidelines.protocol import recommend_kantarjian2003
from cmltrack.domain.records import Cytogenetics, Fish, PatientRecord
from cmltrack.domain.response import classify_cytogenetic
from cmltrack.domain.results import ClinicalEvent, Recommendation, Timepoint

DOI = "10.1182/blood-2002-05-1451"
LABELS = {"CR": CyR.CCYR, "PR": CyR.PCYR, "Minor": CyR.MINOR}


@dataclass(frozen=True)
class Row:
    """One Table 3 row: Ph+ % on 400 mg (lowest / before the increase), after, the paper's label."""

    patient: int
    seed_line: str  # verbatim from the seed (cells separated by non-breaking spaces)
    lowest_400: float
    pre_increase: float
    lowest_after: float
    fish: bool  # "(FISH)": the value after the increase is a FISH percentage
    label: str  # the paper's "improved cytogenetic response, type"
    duration: str  # months from the date improvement was first documented ("+": continuing)
    hematologic_resistance: bool = False  # footnote "3-151 Hematologic resistance"
    restored: str = ""  # cells the extraction dropped, restored here


_NO = "patient number"
_NO0 = "patient number; lowest after = 0 (a CR is Ph 0%)"

TABLE3: tuple[Row, ...] = (
    Row(1, "50/55\xa0CR/6+\xa0", 50, 55, 0, False, "CR", "6+", restored=_NO0),
    Row(2, "5/70\xa0CR/6+ \xa0", 5, 70, 0, False, "CR", "6+", restored=_NO0),
    Row(3, "40/100\xa0CR/5+\xa0", 40, 100, 0, False, "CR", "5+", restored=_NO0),
    Row(4, "20/40\xa0CR/2+ \xa0", 20, 40, 0, False, "CR", "2+", restored=_NO0),
    Row(5, "0/55\xa0CR/1+\xa0", 0, 55, 0, False, "CR", "1+", restored=_NO0),
    Row(6, "100/1003-151\xa010\xa0PR/17 \xa0", 100, 100, 10, False, "PR", "17", True, _NO),
    Row(7, "0/55\xa010\xa0PR/15\xa0", 0, 55, 10, False, "PR", "15", restored=_NO),
    Row(8, "50/85\xa015\xa0PR/1+ \xa0", 50, 85, 15, False, "PR", "1+", restored=_NO),
    Row(9, "5/45\xa020\xa0PR/3+\xa0", 5, 45, 20, False, "PR", "3+", restored=_NO),
    Row(10, "10\xa090/90\xa025\xa0PR/1+ \xa0", 90, 90, 25, False, "PR", "1+"),
    Row(11, "11\xa090/90\xa040\xa0PR/6+\xa0", 90, 90, 40, False, "PR", "6+"),
    Row(12, "12\xa066/100\xa040\xa0Minor/1+ \xa0", 66, 100, 40, False, "Minor", "1+"),
    Row(13, "13\xa075/75\xa042\xa0PR/5+\xa0", 75, 75, 42, False, "PR", "5+"),
    Row(14, "14\xa0100/100\xa045\xa0Minor/11 \xa0", 100, 100, 45, False, "Minor", "11"),
    Row(15, "15\xa0100/100\xa045\xa0Minor/1+\xa0", 100, 100, 45, False, "Minor", "1+"),
    Row(16, "16\xa0100/1003-151\xa050\xa0Minor/1+ \xa0", 100, 100, 50, False, "Minor", "1+", True),
    Row(17, "17\xa00/95\xa070\xa0Minor/2\xa0", 0, 95, 70, False, "Minor", "2"),
    Row(18, "18\xa045/100\xa03\u2009(FISH)\xa0CR/11+\xa0", 45, 100, 3, True, "CR", "11+"),
    Row(19, "19\xa0100/100\xa027\u2009(FISH)\xa0PR/1+\xa0", 100, 100, 27, True, "PR", "1+"),
    Row(20, "20\xa085/100\xa034\u2009(FISH)\xa0Minor/1+\xa0", 85, 100, 34, True, "Minor", "1+"),
    Row(21, "21\xa0100/100\xa055\u2009(FISH)\xa0Minor/11+\xa0", 100, 100, 55, True, "Minor", "11+"),
)

_DAY = dt.date(2000, 1, 3)  # any date: the paper gives none, only the sequence


def classify(pct: float, fish: bool, scheme: CytogeneticScheme) -> CyR | None:
    """cmltrack's category for a Ph+ % (banding, metaphase count not given) or a FISH %."""
    if fish:
        return classify_cytogenetic(None, Fish(date=_DAY, fish_pct=pct), scheme=scheme).value
    return classify_cytogenetic(Cytogenetics(date=_DAY, ph_pct=pct), None, scheme=scheme).value


def group(row: Row) -> str:
    """The paper's resistance/relapse group, read from its Results text and Table 2.

    Text: 9 patients lost a complete or partial response; 4 lost a minor response (Table 2:
    "to 100% Ph+"); 21 had cytogenetic resistance (14 without any response, 7 with a minor one);
    the hematologic patients are footnoted. Ph+ bands are the paper's (M.D. Anderson).
    """
    if row.hematologic_resistance:
        return "hematologic"
    lowest = classify(row.lowest_400, False, CytogeneticScheme.MDACC)
    if lowest == CyR.CCYR:
        return "lost CR"
    if lowest == CyR.PCYR:
        return "lost PR"
    if lowest == CyR.MINOR:
        return "lost minor" if row.pre_increase == 100 else "resistance, minor"
    return "resistance, none"


def _date(months: float) -> dt.date:
    return _DAY + dt.timedelta(days=round(months * DAYS_PER_MONTH))


def history(row: Row) -> tuple[PatientRecord, list[Timepoint], dt.date]:
    """A 400 mg course consistent with the row: Ph+ 100% at 3 months, the lowest value at 9 and
    12 months, the pre-increase value at 15 and 18 months; the dose decision at 18 months.
    Blood counts in CHR, except no CHR throughout for the footnoted hematologic resistance."""
    record = PatientRecord.model_validate(
        {"id": f"seed004-{row.patient}", "diagnosis": {"phase": "chronic"},
         "therapy": [{"drug": "imatinib", "dose_mg_per_day": 400, "start": _DAY.isoformat()}]}
    )
    hem = HematologicResponse.NONE if row.hematologic_resistance else HematologicResponse.CHR
    tps = []
    for month, ph in ((3, 100.0), (9, row.lowest_400), (12, row.lowest_400),
                      (15, row.pre_increase), (18, row.pre_increase)):
        tps.append(Timepoint(_date(month), float(month), hematologic=hem,
                             cytogenetic=classify(ph, False, CytogeneticScheme.MDACC), ph_pct=ph))
    return record, tps, _date(18)


def triggers(row: Row) -> tuple[tuple[ClinicalEvent, ...], tuple[Recommendation, ...]]:
    """cmltrack's Kantarjian 2003 events for the rebuilt course, and the protocol's answer."""
    record, tps, as_of = history(row)
    events = derive_events(
        record, tps, first_tki_start=_DAY, mmr_loss=LossRule(1, None, "ELN2020"), as_of=as_of
    )
    kinds = {"hematologic_resistance", "cytogenetic_resistance", "hematologic_relapse",
             "cytogenetic_relapse"}
    found = tuple(e for e in events if e.kind in kinds)
    return found, recommend_kantarjian2003(record, tps, events, as_of=as_of)


def _cat(c: CyR | None) -> str:
    return {CyR.CCYR: "CR", CyR.PCYR: "PR", CyR.MINOR: "minor", CyR.MINIMAL: "minimal",
            CyR.NONE: "none"}.get(c, str(c)) if c is not None else "-"


def render() -> str:
    """The Markdown report: per-patient table, disagreements, tallies."""
    out = [
        "| Pt | seed line (spaces normalised) | on 400 mg lowest/pre | after | paper | MDACC | ELN "
        "| group | cmltrack trigger | protocol |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    disagree: list[str] = []
    tally: dict[str, Counter[str]] = {"paper": Counter(), "MDACC": Counter(), "ELN": Counter()}
    groups: dict[str, Counter[str]] = {}
    for row in TABLE3:
        md = classify(row.lowest_after, row.fish, CytogeneticScheme.MDACC)
        eln = classify(row.lowest_after, row.fish, CytogeneticScheme.ELN)
        g = group(row)
        events, recs = triggers(row)
        trig = ", ".join(sorted({str(e.kind) for e in events})) or "none"
        prot = ", ".join(f"{r.action} {r.dose_mg_per_day:g}" for r in recs) or "no escalation"
        after = f"{row.lowest_after:g}{' FISH' if row.fish else ''}"
        mark = "" if LABELS[row.label] == md else " **≠**"
        line = " ".join(row.seed_line.replace("\u2009", " ").split())  # NBSP: cell breaks
        out.append(
            f"| {row.patient} | `{line}` | {row.lowest_400:g}/{row.pre_increase:g}"
            f" | {after} | {row.label} | {_cat(md)}{mark} | {_cat(eln)} | {g} | {trig} | {prot} |"
        )
        if LABELS[row.label] != md:
            value = f"FISH {row.lowest_after:g}% positive nuclei" if row.fish else (
                f"Ph+ {row.lowest_after:g}%"
            )
            fish_note = (
                "; the paper gives no FISH criterion, cmltrack places a FISH % >= 1 in the same "
                "bands" if row.fish else ""
            )
            disagree.append(
                f"- Patient {row.patient}: {value} after the increase is {_cat(md)} by the "
                f"paper's own bands (CR 0%, PR 1-34%, minor 35-90%{fish_note}); Table 3 says "
                f"{row.label}."
            )
        if not row.hematologic_resistance:
            tally["paper"][_cat(LABELS[row.label])] += 1
            tally["MDACC"][_cat(md)] += 1
            tally["ELN"][_cat(eln)] += 1
        groups.setdefault(g, Counter())[_cat(LABELS[row.label])] += 1
    out += ["", "Rows where the paper's label disagrees with its own definitions:", "", *disagree]
    out += ["", "Cytogenetic resistance/relapse patients of Table 3 (19 rows, of 34 treated):", "",
            "| counted by | CR | PR | minor | minimal | MCyR of 34 |", "|---|---|---|---|---|---|"]
    for name, c in tally.items():
        mcyr = c["CR"] + c["PR"]
        out.append(f"| {name} | {c['CR']} | {c['PR']} | {c['minor']} | {c['minimal']} "
                   f"| {mcyr} ({100 * mcyr / 34:.0f}%) |")
    out += ["", "Table 3 rows by group, with the paper's labels:", "",
            "| group | CR | PR | minor |", "|---|---|---|---|"]
    for g in ("lost CR", "lost PR", "lost minor", "resistance, none", "resistance, minor",
              "hematologic"):
        c = groups.get(g, Counter())
        out.append(f"| {g} | {c['CR']} | {c['PR']} | {c['minor']} |")
    return "\n".join(out) + "\n"


def main() -> int:
    sys.stdout.write(render())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
