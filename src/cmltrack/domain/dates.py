"""Calendar arithmetic shared by the domain: anniversaries, calendar months, age.

Durations in years are calendar anniversaries (a "> 5 years" or an "age >= 50" is decided by
the date, not by days / 365.25, which puts a 50th birthday at 49.9986 years).
"""

from __future__ import annotations

import calendar
import datetime as dt


def add_months(day: dt.date, months: int) -> dt.date:
    """Same day ``months`` calendar months later, clamped to the month's last day."""
    y, m = divmod(day.month - 1 + months, 12)
    year, month = day.year + y, m + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def add_years(day: dt.date, years: int) -> dt.date:
    """The anniversary ``years`` later; 29 February moves to 1 March in a common year."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return dt.date(day.year + years, 3, 1)


def age_in_years(birth: dt.date, day: dt.date) -> float:
    """Age on ``day``: completed years by the calendar (exactly 50.0 on the 50th birthday),
    plus the fraction of the year since the last birthday (days over that year's days)."""
    years = day.year - birth.year
    if add_years(birth, years) > day:
        years -= 1
    last, following = add_years(birth, years), add_years(birth, years + 1)
    return years + (day - last).days / (following - last).days
