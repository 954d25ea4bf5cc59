"""Commands per second through the firmware API, against numpy doing the same matrix work.

    python bench/bench_commands.py [--spec default] [--seconds 2]

For each command kind it prints the wall-clock time per command through ``TileHandle`` (the whole
path: checks, host link, queue, controller plan, physics, ledger, trace), the time of the physics
alone (``Array.execute``), their difference, which is the event and bookkeeping overhead (target:
under 30 us per command), and numpy's time for the same matrix work with the ratio.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import firmware
from twin import Mvm, Pulse, Read


def per_call_s(fn, seconds: float) -> float:
    """Best-of-3 mean wall time of *fn* over about *seconds*."""
    fn()
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds / 3:
        fn()
        n += 1
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter() - t0) / n)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spec", default="default")
    parser.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args()
    chip = firmware.open_chip(args.spec, seed=0)
    tile = chip.tile(0)
    array = chip.twin.tiles[0].array
    controller = chip.twin.controller
    settings = chip.twin.tiles[0].settings
    rows, cols = tile.shape
    rng = np.random.default_rng(0)
    g = array.conductance_us(0).copy()
    v_read = settings.v_read_v

    def physics(cmd):
        plan = controller.plan(cmd)
        return lambda: array.execute(cmd, plan, settings, 0, 0)

    cases = []
    cases.append(("read 1 cell", lambda: tile.read([3], [5]), physics(Read(0, [3], [5])), lambda: g[3, 5] * v_read))
    all_cols = np.arange(cols)
    cases.append((f"read 1 row ({cols} cells)", lambda: tile.read([3], all_cols), physics(Read(0, [3], all_cols)),
                  lambda: g[3] * v_read))
    v_set = chip.spec.tile.programming.v_set_range_v[0]
    width = chip.spec.tile.programming.width_range_ps[0]
    gate = chip.spec.tile.programming.v_gate_range_v[1]
    cases.append(("pulse 1 cell", lambda: tile.pulse([3], [5], "set", v_set, width, gate),
                  physics(Pulse(0, [3], [5], "set", v_set, width, gate)), lambda: g[3, 5] + 0.1))
    for batch in (1, 64):
        x = rng.uniform(-1, 1, (batch, rows))
        cases.append((f"mvm {rows}x{cols} batch {batch}", lambda x=x: tile.mvm(x), physics(Mvm(0, x)),
                      lambda x=x: x @ g))
    print(f"spec {chip.spec.name}: {chip.spec.tile.dac.input_mode} inputs, {chip.spec.tile.dac.bits}-bit DACs, "
          f"{chip.spec.tile.adc.bits}-bit ADCs, device {chip.spec.tile.device.model}")
    print(f"{'command':<28}{'api us':>10}{'cmd/s':>10}{'physics us':>12}{'overhead us':>13}{'numpy us':>10}"
          f"{'api/numpy':>11}")
    worst = 0.0
    for name, api, physics, numpy_work in cases:
        t_api = per_call_s(api, args.seconds)
        t_phys = per_call_s(physics, args.seconds / 2)
        t_np = per_call_s(numpy_work, args.seconds / 4)
        overhead = t_api - t_phys
        worst = max(worst, overhead)
        print(f"{name:<28}{t_api * 1e6:>10.1f}{1 / t_api:>10,.0f}{t_phys * 1e6:>12.1f}{overhead * 1e6:>13.1f}"
              f"{t_np * 1e6:>10.1f}{t_api / t_np:>10.0f}x")
    print(f"worst event + bookkeeping overhead: {worst * 1e6:.1f} us per command (target < 30 us)")


if __name__ == "__main__":
    main()
