"""Cell-pulses per second of the rram_1t1r model (numba kernels) vs its plain-numpy reference.

    python bench/bench_pulses.py [--repeats 5]

256×256 tile, default parameters, every effect on (and, second, cycle-to-cycle noise only).
Two patterns through ``Rram1T1R.apply_pulses`` (the whole path: input conversion, random draws,
kernel): 256 calls of one row each (row-parallel programming), and one call on all 65,536 cells.
Each pulse is a 1 µs SET or RESET (alternating per call) around the switching thresholds, so the
cells keep switching and draws, relaxation and telegraph re-draws are all exercised. The numpy
baseline is the same model with the kernel replaced by ``twin.physics.reference.device``, measured
in the same run. Best of --repeats; numba compile time excluded. Target: 20 M cell-pulses/s.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import pathlib
import sys
import time
from unittest import mock

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from twin.devices.rram_1t1r import Rram1T1R, Rram1T1RParams  # noqa: E402
from twin.physics import device as device_kernels  # noqa: E402
from twin.physics.reference import device as reference  # noqa: E402
from twin.rng import ChipRng, TileRng  # noqa: E402
from twin.spec.chipspec import EffectsSpec  # noqa: E402

ROWS = COLS = 256
N = ROWS * COLS


def pulses(n: int, k: int):
    is_set = np.full(n, k % 2 == 0)
    v = np.full(n, 1.3 if k % 2 == 0 else 1.6)
    return is_set, v, np.full(n, 1_000_000, dtype=np.int64), np.full(n, 1.5)


def run_rows(model: Rram1T1R, now_ps: int) -> int:
    rows = [np.arange(r * COLS, (r + 1) * COLS, dtype=np.int64) for r in range(ROWS)]
    args = [pulses(COLS, r) for r in range(ROWS)]
    t0 = time.perf_counter()
    for r in range(ROWS):
        model.apply_pulses(rows[r], *args[r], now_ps + r * 2_000_000)
    return time.perf_counter() - t0


def run_full(model: Rram1T1R, now_ps: int) -> float:
    idx = np.arange(N, dtype=np.int64)
    args = pulses(N, now_ps // 10**9)
    t0 = time.perf_counter()
    model.apply_pulses(idx, *args, now_ps)
    return time.perf_counter() - t0


def best_rate(effects: EffectsSpec, pattern, repeats: int, numpy_baseline: bool) -> float:
    model = Rram1T1R(Rram1T1RParams(), ROWS, COLS, effects, TileRng(ChipRng(0), 0))
    with contextlib.ExitStack() as stack:
        if numpy_baseline:  # the same model and draws, with both kernel variants replaced by the numpy reference
            for name in ("pulse_response_g_us", "pulse_response_g_us_serial"):
                stack.enter_context(mock.patch.object(device_kernels, name, reference.pulse_response_g_us))
        pattern(model, 0)  # warm-up (and numba compile)
        best = min(pattern(model, (k + 1) * 10**9) for k in range(repeats))
    return N / best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=15)
    a = ap.parse_args()
    configs = {
        "all effects": EffectsSpec(),
        "c2c noise only": EffectsSpec(read_noise=False, telegraph_noise=False, relaxation=False, stuck_cells=False,
                                      variation=False, cycle_noise=True),
    }
    print(f"rram_1t1r pulses, {ROWS}x{COLS} tile, NUMBA_NUM_THREADS={os.environ.get('NUMBA_NUM_THREADS', 'default')}, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} (timings on a busy machine are pessimistic)")
    print(f"{'effects':<16} {'pattern':<22} {'numba Mcp/s':>12} {'numpy Mcp/s':>12} {'ratio':>7}")
    for name, effects in configs.items():
        for label, pattern in (("256 calls x 1 row", run_rows), ("1 call x 65,536 cells", run_full)):
            fast = best_rate(effects, pattern, a.repeats, False)
            slow = best_rate(effects, pattern, max(1, a.repeats // 2), True)
            print(f"{name:<16} {label:<22} {fast / 1e6:12.1f} {slow / 1e6:12.1f} {fast / slow:7.1f}")
    print("target: >= 20 M cell-pulses/s (row-parallel pulses with cycle-to-cycle noise)")


if __name__ == "__main__":
    main()
