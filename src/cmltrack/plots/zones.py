"""The BCR::ABL1 cells of each guideline's milestone table, as shaded zones for the chart.

A zone covers a landmark's window (clinical-rules section 14: 3 mo 2.0-4.5, 6 mo 4.5-8.0, 12 mo
10.0-15.0, 18 mo 15.0-21.0 months), so the chart shades exactly the months in which a result is
judged against that landmark. ELN 2013/2020 judge BCR::ABL1 at any time after 12 months as at 12
months; that zone runs from the end of the 12-month window to the end of the chart. Only the
molecular cells are drawn: a chart of BCR::ABL1 cannot show the cytogenetic or haematological
cells, and the judgement itself is the assessment's, not the picture's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from cmltrack.domain.enums import Guideline, MilestoneStatus

INF = math.inf


@dataclass(frozen=True, slots=True)
class Band:
    """BCR::ABL1 % IS above ``low`` up to and including ``high`` has ``status``.

    ``text`` is the source's cell; ``low_closed``/``high_closed`` change the ends where the
    source's sign does (ELN 2013 at 6 months: optimal "< 1%", warning "1-10%").
    """

    low: float
    high: float
    status: MilestoneStatus
    text: str
    low_closed: bool = False
    high_closed: bool = True

    def contains(self, value: float) -> bool:
        above = value > self.low or (value == self.low and (self.low_closed or self.low == 0))
        below = value < self.high or (value == self.high and self.high_closed)
        return above and below


@dataclass(frozen=True, slots=True)
class Zone:
    """The bands of one landmark, drawn over months ``start`` to ``end`` (None: chart end)."""

    label: str
    start: float
    end: float | None
    bands: tuple[Band, ...]


OPT, WARN, SUB, FAIL = (
    MilestoneStatus.OPTIMAL,
    MilestoneStatus.WARNING,
    MilestoneStatus.SUBOPTIMAL,
    MilestoneStatus.FAILURE,
)

_AFTER_12 = (
    Band(0, 0.1, OPT, "<= 0.1%"), Band(0.1, 1, WARN, "> 0.1-1%"), Band(1, INF, FAIL, "> 1%")
)

#: ELN 2020 (Hochhaus et al., Leukemia 2020;34:966-84, Table; clinical-rules 5d). At 3 months a
#: single value > 10% is a warning and a confirmed one failure: drawn as warning.
ELN2020 = (
    Zone("3 mo", 2.0, 4.5, (Band(0, 10, OPT, "<= 10%"), Band(10, INF, WARN, "> 10%"))),
    Zone("6 mo", 4.5, 8.0, (Band(0, 1, OPT, "<= 1%"), Band(1, 10, WARN, "> 1-10%"),
                            Band(10, INF, FAIL, "> 10%"))),
    Zone("12 mo", 10.0, 15.0, _AFTER_12),
    Zone("any time", 15.0, None, _AFTER_12),
)

#: ELN 2013 (Baccarani et al., Blood 2013;122:872-84, Table; clinical-rules 5c). The 3-month
#: failure cell is cytogenetic/haematological only; 6-month optimal is "< 1%".
ELN2013 = (
    Zone("3 mo", 2.0, 4.5, (Band(0, 10, OPT, "<= 10%"), Band(10, INF, WARN, "> 10%"))),
    Zone("6 mo", 4.5, 8.0, (Band(0, 1, OPT, "< 1%", high_closed=False),
                            Band(1, 10, WARN, "1-10%", low_closed=True),
                            Band(10, INF, FAIL, "> 10%"))),
    Zone("12 mo", 10.0, 15.0, _AFTER_12),
    Zone("any time", 15.0, None, _AFTER_12),
)

#: ELN 2009 (Baccarani et al., J Clin Oncol 2009;27:6041-51; clinical-rules 5b): 12 months
#: "less than MMR" is a warning; 18 months MMR is optimal, less than MMR suboptimal.
ELN2009 = (
    Zone("12 mo", 10.0, 15.0, (Band(0.1, INF, WARN, "less than MMR (> 0.1%)"),)),
    Zone("18 mo", 15.0, 21.0, (Band(0, 0.1, OPT, "MMR (<= 0.1%)"),
                               Band(0.1, INF, SUB, "less than MMR (> 0.1%)"))),
)

#: ELN 2006 (Baccarani et al., Blood 2006;108:1809-20; clinical-rules 5a): 12 months "less than
#: MMR" is a warning, 18 months "less than MMR" suboptimal; the table names no optimal cell.
ELN2006 = (
    Zone("12 mo", 10.0, 15.0, (Band(0.1, INF, WARN, "less than MMR (> 0.1%)"),)),
    Zone("18 mo", 15.0, 21.0, (Band(0.1, INF, SUB, "less than MMR (> 0.1%)"),)),
)

ZONES: dict[Guideline, tuple[Zone, ...]] = {
    Guideline.ELN2020: ELN2020,
    Guideline.ELN2013: ELN2013,
    Guideline.ELN2009: ELN2009,
    Guideline.ELN2006: ELN2006,
}


def zones_for(guideline: str) -> tuple[Zone, ...]:
    """The zones of a guideline edition ("ELN2020", ...); unknown editions have none."""
    try:
        return ZONES[Guideline(guideline)]
    except ValueError:
        return ()


def zone_status(zone: Zone, bcr_abl1_is: float) -> MilestoneStatus | None:
    """The status a value falls in within ``zone`` (None: no molecular cell covers it)."""
    for band in zone.bands:
        if band.contains(bcr_abl1_is):
            return band.status
    return None
