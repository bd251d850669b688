"""Random streams split by fixed blocks: a patient's draws do not depend on the batch."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from cmltrack.synth.rng import BlockRng


def test_batch_of_two_blocks_equals_two_batches() -> None:
    both = BlockRng(11, 0, [5, 4])
    first, second = BlockRng(11, 0, [5]), BlockRng(11, 1, [4])
    assert np.array_equal(both.normal(), np.concatenate([first.normal(), second.normal()]))
    lam = np.arange(9, dtype=float)
    assert np.array_equal(
        both.poisson(lam), np.concatenate([first.poisson(lam[:5]), second.poisson(lam[5:])])
    )


@settings(max_examples=40, deadline=None)
@given(st.lists(st.booleans(), min_size=12, max_size=12), st.integers(0, 2**32 - 1))
def test_subset_draws_are_split_at_block_boundaries(mask: list[bool], seed: int) -> None:
    idx = np.nonzero(mask)[0]
    both = BlockRng(seed, 3, [7, 5])
    got = both.random(idx)
    a, b = BlockRng(seed, 3, [7]), BlockRng(seed, 4, [5])
    expected = np.concatenate([a.random(idx[idx < 7]), b.random(idx[idx >= 7] - 7)])
    assert np.array_equal(got, expected)


def test_choice_follows_its_probabilities() -> None:
    rng = BlockRng(5, 0, [2000, 2000])
    k = rng.choice((0.2, 0.5, 0.3))
    share = np.bincount(k, minlength=3) / len(k)
    assert np.allclose(share, (0.2, 0.5, 0.3), atol=0.03)
    assert set(np.unique(k)) == {0, 1, 2}
