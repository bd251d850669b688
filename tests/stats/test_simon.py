"""Simon's two-stage designs against the published table (Simon R, Control Clin Trials
1989;10:1-10, Table 1 for alpha = 0.05)."""

from __future__ import annotations

import pytest
from scipy.stats import binom

from cmltrack.errors import InputError
from cmltrack.stats import simon_two_stage

# (p0, p1, power): optimal (r1/n1, r/n, EN0, PET0), minimax (r1/n1, r/n, EN0, PET0) as printed.
PUBLISHED = [
    (0.05, 0.25, 0.8, (0, 9, 2, 17, 12.0, 0.63), (0, 12, 2, 16, 13.8, 0.54)),
    (0.05, 0.25, 0.9, (0, 9, 3, 30, 16.8, 0.63), (0, 15, 3, 25, 20.4, 0.46)),
    (0.10, 0.30, 0.8, (1, 10, 5, 29, 15.0, 0.74), (1, 15, 5, 25, 19.5, 0.55)),
    (0.10, 0.30, 0.9, (2, 18, 6, 35, 22.5, 0.73), (2, 22, 6, 33, 26.2, 0.62)),
    (0.20, 0.40, 0.8, (3, 13, 12, 43, 20.6, 0.75), (4, 18, 10, 33, 22.3, 0.72)),
    (0.20, 0.40, 0.9, (4, 19, 15, 54, 30.4, 0.67), (5, 24, 13, 45, 31.2, 0.66)),
    (0.30, 0.50, 0.8, (5, 15, 18, 46, 23.6, 0.72), (6, 19, 16, 39, 25.7, 0.67)),
]


@pytest.mark.parametrize(("p0", "p1", "power", "optimal", "minimax"), PUBLISHED)
def test_published_designs(
    p0: float,
    p1: float,
    power: float,
    optimal: tuple[int, int, int, int, float, float],
    minimax: tuple[int, int, int, int, float, float],
) -> None:
    r = simon_two_stage(p0, p1, 0.05, power)
    for design, (r1, n1, rr, n, en0, pet0) in ((r.optimal, optimal), (r.minimax, minimax)):
        assert (design.r1, design.n1, design.r, design.n) == (r1, n1, rr, n)
        assert round(design.en0, 1) == en0
        assert round(design.pet0, 2) == pet0
        assert design.alpha <= 0.05 and design.power >= power


def test_contract_example_values() -> None:
    # The contract prints EN0 15.01 / 19.51 and PET0 0.736 / 0.549 for p0 = 0.1, p1 = 0.3.
    r = simon_two_stage(0.1, 0.3).to_dict()
    assert r["optimal"]["en0"] == pytest.approx(15.01, abs=0.005)
    assert r["optimal"]["pet0"] == pytest.approx(0.736, abs=0.0005)
    assert r["minimax"]["en0"] == pytest.approx(19.51, abs=0.005)
    assert r["minimax"]["pet0"] == pytest.approx(0.549, abs=0.0005)


def test_operating_characteristics_by_hand() -> None:
    # 1/10, 5/29 at p0 = 0.1: PET0 = P(X1 <= 1 | 10, 0.1) = 0.9^10 + 10 * 0.1 * 0.9^9 = 0.7361;
    # EN0 = 10 + (1 - PET0) * 19; alpha = sum_{x1=2..10} b(x1) P(X2 > 5 - x1 | 19, 0.1).
    d = simon_two_stage(0.1, 0.3).optimal
    pet0 = 0.9**10 + 10 * 0.1 * 0.9**9
    assert d.pet0 == pytest.approx(pet0, abs=1e-12)
    assert d.en0 == pytest.approx(10 + (1 - pet0) * 19, abs=1e-12)
    alpha = sum(binom.pmf(x, 10, 0.1) * binom.sf(5 - x, 19, 0.1) for x in range(2, 11))
    assert d.alpha == pytest.approx(alpha, abs=1e-12)


@pytest.mark.parametrize(
    "args",
    [(0.3, 0.1, 0.05, 0.8), (0.0, 0.3, 0.05, 0.8), (0.1, 0.3, 1.5, 0.8), (0.1, 0.3, 0.05, 1.0)],
)
def test_bad_arguments(args: tuple[float, float, float, float]) -> None:
    with pytest.raises(InputError):
        simon_two_stage(*args)


def test_no_design_within_nmax() -> None:
    with pytest.raises(InputError) as exc:
        simon_two_stage(0.1, 0.15, nmax=20)
    assert exc.value.field == "nmax"
