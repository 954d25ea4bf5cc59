"""The demo: program a pattern by write-verify, then run MVMs on several tiles at once.

Run it with ``memtwin demo``. Everything here uses only the firmware API (commands), exactly as a
program for silicon would.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from firmware.driver import ChipHandle, TileHandle, open_chip
from firmware.programming import write_verify


@dataclass
class DemoResult:
    """What the demo measured (also used by its test)."""

    chip: ChipHandle
    targets_us: np.ndarray
    final_us: np.ndarray
    iterations: int
    mvm_rel_error: float
    text: str


def run_demo(spec: str = "default", seed: int = 0, progress: bool = True, trace_path: str | None = None,
             block: int = 32, batch: int = 16) -> DemoResult:
    """Run the demo and return its numbers and printed text."""
    chip = open_chip(spec, seed=seed)
    lines = [f"memtwin demo on spec {chip.spec.name!r} (seed {seed}): {chip.n_tiles} tiles of "
             f"{chip.spec.tile.array.rows} x {chip.spec.tile.array.cols}"]
    t0 = chip.tile(0)
    rows, cols = t0.shape
    n, m = min(block, rows), min(block, cols)
    g_lo, g_hi = t0.chip.spec.tile.device.params.g_min_us, t0.chip.spec.tile.device.params.g_max_us
    levels = np.linspace(g_lo + 0.1 * (g_hi - g_lo), g_hi - 0.1 * (g_hi - g_lo), 4)
    pattern = (np.add.outer(np.arange(n) // 4, np.arange(m) // 4)) % 4  # a 4-level checkerboard of 4x4 squares
    targets = levels[pattern]
    tol_us = 0.025 * (g_hi - g_lo)
    start_ps = chip.now_ps
    report = write_verify(t0, np.arange(n)[:, None], np.arange(m)[None, :], targets, scheme="incremental",
                          tolerance_us=tol_us, max_pulses=100, progress=progress)
    final = report.final_us.reshape(n, m)
    summary = report.summary
    iterations = summary.n_iterations
    lines.append(f"programmed {n}x{m} cells of tile 0 to 4 levels {np.round(levels, 1).tolist()} uS "
                 f"(+-{tol_us:.2f} uS) with the NeuRRAM incremental-step scheme: {summary.convergence_rate:.1%} "
                 f"converged, {summary.mean_pulses:.1f} pulses per cell, RMS error {summary.rmse_us:.3f} uS, "
                 f"{(chip.now_ps - start_ps) / 1e6:,.1f} us simulated in {iterations} verify iterations")

    # MVMs on several tiles at once, as concurrent SimPy processes.
    rng = np.random.default_rng(seed)
    n_busy = min(4, chip.n_tiles)
    inputs = [rng.uniform(-1, 1, (batch, rows)) for _ in range(n_busy)]
    outputs: dict[int, object] = {}

    def worker(tile: TileHandle, x: np.ndarray):
        yield from tile.configure_proc(adc_mvm_range_ua=(-64.0, 64.0))  # a range that fits these outputs
        outputs[tile.index] = yield from tile.mvm_proc(x)

    mvm_start = chip.now_ps
    for i in range(n_busy):
        chip.process(worker(chip.tile(i), inputs[i]))
    chip.run()
    r0 = outputs[0]
    # Expected result on tile 0's programmed block (other cells are at their fresh conductance).
    g_read = t0.read(np.arange(rows)[:, None], np.arange(cols)).values
    v_read = chip.spec.tile.read.v_read_v
    code_max = 2 ** (chip.spec.tile.dac.bits - 1) - 1
    expected = (np.rint(inputs[0] * code_max) / code_max * v_read) @ g_read
    rel_err = float(np.linalg.norm(r0.values - expected) / np.linalg.norm(expected))
    lines.append(f"ran {n_busy} x {batch} MVMs ({rows}x{cols}) concurrently on tiles 0..{n_busy - 1}: "
                 f"{(chip.now_ps - mvm_start) / 1e6:,.2f} us simulated; tile 0 output vs read-back weights: "
                 f"{rel_err:.2%} relative error")
    for i in range(n_busy):
        res = outputs[i]
        lines.append(f"  tile {i}: {res.start_ps / 1e6:>10,.3f} .. {res.end_ps / 1e6:>10,.3f} us, "
                     f"{res.total_energy_pj / 1e3:8,.2f} nJ, first outputs {np.round(res.values[0, :3], 2).tolist()} uA")
    lines.append("")
    lines.append(chip.report())
    if trace_path:
        chip.trace.to_chrome(trace_path)
        lines.append(f"trace written to {trace_path} (open in https://ui.perfetto.dev)")
    return DemoResult(chip, targets, final, iterations, rel_err, "\n".join(lines))
