"""Current cumulative incidence and current leukaemia-free survival (Pavlik et al. 2011).

CRAN (and so the R package currentSurvival) is out of reach here, so the estimates are checked
against values worked out by hand, against the contract's example on the INFINITY data and
against the defining property: without censoring, CCI and CLFS are the plain proportions of
patients alive and in remission.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cmltrack.errors import InputError
from cmltrack.stats import current_cumulative_incidence

NA = math.nan

# remission_1, loss_1, remission_2, loss_2, remission_3, follow_up, death
TINY = [
    (10, 20, 30, NA, NA, 50, 0),  # in CCyR, lost it at 20, regained at 30, alive
    (15, NA, NA, NA, NA, 40, 1),  # died in the first CCyR at 40
    (NA, NA, NA, NA, NA, 25, 1),  # died without a remission at 25
    (5, NA, NA, NA, NA, 60, 0),  # in CCyR since day 5, alive
]


def _run(rows: list[tuple[float, ...]], at: list[float], clfs_at: list[float] | None = None):  # type: ignore[no-untyped-def]
    a = np.array(rows, dtype=float)
    return current_cumulative_incidence(
        [a[:, 0], a[:, 2], a[:, 4]], [a[:, 1], a[:, 3]], a[:, 5], a[:, 6], at, clfs_at
    )


def test_tiny_cohort_by_hand() -> None:
    # Nobody is censored before day 50, so CCI is the share alive and in remission:
    # day 10: P1, P4 = 2/4; day 20: P2, P4 (P1 lost it) = 2/4; day 30: P1, P2, P4 = 3/4;
    # day 45: P1, P4 (P2 died at 40) = 2/4. comCI (first CCyR ever): 2/4 at 10, 3/4 at 20.
    r = _run(TINY, [0, 10, 20, 30, 45], clfs_at=[0, 10, 20, 30, 40])
    np.testing.assert_allclose(r.cci, [0, 0.5, 0.5, 0.75, 0.5], atol=1e-12)
    np.testing.assert_allclose(r.comci, [0, 0.5, 0.75, 0.75, 0.75], atol=1e-12)
    # From the first CCyR (P1 at 10, P2 at 15, P4 at 5): loss of the first one (or death)
    # S*_1: P1 at +10, P2 at +25 (death), P4 censored +55 -> 1, 2/3, 2/3, 1/3 at 0, 10, 20, 30.
    # S*_2 (death at +25) = 1, 1, 1, 2/3, 2/3; S_2 (P1 regains at +20, P2 dies +25):
    # 1, 1, 2/3, 1/3, 1/3. CLFS = S*_1 + S*_2 - S_2 (S*_3 = S_3 here):
    # 1, 2/3, 1, 2/3, 2/3 -- the share in remission, as none is censored before +40.
    np.testing.assert_allclose(r.lfs, [1, 2 / 3, 2 / 3, 1 / 3, 1 / 3], atol=1e-12)
    np.testing.assert_allclose(r.clfs, [1, 2 / 3, 1, 2 / 3, 2 / 3], atol=1e-12)
    assert (r.n, r.remissions) == (4, 3)


def test_past_the_last_follow_up_is_null() -> None:
    r = _run(TINY, [60, 61], clfs_at=[55, 56])
    assert not math.isnan(r.cci[0]) and math.isnan(r.cci[1])
    assert not math.isnan(r.clfs[0]) and math.isnan(r.clfs[1])
    d = r.to_dict()
    assert d["cci"][1] == {"time": 61.0, "cci": None, "comci": None}


def test_infinity_cohort_matches_the_contract(shared_dir: Path) -> None:
    # The contract's example: the package's own data set at day 365.
    d = pd.read_csv(shared_dir / "data" / "infinity-cml" / "cml.csv")
    r = current_cumulative_incidence(
        [d.remission_1, d.remission_2, d.remission_3],
        [d.loss_1, d.loss_2],
        d.follow_up,
        d.death,
        at=[365, 730, 1825],
    )
    assert (r.n, r.remissions) == (104, 88)
    assert (round(r.cci[0], 3), round(r.comci[0], 3)) == (0.758, 0.803)
    assert (round(r.clfs[0], 3), round(r.lfs[0], 3)) == (0.860, 0.781)
    # Patients lose and regain remission: the current measures lie below the first-event ones
    # for CCI, above them for CLFS.
    assert (r.cci <= r.comci + 1e-12).all() and (r.clfs >= r.lfs - 1e-12).all()


def test_histories_must_run_forwards() -> None:
    bad = [(10, 5, NA, NA, NA, 50, 0)]
    with pytest.raises(InputError) as exc:
        _run(bad, [10])
    assert (exc.value.code, exc.value.row, exc.value.field) == ("inconsistent", 1, "loss_1")
    with pytest.raises(InputError) as exc:
        _run([(NA, 5, NA, NA, NA, 50, 0)], [10])
    assert exc.value.field == "loss_1"
    with pytest.raises(InputError) as exc:
        _run([(10, NA, NA, NA, NA, 5, 0)], [10])
    assert exc.value.field == "remission_1"


@st.composite
def cohorts(draw: st.DrawFn) -> list[tuple[float, ...]]:
    """Histories with no censoring before day 1000: alive patients are followed to 1000+."""
    n = draw(st.integers(1, 12))
    out = []
    for _ in range(n):
        day = 0
        times: list[float] = []
        for _ in range(draw(st.integers(0, 5))):  # R1, L1, R2, L2, R3 in order
            day += draw(st.integers(1, 150))
            times.append(day)
        times += [NA] * (5 - len(times))
        dead = draw(st.booleans())
        fu = day + draw(st.integers(1, 150)) if dead else 1000 + draw(st.integers(0, 50))
        out.append((*times, fu, int(dead)))
    return out


def _in_remission(row: tuple[float, ...], t: float) -> bool:
    r1, l1, r2, l2, r3, fu, dead = row
    if dead and fu <= t:
        return False
    spells = [(r1, l1), (r2, l2), (r3, NA)]
    return any(not math.isnan(r) and r <= t and (math.isnan(lo) or lo > t) for r, lo in spells)


@settings(max_examples=80, deadline=None)
@given(cohorts(), st.lists(st.integers(0, 1000), min_size=1, max_size=6))
def test_without_censoring_the_measures_are_proportions(
    rows: list[tuple[float, ...]], days: list[int]
) -> None:
    # Alive patients are followed beyond day 1000 and reach a first CCyR by day 150, so nobody
    # is censored before day 1000 (from therapy start) or 850 (from the first CCyR).
    last = max(x[5] for x in rows)
    days = [min(t, last) for t in days]
    reached = [x for x in rows if not math.isnan(x[0])]
    last_shifted = max((x[5] - x[0] for x in reached), default=0.0)
    shifted = [min(s, 850, last_shifted) for s in days]
    r = _run(rows, days, shifted)
    share = [sum(_in_remission(x, t) for x in rows) / len(rows) for t in days]
    np.testing.assert_allclose(r.cci, share, atol=1e-12)
    if reached:
        clfs = [sum(_in_remission(x, x[0] + s) for x in reached) / len(reached) for s in shifted]
        np.testing.assert_allclose(r.clfs, clfs, atol=1e-12)
    else:
        assert np.isnan(r.clfs).all()
