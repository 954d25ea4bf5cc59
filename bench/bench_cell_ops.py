"""One-cell commands per second: ``Chip.execute_cells`` against a loop of ``Chip.execute`` doing the same.

    python bench/bench_cell_ops.py [--ops 20000] [--spec default]

Alternating one-cell SET pulses and reads on random cells of tile 0 (the pattern of a cell-by-cell
verify loop), executed once as a loop of blocking ``execute`` calls (the baseline) and once as one
``CellOps`` run, on fresh chips with the same seed; the results are checked to be identical. Prints
ops per second of both and the ratio (best of 3, numba compile excluded).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import twin


def cell_ops(spec: twin.ChipSpec, n: int, seed: int = 0) -> twin.CellOps:
    rng = np.random.default_rng(seed)
    a, p = spec.tile.array, spec.tile.programming
    is_read = np.arange(n) % 2 == 1
    return twin.CellOps(0, is_read, rng.integers(0, a.rows, n), rng.integers(0, a.cols, n), np.ones(n, dtype=bool),
                        np.full(n, p.v_set_range_v[1]), np.full(n, p.width_range_ps[0]),
                        np.full(n, p.v_gate_range_v[1]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ops", type=int, default=20_000)
    ap.add_argument("--spec", default="default")
    args = ap.parse_args()
    spec = twin.load_spec(args.spec)
    ops = cell_ops(spec, args.ops)
    commands = [ops.command(k) for k in range(len(ops))]
    twin.build(spec, 0).execute_cells(cell_ops(spec, 200))  # warm-up (numba compile)
    loop_s, cells_s = float("inf"), float("inf")
    for _ in range(3):
        chip = twin.build(spec, 0)
        t = time.perf_counter()
        expected = [chip.execute(cmd) for cmd in commands]
        loop_s = min(loop_s, time.perf_counter() - t)
        chip = twin.build(spec, 0)
        t = time.perf_counter()
        got = chip.execute_cells(ops)
        cells_s = min(cells_s, time.perf_counter() - t)
    reads = np.flatnonzero(ops.is_read)
    assert np.array_equal(got.values[reads], [float(expected[k].values) for k in reads])
    assert np.array_equal(got.end_ps, [r.end_ps for r in expected])
    n = len(ops)
    print(f"one-cell pulses and reads on spec {args.spec!r} ({spec.tile.device.model}), {n:,} ops, results identical")
    print(f"  baseline: loop of chip.execute  {n / loop_s:>12,.0f} ops/s  ({loop_s / n * 1e6:.1f} us per op)")
    print(f"  chip.execute_cells              {n / cells_s:>12,.0f} ops/s  ({cells_s / n * 1e6:.2f} us per op)")
    print(f"  ratio                           {loop_s / cells_s:>12.1f} x")


if __name__ == "__main__":
    main()
