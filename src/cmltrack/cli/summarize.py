"""``cmltrack summarize``: cohort response summaries with exact intervals."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from cmltrack import DISCLAIMER
from cmltrack.cli._input import AllowEmptyOpt, patient_records
from cmltrack.cli._progress import count_records, progress
from cmltrack.cli.app import app
from cmltrack.cli.assess import (
    EngineOpt,
    GuidelineOpt,
    MasterOpt,
    PhaseOpt,
    SchemeOpt,
    check_engine,
    make_options,
)
from cmltrack.domain.enums import CtcaeVersion, CytogeneticScheme, Guideline, PhaseCriteria


def _pct(x: float | None) -> str:
    # None or NaN: not estimable (e.g. past the last follow-up).
    return "-" if x is None or x != x else f"{100 * x:.1f}%"


@app.command()
def summarize(
    input: Annotated[
        str,
        typer.Argument(
            help="Patient records: .json, .jsonl or a CSV folder (--engine spark: JSON Lines "
            "or Parquet)."
        ),
    ],
    json_out: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False,
    by: Annotated[
        str | None,
        typer.Option("--by", help="Compare groups by a baseline column (e.g. sokal_group)."),
    ] = None,
    covariates: Annotated[
        str, typer.Option("--covariates", help="Logistic regression covariates (numeric).")
    ] = "age,sokal_score",
    landmark: Annotated[
        float, typer.Option("--landmark", min=0.0, max=600.0, help="Landmark month (0-600).")
    ] = 12.0,
    guideline: GuidelineOpt = Guideline.ELN2020,
    cytogenetic_scheme: SchemeOpt = CytogeneticScheme.ELN,
    phase_criteria: PhaseOpt = PhaseCriteria.ELN,
    allow_empty: AllowEmptyOpt = False,
    engine: EngineOpt = "single",
    spark_master: MasterOpt = "local[*]",
) -> None:
    """Best response rates by 3-24 months, cumulative incidence with competing risks,
    landmark survival by response, predictors of response, and group comparisons."""
    from cmltrack.stats.cohort_summary import SummarySpec, summarize_tally, tally

    check_engine(engine)
    options = make_options(guideline, cytogenetic_scheme, phase_criteria, None, CtcaeVersion.V5)
    covs = tuple(c.strip() for c in covariates.split(",") if c.strip())
    spec = SummarySpec(landmark=landmark, by=by, covariates=covs)
    if engine == "spark":
        from cmltrack.engines.spark_summary import tally_on_spark

        counts = tally_on_spark(input, spark_master, spec, options, allow_empty=allow_empty)
    else:
        records = progress(
            patient_records(Path(input), allow_empty=allow_empty), "summarize",
            count_records(Path(input)),
        )
        # Each patient is reduced to counts as it is read: memory stays flat with cohort size.
        counts = tally(records, spec, options)
    result, rates, cif = summarize_tally(counts, spec, file=str(Path(input)))
    if json_out:
        sys.stdout.write(json.dumps(result) + "\n")
        return
    out = [f"Cohort of {result['n']} patients"]
    out.append("Best response by month (exact 95% CI):")
    table = rates.summary
    for resp in table["response"].unique():
        sub = table[table["response"] == resp]
        cells = "  ".join(
            f"{row.by}: {row.k}/{row.n} {_pct(row.rate)} ({_pct(row.lower)}-{_pct(row.upper)})"
            for row in sub.itertuples()
        )
        out.append(f"  {resp:<6} {cells}")
    out.append("Cumulative incidence (death and progression compete):")
    for resp, res in cif.items():
        cells = "  ".join(f"{a.time:g} mo {_pct(a.cif)}" for a in res.groups[0].at)
        out.append(f"  {resp:<6} {cells}")
    lm = result["landmark"]
    if "groups" in lm:
        out.append(f"Landmark {landmark:g} months, PFS from the landmark by CCyR:")
        for g in lm["groups"]:
            cells = "  ".join(f"+{a['time']:g} mo {_pct(a['survival'])}" for a in g["at"])
            out.append(f"  {g['group']:<22} n={g['n']:<4} {cells}")
        if lm.get("logrank"):
            out.append(f"  log-rank p = {lm['logrank']['p']:.4g}")
    pred = result["predictors"]
    out.append(f"Logistic regression, {pred['outcome']} (n={pred['n']}, events={pred['events']}):")
    if pred["coefficients"]:
        for c in pred["coefficients"]:
            out.append(f"  {c['name']:<12} OR {c['odds_ratio']:.3g} "
                       f"({c['ci'][0]:.3g}-{c['ci'][1]:.3g}), p = {c['p']:.3g}")
    else:
        out.append(f"  {pred['note']}")
    if by is not None:
        out.append(f"By {by}: log-rank p = "
                   f"{(result['groups']['survival'].get('logrank') or {}).get('p')}")
    out.append(DISCLAIMER)
    sys.stdout.write("\n".join(out) + "\n")
