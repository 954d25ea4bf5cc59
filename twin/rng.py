"""The seed tree: every random number of a chip comes from one seed.

``SeedSequence(seed, spawn_key=(tile, purpose_id))`` gives each tile and purpose its own
independent :class:`numpy.random.Generator`. The same spec, seed and command stream therefore give
bit-identical results, whatever the order in which tiles happen to be built.
"""

from __future__ import annotations

import numpy as np

PURPOSE_ID: dict[str, int] = {
    "variation": 0,
    "stuck": 1,
    "c2c": 2,
    "read_noise": 3,
    "rtn": 4,
    "adc_noise": 5,
    "relaxation": 6,
    "forming": 7,
}
"""Fixed forever: renumbering changes every chip. Append new purposes at the end."""


class ChipRng:
    """All of a chip's generators, derived from its one seed."""

    def __init__(self, seed: int) -> None:
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer, not {seed!r}")
        self.seed = int(seed)
        """The chip seed."""

    def generator(self, tile: int, purpose: str) -> np.random.Generator:
        """A fresh generator for *purpose* on *tile* (same arguments, same stream)."""
        if purpose not in PURPOSE_ID:
            raise ValueError(f"unknown random purpose {purpose!r}; known: {', '.join(PURPOSE_ID)}")
        return np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(tile, PURPOSE_ID[purpose])))


class TileRng:
    """The generators of one tile, created once and kept (streams advance as the tile works)."""

    def __init__(self, chip_rng: ChipRng, tile: int) -> None:
        self._chip_rng = chip_rng
        self._tile = tile
        self._generators: dict[str, np.random.Generator] = {}

    def __getitem__(self, purpose: str) -> np.random.Generator:
        gen = self._generators.get(purpose)
        if gen is None:
            gen = self._generators[purpose] = self._chip_rng.generator(self._tile, purpose)
        return gen
