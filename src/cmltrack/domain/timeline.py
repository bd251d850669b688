"""The time origin of a CML course (clinical-rules section 14), in one place.

Months on therapy count from the start of the first tyrosine kinase inhibitor; one month is
30.4375 days (365.25 / 12).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from cmltrack.domain.enums import TKIS
from cmltrack.domain.records import PatientRecord

DAYS_PER_MONTH = 30.4375


def first_tki_start(record: PatientRecord) -> dt.date | None:
    """Start date of the first TKI in the record: the origin of ``months`` (None without one)."""
    starts = [t.start for t in record.therapy if t.drug in TKIS]
    return min(starts) if starts else None


def months_between(start: dt.date, day: dt.date) -> float:
    """Months from ``start`` to ``day`` (days / 30.4375), unrounded."""
    return (day - start).days / DAYS_PER_MONTH


def months_since(start: dt.date | None, day: dt.date) -> float | None:
    """Months from ``start`` to ``day`` to two decimals (the contract's ``months``), None
    without a start."""
    return months_since_each(start, (day,))[0]


def months_since_each(start: dt.date | None, days: Sequence[dt.date]) -> list[float | None]:
    """:func:`months_since` of each day (a history has a hundred days)."""
    if start is None:
        return [None] * len(days)
    # Each whole number of days is divided and rounded once per process (round to two
    # decimals costs ten dictionary look-ups; the day counts of every history are the same
    # few thousand).
    memo = _MONTHS_OF_DAYS
    out: list[float | None] = []
    for day in days:
        n = (day - start).days
        months = memo.get(n)
        if months is None:
            months = round(n / DAYS_PER_MONTH, 2)
            if -_MEMO_DAYS <= n <= _MEMO_DAYS:  # bounded: the memo never grows past ~1 MB
                memo[n] = months
        out.append(months)
    return out


#: Months (two decimals) of a number of days, as computed so far, for up to 20 years.
_MONTHS_OF_DAYS: dict[int, float] = {}
_MEMO_DAYS = 7305
