"""A user's firmware program for the ``program`` workload tests (imported by path from the study folder)."""

import numpy as np


def reads(chip, seed, n=3):
    """Read a row *n* times; fail on purpose when the chip has a single-ADC tile and n is 99."""
    tile = chip.tile(0)
    if n == 99:
        raise RuntimeError("asked to fail")
    for _ in range(n):
        g = tile.read(0, np.arange(tile.shape[1])).values
    return {"mean_g_us": float(np.mean(g)), "reads": n}
