"""``cmltrack demo``: assess the bundled example clinic and print a clinic summary."""

from __future__ import annotations

import sys
from collections import Counter, defaultdict
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Annotated

import typer

from cmltrack import DISCLAIMER
from cmltrack.cli.app import app
from cmltrack.domain.assess import Assessment


def example_path(form: str = "jsonl") -> Path:
    """Path of the bundled example clinic in one of its forms: json, jsonl, csv, fhir (a
    Bundle) or fhir-ndjson (a Bulk Data folder)."""
    base = resources.files("cmltrack").joinpath("examples")
    name = {"json": "patients.json", "jsonl": "patients.jsonl", "csv": "csv",
            "fhir": "fhir/bundle.json", "fhir-ndjson": "fhir/bulk"}[form]
    return Path(str(base.joinpath(name)))


def summarise_clinic(results: Iterable[Assessment]) -> str:
    """How many patients are on track, in warning, in failure; which actions are due, for whom."""
    status: Counter[str] = Counter()
    actions: dict[str, list[str]] = defaultdict(list)
    n = 0
    for a in results:
        n += 1
        status[str(a.current.status) if a.current.status else "not assessed"] += 1
        for r in a.recommendations:
            if r.action != "continue" and a.patient_id not in actions[str(r.action)]:
                actions[str(r.action)].append(a.patient_id)
    lines = [f"Clinic summary: {n} patients"]
    for key in ("optimal", "warning", "suboptimal", "failure", "not_evaluable", "pending",
                "deceased", "lost_to_follow_up", "not assessed"):
        if status[key]:
            label = "on track (optimal)" if key == "optimal" else key
            lines.append(f"  {label:<22} {status[key]:>5}")
    if actions:
        lines.append("Actions due:")
        for action in sorted(actions):
            who = actions[action]
            shown = ", ".join(who[:8]) + (f" and {len(who) - 8} more" if len(who) > 8 else "")
            lines.append(f"  {action:<22} {len(who):>5}  {shown}")
    return "\n".join(lines)


@app.command()
def demo(
    verbose: Annotated[
        bool, typer.Option("--verbose", help="Print every patient's full assessment.")
    ] = False,
    clinic: Annotated[
        int, typer.Option("--clinic", help="Size of the seeded synthetic clinic (0: none).")
    ] = 300,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the synthetic clinic.")] = 2026,
    report: Annotated[
        Path | None,
        typer.Option("--report", help="Folder for the HTML/PDF reports of the example clinic."),
    ] = Path("cmltrack-demo-report"),
    no_report: Annotated[bool, typer.Option("--no-report", help="Write no report.")] = False,
) -> None:
    """Assess the bundled example clinic (offline) and print what a clinic would act on."""
    from cmltrack.cli.render import render_assessment
    from cmltrack.domain.assess import assess
    from cmltrack.io import read_records

    path = example_path("jsonl")
    out = sys.stdout
    out.write(f"cmltrack demo: the bundled example clinic ({path})\n\n")
    results = [assess(r) for r in read_records(path)]
    header = f"{'patient':<8} {'status':<13} {'phase':<11} {'best response':<22} actions"
    out.write(header + "\n" + "-" * len(header) + "\n")
    for a in results:
        c = a.current
        best = f"{c.best_hematologic or '-'}/{c.best_cytogenetic or '-'}/{c.best_molecular or '-'}"
        acts = ", ".join(sorted({str(r.action) for r in a.recommendations})) or "-"
        status, phase = c.status or "-", c.phase or "-"
        out.write(f"{a.patient_id:<8} {status:<13} {phase:<11} {best:<22} {acts}\n")
        if verbose:
            out.write(render_assessment(a) + "\n\n")
    out.write("\n" + summarise_clinic(results) + "\n\n")
    if clinic > 0:
        from cmltrack.synth.cohort import DEFAULT_AS_OF, generate_cohort

        out.write(
            f"A seeded synthetic clinic: {clinic} patients started on imatinib (seed {seed}), "
            f"assessed as of {DEFAULT_AS_OF}:\n"
        )
        from cmltrack.synth.clinic import clinic_figures

        synthetic = [(r, assess(r)) for r in generate_cohort(clinic, seed)]
        out.write(summarise_clinic(a for _, a in synthetic) + "\n")
        out.write("How the synthetic clinic acts on failure (ELN 2020 judgements):\n")
        out.write("\n".join(clinic_figures(synthetic).lines()) + "\n\n")
    if report is not None and not no_report:
        import datetime as dt

        from cmltrack.domain.options import AssessOptions
        from cmltrack.reports.build import write_reports

        res = write_reports(
            read_records(path), report, options=AssessOptions(), generated=dt.date.today(),
            source=str(path), jobs=1,
        )
        index = (res.out / "index.html").resolve()
        out.write(f"Reports of the example clinic ({res.files} files): open {index}\n\n")
    out.write(f"Next: cmltrack assess {path} --json\n")
    out.write(f"      cmltrack explain {path} --patient P04\n")
    out.write(DISCLAIMER + "\n")
