"""Random draws for a batch of patients that do not depend on how the cohort is batched.

The cohort is cut into fixed blocks of :data:`BLOCK` patients; block ``b`` draws from its own
``numpy.random.Generator`` seeded by ``SeedSequence(seed, spawn_key=(b,))``. A batch is a run of
whole blocks, and every draw for a subset of the batch is split at the block boundaries, so each
block consumes its stream in the same order whatever else is in the batch. Hence the same seed
gives the same patients for any ``--batch-size`` and any number of worker processes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import NDArray

BLOCK = 2000

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


class BlockRng:
    """Vectorised draws over a batch made of whole blocks (see the module docstring)."""

    def __init__(self, seed: int, first_block: int, sizes: Sequence[int],
                 stream: int = 0) -> None:
        # ``stream`` > 0: an independent stream for the same blocks (draws added to the model
        # there leave the main stream, and so every other draw, unchanged).
        self.gens = [
            np.random.Generator(np.random.PCG64(np.random.SeedSequence(
                seed, spawn_key=(b,) if stream == 0 else (b, stream))))
            for b in range(first_block, first_block + len(sizes))
        ]
        self.sizes = list(sizes)
        self.n = int(sum(sizes))
        self.starts = np.cumsum([0, *self.sizes])

    def _split(self, idx: IntArray | None) -> list[tuple[int, int]]:
        """(lo, hi) ranges of ``idx`` (sorted patient indices) that fall in each block."""
        if idx is None:
            return [(int(self.starts[b]), int(self.starts[b + 1])) for b in range(len(self.gens))]
        cuts = np.searchsorted(idx, self.starts)
        return [(int(cuts[b]), int(cuts[b + 1])) for b in range(len(self.gens))]

    def _draw(
        self,
        idx: IntArray | None,
        fn: Callable[[np.random.Generator, int, slice], NDArray[np.generic]],
        dtype: type = np.float64,
    ) -> NDArray[np.generic]:
        n = self.n if idx is None else len(idx)
        out: NDArray[np.generic] = np.empty(n, dtype=dtype)
        for gen, (lo, hi) in zip(self.gens, self._split(idx), strict=True):
            if hi > lo:
                out[lo:hi] = fn(gen, hi - lo, slice(lo, hi))
        return out

    def random(self, idx: IntArray | None = None) -> FloatArray:
        """Uniform [0, 1) for every patient (idx None) or for the sorted indices ``idx``."""
        return self._draw(idx, lambda g, k, s: g.random(k))  # type: ignore[return-value]

    def normal(self, idx: IntArray | None = None) -> FloatArray:
        return self._draw(idx, lambda g, k, s: g.standard_normal(k))  # type: ignore[return-value]

    def poisson(self, lam: FloatArray, idx: IntArray | None = None) -> IntArray:
        return self._draw(  # type: ignore[return-value]
            idx, lambda g, k, s: g.poisson(lam[s]), dtype=np.int64
        )

    def binomial(self, n: IntArray, p: FloatArray, idx: IntArray | None = None) -> IntArray:
        return self._draw(  # type: ignore[return-value]
            idx, lambda g, k, s: g.binomial(n[s], p[s]), dtype=np.int64
        )

    def choice(self, probs: Sequence[float], idx: IntArray | None = None) -> IntArray:
        """Category index drawn from ``probs`` (by inversion of one uniform)."""
        u = self.random(idx)
        return np.searchsorted(np.cumsum(probs)[:-1], u, side="right").astype(np.int64)
