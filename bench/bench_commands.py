"""Commands per second through the firmware API, against numpy doing the same matrix work.

    python bench/bench_commands.py [--spec default] [--seconds 2]

For each command kind it prints the wall-clock time per command through ``TileHandle`` (the whole
path: building and checking the command, host link and tile scheduling, controller plan, physics,
SimPy events, ledger, trace, Result), the part of it spent in the tile's physics (``Array.execute``,
timed inside the same run), their difference — the event and bookkeeping overhead, target under
30 us per command — and numpy's time for the same matrix work, with the ratio. The overhead is
measured three ways:

- in the run ("overhead us" = api − physics): the bookkeeping as a user's program meets it, right after
  the physics has left the CPU's caches cold (its data, and for large MVMs its BLAS and numba code);
- alone ("alone us"): the same calls with ``Array.execute`` replaced by its stored result, so only the
  event and bookkeeping code runs, on warm caches;
- alone after a cache sweep ("swept us"): as alone, but the stored physics also reads a buffer the
  size of the tile's cell state (not timed): the data caches refilling, without the physics' code.

"probe" shows how cold the CPU is when the physics returns: a fixed piece of Python (50 dict lookups)
timed right after each command's physics, divided by its time on warm caches (a separate pass, so it
does not disturb the other columns).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import firmware
from twin.array import Array


class PhysicsTimer:
    """Wraps Array.execute to add up the wall time spent in the physics."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._original = Array.execute

    def __enter__(self) -> "PhysicsTimer":
        original = self._original
        timer = self

        def timed(array, *args, **kwargs):
            t0 = time.perf_counter()
            try:
                return original(array, *args, **kwargs)
            finally:
                timer.seconds += time.perf_counter() - t0

        Array.execute = timed
        return self

    def __exit__(self, *exc) -> None:
        Array.execute = self._original


def measure(fn, seconds: float) -> tuple[float, float]:
    """(wall seconds per call, physics seconds per call): best of 3 runs of about *seconds* / 3 each."""
    fn()
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds / 6:
        fn()
        n += 1
    best = (float("inf"), 0.0)
    for _ in range(3):
        with PhysicsTimer() as timer:
            t0 = time.perf_counter()
            for _ in range(n):
                fn()
            wall = (time.perf_counter() - t0) / n
        if wall < best[0]:
            best = (wall, timer.seconds / n)
    return best


class StoredPhysics:
    """Replaces Array.execute by the stored result of its first call per command kind and batch, so that a
    run times the event and bookkeeping path alone (the commands' values are then stale, which nothing here
    looks at); with *sweep_bytes*, each stored result is followed by a read of that many bytes."""

    def __init__(self, sweep_bytes: int = 0) -> None:
        self._original = Array.execute
        self._stored: dict[tuple, tuple] = {}
        self._sweep = np.ones(sweep_bytes // 8) if sweep_bytes else None
        """Read through after each stored result, to evict the caches as the physics does."""

    def __enter__(self) -> "StoredPhysics":
        original, stored, sweep = self._original, self._stored, self._sweep

        def replay(array, cmd, *args):
            key = (type(cmd).__name__, getattr(cmd, "batch", 0))
            if key not in stored:
                stored[key] = original(array, cmd, *args)
            if sweep is not None:
                sweep.sum()
            values, cells_pj, info = stored[key]
            return values, cells_pj, dict(info)

        Array.execute = replay
        return self

    def __exit__(self, *exc) -> None:
        Array.execute = self._original


def bookkeeping_time(fn, seconds: float, sweep_bytes: int = 0) -> float:
    """Wall seconds per call of *fn* outside its stand-in physics (the stored result, and the read of
    *sweep_bytes* when given), best of 3."""
    with StoredPhysics(sweep_bytes):
        wall, physics = measure(fn, seconds)
    return wall - physics


_PROBE_TABLE = {i: i for i in range(50)}


def _probe() -> int:
    """A fixed piece of interpreter work: 50 dict lookups."""
    total = 0
    for i in range(50):
        total += _PROBE_TABLE[i]
    return total


def probe_slowdown(fn, n: int = 200) -> float:
    """How much slower :func:`_probe` runs right after the physics of a call of *fn* than on warm caches."""
    original, after = Array.execute, []

    def probed(array, *args):
        out = original(array, *args)
        t0 = time.perf_counter()
        _probe()
        after.append(time.perf_counter() - t0)
        return out

    Array.execute = probed
    try:
        for _ in range(n):
            fn()
    finally:
        Array.execute = original
    warm = []
    for _ in range(n):
        t0 = time.perf_counter()
        _probe()
        warm.append(time.perf_counter() - t0)
    return float(np.median(after) / np.median(warm))


def numpy_time(fn, seconds: float) -> float:
    fn()
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        fn()
        n += 1
    return (time.perf_counter() - t0) / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spec", default="default")
    parser.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args()
    chip = firmware.open_chip(args.spec, seed=0)
    tile = chip.tile(0)
    rows, cols = tile.shape
    rng = np.random.default_rng(0)
    g = chip.twin.tiles[0].array.conductance_us(0).copy()
    v_read = chip.spec.tile.read.v_read_v
    p = chip.spec.tile.programming
    all_cols = np.arange(cols)
    x1, x64 = rng.uniform(-1, 1, (1, rows)), rng.uniform(-1, 1, (64, rows))
    cases = [
        ("read 1 cell", lambda: tile.read([3], [5]), lambda: g[3, 5] * v_read),
        (f"read 1 row ({cols} cells)", lambda: tile.read([3], all_cols), lambda: g[3] * v_read),
        ("pulse 1 cell", lambda: tile.pulse([3], [5], "set", p.v_set_range_v[0], p.width_range_ps[0],
                                            p.v_gate_range_v[1]), lambda: g[3, 5] + 0.1),
        (f"mvm {rows}x{cols} batch 1", lambda: tile.mvm(x1), lambda: x1 @ g),
        (f"mvm {rows}x{cols} batch 64", lambda: tile.mvm(x64), lambda: x64 @ g),
    ]
    print(f"spec {chip.spec.name}: {chip.spec.tile.dac.input_mode} inputs, {chip.spec.tile.dac.bits}-bit DACs, "
          f"{chip.spec.tile.adc.bits}-bit ADCs, device {chip.spec.tile.device.model}")
    state_bytes = chip.twin.tiles[0].array.model.nbytes()
    print(f"{'command':<28}{'api us':>10}{'cmd/s':>10}{'physics us':>12}{'overhead us':>13}{'alone us':>10}"
          f"{'swept us':>10}{'probe':>7}{'numpy us':>10}{'api/numpy':>11}")
    worst = worst_alone = 0.0
    for name, api, numpy_work in cases:
        t_api, t_phys = measure(api, args.seconds)
        t_alone = bookkeeping_time(api, args.seconds / 2)
        t_swept = bookkeeping_time(api, args.seconds / 2, state_bytes)
        slowdown = probe_slowdown(api, n=max(20, min(200, int(0.5 / t_api))))
        t_np = numpy_time(numpy_work, args.seconds / 4)
        overhead = t_api - t_phys
        worst, worst_alone = max(worst, overhead), max(worst_alone, t_alone)
        print(f"{name:<28}{t_api * 1e6:>10.1f}{1 / t_api:>10,.0f}{t_phys * 1e6:>12.1f}{overhead * 1e6:>13.1f}"
              f"{t_alone * 1e6:>10.1f}{t_swept * 1e6:>10.1f}{slowdown:>6.1f}x{t_np * 1e6:>10.1f}{t_api / t_np:>10.0f}x")
    verdict = "met" if worst_alone < 30e-6 else "not met"
    print(f"event + bookkeeping code, worst command: {worst_alone * 1e6:.1f} us alone (target < 30 us: {verdict}); "
          f"{worst * 1e6:.1f} us in the run, where it also pays for the caches the physics left cold (see probe)")
    print(f"(swept: alone, after reading {state_bytes:,} bytes, the tile's cell state, between commands; "
          f"probe: a fixed piece of Python right after the physics, against warm)")

if __name__ == "__main__":
    main()
