"""Kim et al. 2021 on the twin: 8 levels (3-bit) by reset-voltage control, RMSE ~1.8 % of the range.

Programs every cell of the kim2021 preset's 32 x 32 array to one of 8 uniform levels (random pattern)
with :class:`firmware.pulse_schemes.ResetVoltage`, and prints the write-verify summary and the RMSE
of the final conductances as a percentage of the device's range. Paper: 1.79 % (abstract).

    .venv/bin/python bench/reproduce_kim2021.py [--seed 0] [--tolerance-us T]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from firmware.driver import open_chip
from firmware.programming import write_verify
from firmware.pulse_schemes import ResetVoltage
from twin.logconfig import configure_logging
from firmware.quantize import device_levels

PAPER_RMSE_PCT = 1.79


def run(seed: int = 0, tolerance_us: float | None = None, size: int | None = None) -> dict:
    """Program the array and return the numbers (also used by the slow test)."""
    chip = open_chip("kim2021", seed=seed)
    tile = chip.tile(0)
    rows_n, cols_n = tile.shape
    n_r, n_c = (size, size) if size else (rows_n, cols_n)
    levels = device_levels(chip.spec, 8, margin=0.05)
    if tolerance_us is None:  # our choice: the window is a quarter of the level spacing on each side
        tolerance_us = float(levels.spacing_us[0]) / 4
    level = np.random.default_rng(seed).integers(0, 8, (n_r, n_c))
    targets = levels.targets_us(level)
    rep = write_verify(tile, np.arange(n_r)[:, None], np.arange(n_c)[None, :], targets, ResetVoltage(),
                       tolerance_us=tolerance_us, max_pulses=60)
    s = rep.summary
    working = rep.status != 4  # cells reported unresponsive (stuck) are excluded, as a paper excludes dead cells
    err = rep.error_us[working]
    rmse_pct = 100 * float(np.sqrt(np.mean(err ** 2))) / s.range_us
    return {"report": rep, "levels": levels, "rmse_pct": rmse_pct, "n_stuck": int((~working).sum()),
            "tolerance_us": tolerance_us}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tolerance-us", type=float, default=None, help="default: a quarter of the level spacing")
    args = ap.parse_args()
    configure_logging("warning")
    wall = time.perf_counter()
    out = run(args.seed, args.tolerance_us)
    rep = out["report"]
    print(f"kim2021, seed {args.seed}: 8 levels {np.round(out['levels'].table_us, 2).tolist()} uS, "
          f"reset-voltage control, tolerance +-{out['tolerance_us']:.3f} uS")
    print(rep.summary.to_text())
    print(f"RMSE over the {rep.summary.n_cells - out['n_stuck']} working cells ({out['n_stuck']} reported "
          f"unresponsive): {out['rmse_pct']:.2f} % of the range (paper {PAPER_RMSE_PCT} %; "
          f"{'PASS' if abs(out['rmse_pct'] - 1.8) <= 0.5 else 'FAIL'} against 1.8 +- 0.5 %)")
    print(f"wall-clock {time.perf_counter() - wall:.1f} s")


if __name__ == "__main__":
    main()
