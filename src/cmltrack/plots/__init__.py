"""Pictures from results (matplotlib, imported lazily; bare Agg figures, no pyplot state).

Every ``plot_*`` returns the matplotlib Axes it drew on; series differ by marker, line style
and hatching, not by colour alone, so the figures read in grey print.

- :func:`plot_bcr_abl1` (``cmltrack.plots.bcr_abl1``): one patient's BCR::ABL1 course
- :func:`plot_km`, :func:`plot_cif`, :func:`numbers_at_risk`, :func:`plot_km_result`
  (``cmltrack.plots.survival``)
- :func:`plot_cif_result`, :func:`plot_cox_result`, :func:`plot_logrank_result`,
  :func:`plot_current_result` (``cmltrack.plots.results``): what the statistics results'
  ``.plot()`` methods draw
- :func:`plot_swimmer`, :func:`swimmer_rows`, :func:`plot_waterfall`, :func:`ph_change`
  (``cmltrack.plots.cohort``)
- :func:`save_figure`, :func:`figure_of`, :func:`figure_bytes` (``cmltrack.plots._mpl``)

Names are loaded on first use, so importing the package costs nothing.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "plot_bcr_abl1": "bcr_abl1",
    "pcr_sensitivity": "bcr_abl1",
    "plot_km": "survival",
    "plot_cif": "survival",
    "numbers_at_risk": "survival",
    "plot_km_result": "survival",
    "plot_cif_result": "results",
    "plot_cox_result": "results",
    "plot_logrank_result": "results",
    "plot_current_result": "results",
    "plot_swimmer": "cohort",
    "swimmer_rows": "cohort",
    "plot_waterfall": "cohort",
    "ph_change": "cohort",
    "SwimmerRow": "cohort",
    "WaterfallBar": "cohort",
    "save_figure": "_mpl",
    "figure_of": "_mpl",
    "figure_bytes": "_mpl",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(f"cmltrack.plots.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'cmltrack.plots' has no attribute {name!r}")
