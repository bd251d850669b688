"""Kaplan-Meier / cumulative incidence pictures and their numbers at risk."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cmltrack.errors import InputError
from cmltrack.plots.survival import cif_steps, km_steps, numbers_at_risk, plot_cif, plot_km

T = [2.0, 3.0, 3.0, 5.0, 8.0]
E = [1, 0, 1, 1, 0]


def test_km_steps_by_hand() -> None:
    # By hand: t=2 n=5 d=1 -> 0.8; t=3 n=4 d=1 -> 0.6; t=5 n=2 d=1 -> 0.3; t=8 censored.
    x, y = km_steps(np.array(T), np.array(E))
    assert x.tolist() == [0.0, 2.0, 3.0, 5.0]
    assert y == pytest.approx([1.0, 0.8, 0.6, 0.3])


def test_cif_steps_by_hand() -> None:
    # Cause 1 at 2 and 5, cause 2 at 3. By hand: F(2) = 1/5 = 0.2; S(3-) = 0.8, S(5-) = 0.6;
    # F(5) = 0.2 + 0.6 * 1/2 = 0.5.
    x, y = cif_steps(np.array(T), np.array([1, 0, 2, 1, 0]))
    assert x.tolist() == [0.0, 2.0, 5.0]
    assert y == pytest.approx([0.0, 0.2, 0.5])


def test_numbers_at_risk_by_hand() -> None:
    # Follow-up >= t: at 0 all five; at 3 the two 3s, 5 and 8; at 4: 5 and 8; at 8: one; 9: none.
    table = numbers_at_risk(T, ["a", "a", "b", "b", "a"], [0, 3, 4, 8, 9])
    assert table.loc["a"].tolist() == [3, 2, 1, 1, 0]
    assert table.loc["b"].tolist() == [2, 2, 1, 0, 0]


def test_plot_km_draws_curves_and_the_table() -> None:
    ax = plot_km(T, E, ["a", "a", "b", "b", "a"], times=[0, 3, 6])
    labels = [line.get_label() for line in ax.get_lines()]
    assert "a (n=3)" in labels and "b (n=2)" in labels
    texts = [t.get_text() for t in ax.texts]
    assert "Number at risk" in texts
    # Row "a": 3 at 0, 2 at 3, 1 at 6 (the 8); row "b": 2, 2, 0 -- drawn as text cells.
    assert texts.count("3") == 1 and texts.count("0") == 1 and texts.count("1") == 1
    assert texts.count("2") == 3
    # By hand: group a = 2 (event), 3 and 8 (censored): S = 1 - 1/3; group b = 3 and 5, both
    # events: S falls to 1/2, then 0.
    curves = {line.get_label(): line.get_ydata() for line in ax.get_lines()}
    assert min(curves["a (n=3)"]) == pytest.approx(2 / 3)
    assert min(curves["b (n=2)"]) == pytest.approx(0.0)


def test_plot_cif_rises_to_hand_value() -> None:
    ax = plot_cif(T, [1, 0, 2, 1, 0])
    ys = ax.get_lines()[0].get_ydata()
    assert max(ys) == pytest.approx(0.5)
    assert ax.get_ylabel() == "cumulative incidence"


def test_bad_input_is_refused() -> None:
    with pytest.raises(InputError, match="differ in length"):
        plot_km([1.0, 2.0], [1])
    with pytest.raises(InputError, match="non-negative"):
        plot_km([-1.0], [1])
    with pytest.raises(InputError, match="no subjects"):
        plot_km([], [])


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 40).map(float), st.integers(0, 1)), min_size=1, max_size=40
    )
)
def test_km_properties(data: list[tuple[float, int]]) -> None:
    t = np.array([d[0] for d in data])
    e = np.array([d[1] for d in data])
    _x, y = km_steps(t, e)
    assert np.all(np.diff(y) <= 1e-12) and np.all((y >= 0) & (y <= 1))
    table = numbers_at_risk(t, None, [0.0, 10.0, 20.0, 30.0])
    counts = table.iloc[0].tolist()
    assert counts[0] == len(t) and all(a >= b for a, b in itertools.pairwise(counts))


def test_all_times_zero_still_draw() -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ax = plot_km([0.0, 0.0], [0, 1])
    assert ax.get_xlim()[1] > ax.get_xlim()[0]
