"""The comparison images of docs/plots.md: cmltrack's figures from a seeded synthetic cohort,
and the tables plots.R draws the R (survminer, cmprsk) counterparts from.

Run from this folder:  python make_images.py && Rscript plots.R
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from cmltrack.plots import figure_of, plot_cif, plot_km, save_figure
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


if __name__ == "__main__":
    main()
