"""Cohort statistics on tables, checked against R (survival 3.5, cmprsk 2.2).

Each function returns a small frozen result object with a readable ``repr``, a ``summary``
DataFrame, ``to_frame()`` (a pandas table of the estimates), ``plot()`` (a matplotlib Axes, in
the manner of lifelines) and a JSON-safe ``to_dict()`` (the ``cmltrack stats`` contract); the
survival results also carry lifelines' attributes (``survival_function_``,
``median_survival_time_``, ``cumulative_density_``, ``hazard_ratios_``, ``params_``,
``test_statistic``, ``p_value``).

- :func:`rate_ci`: a response rate with an exact, Wilson or Wald interval
- :func:`kaplan_meier`, :func:`logrank_test`: survival curves, medians, log-rank (survfit,
  survdiff)
- :func:`cox_ph`: Cox regression, Efron or Breslow ties (coxph)
- :func:`cumulative_incidence`, :func:`gray_test`: competing risks (cmprsk cuminc)
- :func:`simon_two_stage`: Simon's optimal and minimax designs
- :func:`current_cumulative_incidence`: CCI and CLFS of Pavlik et al. 2011 (currentSurvival)
"""

from cmltrack.stats.competing import CumIncResult, GrayTest, cumulative_incidence, gray_test
from cmltrack.stats.cox import CoxResult, cox_ph
from cmltrack.stats.current import CurrentResult, current_cumulative_incidence
from cmltrack.stats.rates import RateResult, rate_ci
from cmltrack.stats.simon import SimonDesign, SimonResult, simon_two_stage
from cmltrack.stats.survival import KMCurve, KMResult, LogRankResult, kaplan_meier, logrank_test

__all__ = [
    "CoxResult",
    "CumIncResult",
    "CurrentResult",
    "GrayTest",
    "KMCurve",
    "KMResult",
    "LogRankResult",
    "RateResult",
    "SimonDesign",
    "SimonResult",
    "cox_ph",
    "cumulative_incidence",
    "current_cumulative_incidence",
    "gray_test",
    "kaplan_meier",
    "logrank_test",
    "rate_ci",
    "simon_two_stage",
]
