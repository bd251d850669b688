"""The comparison images of docs/plots.md: cmltrack's figures from a seeded synthetic cohort,
and the tables plots.R draws the R (survminer, cmprsk) counterparts from.

Run from this folder:  python make_images.py && Rscript plots.R
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from cmltrack.domain.assess import assess
from cmltrack.io import load_records
from cmltrack.plots import (
    figure_of,
    ph_change,
    plot_bcr_abl1,
    plot_cif,
    plot_km,
    plot_swimmer,
    plot_waterfall,
    save_figure,
    swimmer_rows,
)
from cmltrack.stats.tables import derive_cohort_tables
from cmltrack.synth import generate_cohort

HERE = Path(__file__).resolve().parent
IMG = HERE.parent / "img" / "compare"


def main() -> None:
    adtte, adsl = derive_cohort_tables(generate_cohort(300, seed=7))
    adtte.to_csv(HERE / "adtte.csv", index=False)
    adsl.to_csv(HERE / "adsl.csv", index=False)
    pfs = adtte[adtte.PARAMCD == "PFS"].merge(adsl, on="USUBJID")
    # plots.R draws R's picture with conf.type = "log-log": the same interval here, like for
    # like (cmltrack's default is R's default, "log").
    ax = plot_km(pfs.AVAL, 1 - pfs.CNSR, pfs.sokal_group.fillna("not computable"),
                 xlabel="months since start of TKI therapy", ylabel="progression-free survival",
                 title="Progression-free survival by Sokal risk", ci="loglog")
    save_figure(figure_of(ax), IMG / "cmltrack_km.png", dpi=100)
    ax = plot_km(pfs.AVAL, 1 - pfs.CNSR, pfs.sokal_group.fillna("not computable"),
                 xlabel="months since start of TKI therapy", ylabel="progression-free survival",
                 title="Progression-free survival by Sokal risk (greyscale)", greyscale=True,
                 ci="loglog")
    save_figure(figure_of(ax), IMG / "cmltrack_km_grey.png", dpi=100)
    mmr = adtte[adtte.PARAMCD == "TTMMR"]
    status = [1 if c == 0 else (2 if m == 1 else 0) for c, m in zip(mmr.CNSR, mmr.CMPEVNT,
                                                                        strict=True)]
    ax = plot_cif(mmr.AVAL, status, xlabel="months since start of TKI therapy",
                  ylabel="cumulative incidence", title="Cumulative incidence of MMR",
                  event_label="MMR", competing_label="death or progression first")
    save_figure(figure_of(ax), IMG / "cmltrack_cif.png", dpi=100)
    print(pd.Series({"patients": len(adsl), "PFS events": int((pfs.CNSR == 0).sum())}))
    clinic_images()


def clinic_images() -> None:
    """The BCR::ABL1 chart, swimmer and waterfall of the bundled example clinic (the
    before_* images beside them are the same pictures before issue 16)."""
    records = load_records(HERE.parents[1] / "src" / "cmltrack" / "examples" / "patients.jsonl")
    cases = [(r, assess(r)) for r in records]
    for record, a in cases:
        if record.id in ("P04", "P09"):
            save_figure(figure_of(plot_bcr_abl1(record, a)),
                        IMG / f"cmltrack_bcr_abl1_{record.id}.png", dpi=100)
    save_figure(figure_of(plot_swimmer(swimmer_rows(cases))), IMG / "cmltrack_swimmer.png",
                dpi=100)
    bars = [b for b in (ph_change(a) for _r, a in cases) if b is not None]
    save_figure(figure_of(plot_waterfall(bars)), IMG / "cmltrack_waterfall.png", dpi=100)
    # The same data as tables for plots.R's ggplot2 counterparts.
    pd.DataFrame(
        [{"patient": r.id, "date": o.date.isoformat(), "bcr_abl1_is": o.bcr_abl1_is,
          "detected": o.is_detected, "control_gene": o.control_gene,
          "control_copies": o.control_copies}
         for r, _a in cases if r.id in ("P04", "P09")
         for o in r.observations if o.kind == "pcr"]
    ).to_csv(HERE / "clinic_pcr.csv", index=False)
    pd.DataFrame(
        [{"patient": row.patient_id, "start": s.start, "end": s.end, "kind": s.kind,
          "drug": s.drug or ""}
         for row in swimmer_rows(cases) for s in row.segments]
    ).to_csv(HERE / "clinic_swimmer.csv", index=False)
    pd.DataFrame(
        [{"patient": b.patient_id, "change_pct": b.change_pct} for b in bars]
    ).to_csv(HERE / "clinic_waterfall.csv", index=False)


if __name__ == "__main__":
    main()
