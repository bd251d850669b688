"""Response rates with exact, Wilson and Wald intervals."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import binom

from cmltrack.errors import InputError
from cmltrack.stats import rate_ci


def test_contract_example_exact() -> None:
    # The contract's example (seed 003, ORR 14 of 38).
    r = rate_ci(14, 38)
    assert r.to_dict() == {
        "k": 14,
        "n": 38,
        "estimate": pytest.approx(0.368421, abs=1e-6),
        "ci": [pytest.approx(0.2181, abs=1e-4), pytest.approx(0.5401, abs=1e-4)],
        "method": "exact",
        "level": 0.95,
    }


@pytest.mark.parametrize(("k", "n"), [(14, 38), (13, 34), (13, 20), (1, 10), (9, 10)])
def test_exact_limits_solve_the_binomial_tails(k: int, n: int) -> None:
    # Clopper-Pearson by definition: P(X >= k | lower) = P(X <= k | upper) = alpha / 2.
    r = rate_ci(k, n, "exact")
    assert binom.sf(k - 1, n, r.lower) == pytest.approx(0.025, abs=1e-9)
    assert binom.cdf(k, n, r.upper) == pytest.approx(0.025, abs=1e-9)


def test_exact_at_the_edges() -> None:
    # k = 0: lower 0, upper 1 - 0.025^(1/n); k = n: the mirror image (by hand).
    assert rate_ci(0, 10).lower == 0.0
    assert rate_ci(0, 10).upper == pytest.approx(1 - 0.025 ** (1 / 10), abs=1e-12)
    assert rate_ci(10, 10).upper == 1.0
    assert rate_ci(10, 10).lower == pytest.approx(0.025 ** (1 / 10), abs=1e-12)


def test_wilson_by_hand() -> None:
    # Wilson score interval for 13/34 written out: centre (k + z^2/2) / (n + z^2),
    # half-width z / (n + z^2) * sqrt(k (n - k) / n + z^2 / 4).
    k, n, z = 13, 34, 1.959963984540054
    centre = (k + z * z / 2) / (n + z * z)
    half = z / (n + z * z) * math.sqrt(k * (n - k) / n + z * z / 4)
    r = rate_ci(k, n, "wilson")
    assert (r.lower, r.upper) == (pytest.approx(centre - half), pytest.approx(centre + half))


def test_wald_by_hand_and_clipped() -> None:
    # 1/10: 0.1 -+ 1.96 * sqrt(0.1 * 0.9 / 10) = 0.1 -+ 0.18594: the lower limit is clipped to 0.
    r = rate_ci(1, 10, "wald")
    assert r.lower == 0.0
    assert r.upper == pytest.approx(0.1 + 1.959963984540054 * math.sqrt(0.009), abs=1e-12)
    assert (rate_ci(0, 10, "wald").lower, rate_ci(0, 10, "wald").upper) == (0.0, 0.0)
    assert rate_ci(10, 10, "wald").upper == 1.0


def test_level_changes_width() -> None:
    assert rate_ci(5, 20, level=0.99).lower < rate_ci(5, 20, level=0.95).lower


@pytest.mark.parametrize(
    ("k", "n", "kw", "code"),
    [
        (5, 4, {}, "inconsistent"),
        (-1, 4, {}, "inconsistent"),
        (0, 0, {}, "impossible_value"),
        (1, 4, {"method": "agresti"}, "unknown_value"),
        (1, 4, {"level": 1.5}, "bad_argument"),
        (1, 4, {"level": 0.0}, "bad_argument"),
    ],
)
def test_bad_input(k: int, n: int, kw: dict[str, object], code: str) -> None:
    with pytest.raises(InputError) as exc:
        rate_ci(k, n, **kw)  # type: ignore[arg-type]
    assert exc.value.code == code


@given(st.integers(1, 300).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_interval_contains_estimate_and_lies_in_unit_interval(kn: tuple[int, int]) -> None:
    k, n = kn
    for method in ("exact", "wilson", "wald"):
        r = rate_ci(k, n, method)  # type: ignore[arg-type]
        assert 0.0 <= r.lower <= r.estimate + 1e-12
        assert r.estimate - 1e-12 <= r.upper <= 1.0


@given(st.integers(2, 200).flatmap(lambda n: st.tuples(st.integers(0, n - 1), st.just(n))))
def test_more_responders_never_lower_the_limits(kn: tuple[int, int]) -> None:
    k, n = kn
    a, b = rate_ci(k, n), rate_ci(k + 1, n)
    assert b.lower > a.lower and b.upper > a.upper


def test_repr_and_summary() -> None:
    r = rate_ci(13, 34)
    assert "13/34" in repr(r) and "exact" in repr(r)
    assert list(r.summary.columns) == ["k", "n", "estimate", "lower", "upper"]
