"""Write-verify speed: all 65,536 cells of a 256 x 256 tile to random 2,048-level targets.

Programs the rao2023 preset's tile (2,048 levels 2 uS apart, 50-4144 uS, tolerance +-0.5 uS) with
the gate-voltage SET scheme (no denoising) through ``firmware.programming.write_verify``: one Read of
every pending cell and one Pulse command per polarity per iteration. Baseline measured in the same
run: the same closed loop and scheme written cell by cell (one Read and one Pulse command per cell
per iteration) on a subset of the cells; both are reported in cell-pulses per second of wall-clock.
Target: the whole tile in at most 2 s.

    .venv/bin/python bench/bench_programming.py [--baseline-cells 256] [--repeat 3]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from firmware.driver import open_chip
from firmware.programming import write_verify
from firmware.pulse_schemes import GateSet
from firmware.quantize import uniform_levels
from twin.logconfig import configure_logging

SIZE = 256
TOL_US = 0.5


def targets(seed: int = 0) -> np.ndarray:
    levels = uniform_levels(50.0, 4144.0, 2048)
    return levels.targets_us(np.random.default_rng(seed).integers(0, 2048, (SIZE, SIZE)))


def whole_tile(seed: int = 0):
    chip = open_chip("rao2023", seed=seed)
    tile = chip.tile(0)
    t = targets(seed)
    wall = time.perf_counter()
    rep = write_verify(tile, np.arange(SIZE)[:, None], np.arange(SIZE)[None, :], t, GateSet(denoise_pulses=0),
                       tolerance_us=TOL_US, max_pulses=60)
    return time.perf_counter() - wall, rep


def cell_by_cell(n_cells: int, seed: int = 0) -> tuple[float, int, float]:
    """The same loop, one cell per command: returns (wall s, cell-pulses, convergence rate)."""
    chip = open_chip("rao2023", seed=seed)
    tile = chip.tile(0)
    t = targets(seed).ravel()[:n_cells]
    rows, cols = np.arange(n_cells) // SIZE, np.arange(n_cells) % SIZE
    wall = time.perf_counter()
    pulses = 0
    converged = 0
    for i in range(n_cells):
        rep = write_verify(tile, rows[i:i + 1], cols[i:i + 1], t[i:i + 1], GateSet(denoise_pulses=0),
                           tolerance_us=TOL_US, max_pulses=60)
        pulses += rep.summary.cell_pulses
        converged += rep.summary.n_converged
    return time.perf_counter() - wall, pulses, converged / n_cells


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline-cells", type=int, default=256)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    configure_logging("error")
    whole_tile()  # warm-up: numba kernels loaded from cache, imports
    runs = [whole_tile() for _ in range(args.repeat)]
    wall, rep = min(runs, key=lambda x: x[0])
    s = rep.summary
    rate = s.cell_pulses / wall
    print(f"whole tile ({SIZE}x{SIZE} = {s.n_cells:,} cells, rao2023, 2,048 levels, +-{TOL_US} uS, gate_set):")
    print(f"  wall-clock {wall:.2f} s (best of {args.repeat}; all: {', '.join(f'{w:.2f}' for w, _ in runs)} s), "
          f"{s.n_iterations} iterations, {s.n_commands} commands, {s.cell_pulses:,} cell-pulses "
          f"({s.mean_pulses:.1f} per cell), {s.convergence_rate:.2%} converged")
    print(f"  {rate / 1e6:.3f} M cell-pulses/s; {'PASS' if wall <= 2.0 else 'FAIL'} against 2 s")
    b_wall, b_pulses, b_conv = cell_by_cell(args.baseline_cells)
    b_rate = b_pulses / b_wall
    print(f"baseline, the same loop cell by cell ({args.baseline_cells} cells): {b_wall:.2f} s, {b_pulses:,} cell-pulses, "
          f"{b_conv:.2%} converged: {b_rate / 1e3:.1f} k cell-pulses/s; whole tile would take "
          f"{s.cell_pulses / b_rate:,.0f} s")
    print(f"ratio (batched / cell by cell): {rate / b_rate:,.0f}x")


if __name__ == "__main__":
    main()
