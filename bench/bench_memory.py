"""Bytes of device-model state per cell, and what a 1,024-tile chip of 256×256 cells needs.

    python bench/bench_memory.py [--budget-gib 2] [--chip-tiles 0]

1. Builds one 256×256 ``rram_1t1r`` model and reports ``nbytes()`` per cell (target: <= 64 B).
2. Actually allocates as many such models as fit in --budget-gib (each pulsed once on every cell, so
   every page is touched) and reports the growth of the process's resident memory per cell.
3. Extrapolates to 1,024 tiles (67.1 M cells) and compares with 24 GiB.
4. With --chip-tiles N (N > 0), builds a real chip with ``twin.build`` from chipspecs/default.yaml
   with the rram_1t1r model and N tiles (in a fresh process), pulses every cell once and reports the
   growth of resident memory per cell. Chip construction is eager (every tile's model is built at
   once, ~0.03-0.06 s and 4 MiB per tile), so --chip-tiles 1024 needs ~5 GiB and a minute or two.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import pathlib
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from twin.devices.rram_1t1r import Rram1T1R, Rram1T1RParams  # noqa: E402
from twin.rng import ChipRng, TileRng  # noqa: E402
from twin.spec.chipspec import EffectsSpec  # noqa: E402

ROWS = COLS = 256
N_CELLS = ROWS * COLS
GIB = 2**30


def rss_bytes() -> int:
    """Resident set size of this process (Linux /proc)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


def touch(model: Rram1T1R) -> None:
    """Pulse every cell once (and evaluate conductance and telegraph noise) so that every page is written."""
    idx = np.arange(N_CELLS, dtype=np.int64)
    model.apply_pulses(idx, np.ones(N_CELLS, bool), np.full(N_CELLS, 1.3), np.full(N_CELLS, 10**6),
                       np.full(N_CELLS, 1.5), 0)
    model.conductance_us(10**9)
    model.telegraph_us(None, 10**9)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--budget-gib", type=float, default=2.0)
    ap.add_argument("--chip-tiles", type=int, default=0)
    ap.add_argument("--only-chip", type=int, default=0, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.only_chip:
        chip_memory(a.only_chip)
        return

    one = Rram1T1R(Rram1T1RParams(), ROWS, COLS, EffectsSpec(), TileRng(ChipRng(0), 0))
    per_cell = one.nbytes() / N_CELLS
    arrays = sorted(((k, v.dtype.itemsize) for k, v in vars(one).items() if isinstance(v, np.ndarray) and v.size == N_CELLS),
                    key=lambda kv: -kv[1])
    print(f"one 256x256 tile: nbytes() = {one.nbytes():,} B = {per_cell:.4f} B/cell")
    print("  per-cell arrays: " + ", ".join(f"{k} {s} B" for k, s in arrays) + f" = {sum(s for _, s in arrays)} B")
    touch(one)
    del one
    gc.collect()

    n_tiles = max(1, int(a.budget_gib * GIB // (64 * N_CELLS)))
    before = rss_bytes()
    t0 = time.perf_counter()
    models = []
    for tile in range(n_tiles):
        m = Rram1T1R(Rram1T1RParams(), ROWS, COLS, EffectsSpec(), TileRng(ChipRng(0), tile))
        touch(m)
        models.append(m)
    grown = rss_bytes() - before
    dt = time.perf_counter() - t0
    print(f"allocated {n_tiles} tiles ({n_tiles * N_CELLS:,} cells) in {dt:.1f} s: resident memory grew "
          f"{grown / GIB:.2f} GiB = {grown / (n_tiles * N_CELLS):.1f} B/cell "
          f"(model nbytes {sum(m.nbytes() for m in models) / GIB:.2f} GiB)")
    measured = max(per_cell, grown / (n_tiles * N_CELLS))
    total = 1024 * N_CELLS * measured
    print(f"1,024 tiles x 256 x 256 = {1024 * N_CELLS:,} cells -> {total / GIB:.2f} GiB of device state "
          f"({total / (24 * GIB):.0%} of 24 GiB)")
    del models
    gc.collect()

    if a.chip_tiles > 0:  # in a fresh process, so that freed model memory is not reused
        subprocess.run([sys.executable, __file__, "--only-chip", str(a.chip_tiles)], check=True)


def chip_memory(n_tiles: int) -> None:
    """Build a real chip of *n_tiles* tiles with twin.build, touch every cell, report resident memory."""
    import twin

    spec = twin.load_spec(pathlib.Path(__file__).resolve().parents[1] / "chipspecs" / "default.yaml")
    if spec.tile.device.model != "rram_1t1r":
        device = dataclasses.replace(spec.tile.device, model="rram_1t1r", params=Rram1T1RParams())
        spec = dataclasses.replace(spec, tile=dataclasses.replace(spec.tile, device=device))
    spec = dataclasses.replace(spec, n_tiles=n_tiles)
    before = rss_bytes()
    t0 = time.perf_counter()
    chip = twin.build(spec, seed=0)
    built_s = time.perf_counter() - t0
    for tile in chip.tiles:
        touch(tile.array.model)
    grown = rss_bytes() - before
    cells = n_tiles * spec.tile.array.n_cells
    print(f"twin.build with {n_tiles} tiles of 256x256 ({spec.tile.device.model}): built in {built_s:.1f} s; after "
          f"pulsing every cell, resident memory grew {grown / GIB:.2f} GiB = {grown / cells:.1f} B/cell "
          f"-> {1024 * N_CELLS * grown / cells / GIB:.2f} GiB for 1,024 tiles")
    del chip

if __name__ == "__main__":
    main()
