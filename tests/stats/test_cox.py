"""Cox regression: partial likelihoods solved by hand, tie corrections, concordance."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cmltrack.errors import CmltrackError, InputError
from cmltrack.stats import cox_ph


def test_no_ties_closed_form() -> None:
    # Subjects (t, x, event): (1, 1, 1), (2, 0, 1), (3, 1, 0). With u = e^b,
    # L = u / ((2u + 1)(1 + u)); dlogL/db = 1 - 2u/(2u+1) - u/(1+u) = 0 gives 2u^2 = 1,
    # b = -ln(2)/2. Information 2u/(2u+1)^2 + u/(1+u)^2 at u = 1/sqrt(2).
    u = 1 / math.sqrt(2)
    info = 2 * u / (2 * u + 1) ** 2 + u / (1 + u) ** 2
    for ties in ("efron", "breslow"):  # no ties: the two agree
        r = cox_ph([1, 2, 3], [1, 1, 0], [1, 0, 1], ties=ties)  # type: ignore[arg-type]
        c = r.coefficients[0]
        assert c.coef == pytest.approx(-math.log(2) / 2, abs=1e-9)
        assert c.se == pytest.approx(1 / math.sqrt(info), abs=1e-9)
        assert c.hr == pytest.approx(u, abs=1e-9)
        assert c.lower == pytest.approx(math.exp(c.coef - 1.959963984540054 * c.se), rel=1e-12)
        # log L at the solution and at 0: log(u / ((2u+1)(1+u))) and log(1/6).
        assert r.loglik == pytest.approx(math.log(u / ((2 * u + 1) * (1 + u))), abs=1e-12)
        assert r.loglik_null == pytest.approx(math.log(1 / 6), abs=1e-12)


def test_tied_events_efron_and_breslow_by_hand() -> None:
    # (1, x=1, event), (1, x=0, event), (2, x=0, censored): two tied deaths at t = 1.
    # Breslow: L = u / (u + 2)^2 -> 1 - 2u/(u+2) = 0 -> u = 2, b = ln 2.
    # Efron: L = u / ((u + 2)(u/2 + 3/2)) -> 1 - u/(u+2) - u/(u+3) = 0 -> u^2 = 6, b = ln(6)/2.
    args = ([1, 1, 2], [1, 1, 0], [[1], [0], [0]])
    assert cox_ph(*args, ties="breslow").coefficients[0].coef == pytest.approx(math.log(2))
    assert cox_ph(*args, ties="efron").coefficients[0].coef == pytest.approx(math.log(6) / 2)


def test_concordance_by_hand() -> None:
    # Predictor x (b > 0 here): pairs (i event, j later): (1,2): x 3 > 2 concordant;
    # (1,3): 3 > 1 concordant; (1,4): 3 > 2.5 conc.; (2,3): 2 > 1 conc.; (2,4): 2 < 2.5 disc.;
    # (3,4) j later is censored at 4 > 3: 1 < 2.5 discordant. C = 4/6.
    r = cox_ph([1, 2, 3, 4], [1, 1, 1, 0], [3.0, 2.0, 1.0, 2.5])
    assert r.coefficients[0].coef > 0
    assert r.concordance == pytest.approx(4 / 6)


def test_concordance_ties_in_predictor_and_time() -> None:
    # Equal predictors count one half; two events at the same time are not comparable, but a
    # censoring at an event's time is (the censored subject outlived it).
    # Pairs: (A t1 ev x1, B t1 ev x0) tied in time -> skipped; (A, C t1 censored x1): tie in x
    # -> 1/2; (B, C): x 0 < 1 -> discordant for b > 0. (A, D t2 x0): 1 > 0 concordant;
    # (B, D): 0 = 0 tie -> 1/2.
    from cmltrack.stats.cox import _concordance

    c = _concordance(
        np.array([1.0, 1.0, 1.0, 2.0]),
        np.array([1, 1, 0, 0]),
        np.array([1.0, 0.0, 1.0, 0.0]),
    )
    assert c == pytest.approx((1 + 0.5 * 2) / 4)


def test_invariant_to_scaling_and_shifting_a_covariate() -> None:
    rng = np.random.default_rng(1)
    n = 80
    x = rng.normal(size=n)
    t = np.ceil(rng.exponential(10 * np.exp(-0.5 * x)))
    e = rng.integers(0, 2, n)
    a = cox_ph(t, e, x).coefficients[0]
    b = cox_ph(t, e, 3 * x + 7).coefficients[0]
    assert b.coef == pytest.approx(a.coef / 3, rel=1e-9)
    assert b.p == pytest.approx(a.p, rel=1e-9)


def test_summary_and_json() -> None:
    r = cox_ph(
        [1, 2, 3, 4], [1, 1, 1, 0], [[3.0, 1], [2.0, 0], [1.0, 1], [2.5, 0]], names=["a", "b"]
    )
    assert list(r.summary.index) == ["a", "b"]
    d = r.to_dict()
    assert d["ties"] == "efron" and [c["name"] for c in d["coefficients"]] == ["a", "b"]
    assert "CoxResult" in repr(r)


def test_bad_input() -> None:
    with pytest.raises(InputError) as exc:
        cox_ph([1, 2], [0, 0], [1, 2])
    assert exc.value.code == "empty"
    with pytest.raises(InputError):
        cox_ph([1, 2], [1, 0], [1, 2, 3])
    with pytest.raises(InputError):
        cox_ph([1, 2], [1, 0], [1, 2], ties="exact")  # type: ignore[arg-type]
    with pytest.raises(CmltrackError):
        cox_ph([1, 2, 3, 4], [1, 1, 0, 1], [[1, 2], [2, 4], [3, 6], [4, 8]])  # collinear


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000))
def test_score_is_zero_at_the_fit(seed: int) -> None:
    # At the maximum the gradient vanishes: moving any coefficient lowers the log-likelihood.
    from cmltrack.stats.cox import _loglik_derivs, _prepare

    rng = np.random.default_rng(seed)
    n = 40
    x = rng.normal(size=(n, 2))
    t = np.ceil(rng.exponential(5, n))
    e = (rng.random(n) < 0.7).astype(np.int64)
    if e.sum() < 3:
        return
    for ties in ("efron", "breslow"):
        r = cox_ph(t, e, x, ties=ties)  # type: ignore[arg-type]
        beta = np.array([c.coef for c in r.coefficients])
        if not np.all(np.abs(beta) < 20):  # separation: no finite maximum
            continue
        rk = _prepare(t, e, x - x.mean(axis=0))
        _, grad, _ = _loglik_derivs(beta, rk, ties == "efron")
        assert np.abs(grad).max() < 1e-6


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 8), st.integers(0, 1), st.integers(0, 4)), min_size=2, max_size=40
    )
)
def test_concordance_equals_pair_by_pair_count(rows: list[tuple[int, int, int]]) -> None:
    # The vectorised count against the definition, pair by pair.
    from cmltrack.stats.cox import _concordance

    t = np.array([r[0] for r in rows], dtype=float)
    e = np.array([r[1] for r in rows])
    lp = np.array([r[2] for r in rows], dtype=float)
    conc = disc = tie = 0
    for i in range(len(rows)):
        for j in range(len(rows)):
            if e[i] == 1 and (t[j] > t[i] or (t[j] == t[i] and e[j] == 0)):
                conc += lp[i] > lp[j]
                disc += lp[i] < lp[j]
                tie += lp[i] == lp[j]
    got = _concordance(t, e, lp)
    if conc + disc + tie == 0:
        assert math.isnan(got)
    else:
        assert got == pytest.approx((conc + tie / 2) / (conc + disc + tie), abs=1e-12)
