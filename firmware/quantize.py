"""Quantizers: map arbitrary targets onto the N conductance levels a device can hold.

A :class:`Levels` is a sorted table of level conductances (µS). ``uniform_levels(g_lo_us, g_hi_us, n)``
spaces N levels evenly in conductance; ``Levels(table_us)`` takes any custom table (for example
levels denser where the relaxation spread is small). ``levels.quantize(values, lo, hi)`` maps
arbitrary numbers (weights) linearly onto the level range and rounds each to the nearest level;
``levels.nearest(g_us)`` classifies measured conductances.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Levels:
    """A sorted table of distinct conductance levels, µS."""

    table_us: np.ndarray
    """Level conductances, strictly increasing, µS."""

    def __post_init__(self) -> None:
        table = np.array(self.table_us, dtype=np.float64).ravel()
        if table.size < 2:
            raise ValueError(f"a level table needs at least 2 levels, not {table.size}")
        if not np.all(np.isfinite(table)):
            raise ValueError("level conductances must be finite numbers")
        if np.any(np.diff(table) <= 0):
            k = int(np.flatnonzero(np.diff(table) <= 0)[0])
            raise ValueError(f"levels must be strictly increasing, but level {k + 1} ({table[k + 1]:g} uS) "
                             f"is not above level {k} ({table[k]:g} uS)")
        table.setflags(write=False)
        object.__setattr__(self, "table_us", table)

    @property
    def n(self) -> int:
        """Number of levels."""
        return int(self.table_us.size)

    @property
    def range_us(self) -> tuple[float, float]:
        """(lowest, highest) level, µS."""
        return float(self.table_us[0]), float(self.table_us[-1])

    @property
    def spacing_us(self) -> np.ndarray:
        """Distances between adjacent levels, µS (n − 1 values)."""
        return np.diff(self.table_us)

    def nearest(self, g_us: np.ndarray) -> np.ndarray:
        """Index of the level nearest to each conductance (ties go to the lower level)."""
        g = np.asarray(g_us, dtype=np.float64)
        mid = 0.5 * (self.table_us[1:] + self.table_us[:-1])
        return np.searchsorted(mid, g, side="left")

    def quantize(self, values: np.ndarray, lo: float | None = None, hi: float | None = None) -> np.ndarray:
        """Level indices of *values* mapped linearly from [lo, hi] (default: their min and max) onto the
        level range, each rounded to the nearest level. Values outside [lo, hi] are clipped."""
        x = np.asarray(values, dtype=np.float64)
        if not np.all(np.isfinite(x)):
            raise ValueError("values to quantize must be finite numbers (found NaN or inf)")
        lo = float(np.min(x)) if lo is None else float(lo)
        hi = float(np.max(x)) if hi is None else float(hi)
        if not hi > lo:
            hi = lo + 1.0
        g_lo, g_hi = self.range_us
        g = g_lo + (np.clip(x, lo, hi) - lo) / (hi - lo) * (g_hi - g_lo)
        return self.nearest(g)

    def targets_us(self, level_index: np.ndarray) -> np.ndarray:
        """Conductances (µS) of the given level indices."""
        idx = np.asarray(level_index)
        if idx.size and (not np.issubdtype(idx.dtype, np.integer) or idx.min() < 0 or idx.max() >= self.n):
            raise ValueError(f"level indices must be integers in [0, {self.n - 1}], not "
                             f"{idx.dtype} in [{idx.min()}, {idx.max()}]")
        return self.table_us[idx]


def uniform_levels(g_lo_us: float, g_hi_us: float, n: int) -> Levels:
    """*n* levels evenly spaced in conductance from *g_lo_us* to *g_hi_us* (both included)."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise ValueError(f"the number of levels must be an integer >= 2, not {n!r}")
    if not (np.isfinite(g_lo_us) and np.isfinite(g_hi_us) and g_hi_us > g_lo_us):
        raise ValueError(f"the level range must satisfy g_lo_us < g_hi_us, not {g_lo_us!r} .. {g_hi_us!r}")
    return Levels(np.linspace(float(g_lo_us), float(g_hi_us), int(n)))


def device_levels(spec, n: int, margin: float = 0.0) -> Levels:
    """*n* uniform levels over the nominal range of the spec's device (``g_min_us .. g_max_us``),
    shrunk by *margin* (a fraction of the range) at each end."""
    params = spec.tile.device.params
    g_lo, g_hi = float(params.g_min_us), float(params.g_max_us)
    span = g_hi - g_lo
    return uniform_levels(g_lo + margin * span, g_hi - margin * span, n)
