"""Benchmark: crossbar IR-drop solve (twin.physics.crossbar) vs an exact sparse direct solve.

256×256 array, 1 Ω per row/column wire segment, 1 Ω driver and sense, no access resistance,
cells uniform in 1–100 µS, inputs uniform in 0–0.3 V. Run: python bench/bench_ir_drop.py
(NUMBA_NUM_THREADS sets the threads of the batched solve). Numba compile time is excluded.
"""

import os
import pathlib
import sys
import time

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import numba  # noqa: E402

from twin.physics.crossbar import IrDropSolver, ideal_column_currents_ua  # noqa: E402
from twin.physics.reference.crossbar import nodal_system_coo  # noqa: E402

M, N = 256, 256
R_SEG_OHM = 1.0
R_DRIVER_OHM = 1.0
R_SENSE_OHM = 1.0
R_ACCESS_OHM = 0.0
BATCH = 128
REPEATS = 5


def _best_ms(fn, repeats=REPEATS):
    """Minimum wall time of fn() over repeats, in ms, and its last result."""
    best = np.inf
    out = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best * 1e3, out


def main():
    from scipy import sparse
    from scipy.sparse import linalg

    rng = np.random.default_rng(20240601)
    states_g_us = [rng.uniform(1.0, 100.0, (M, N)) for _ in range(REPEATS + 1)]
    v_in_v = rng.uniform(0.0, 0.3, (BATCH, M))
    print(f"ir_drop bench: {M}x{N}, r_row = r_col = {R_SEG_OHM} ohm/segment, driver "
          f"{R_DRIVER_OHM} ohm, sense {R_SENSE_OHM} ohm, access {R_ACCESS_OHM} ohm, cells 1-100 uS, "
          f"numba threads {numba.get_num_threads()}, cpus {os.cpu_count()}")

    def make_solver(g_us):
        return IrDropSolver(g_us, R_SEG_OHM, R_SEG_OHM, R_DRIVER_OHM, R_SENSE_OHM, R_ACCESS_OHM)

    # Warm up (compile or load the numba cache) on a separate array state.
    t0 = time.perf_counter()
    make_solver(states_g_us[-1]).solve(v_in_v[:2])
    print(f"warm-up (numba compile or cache load, not counted): {time.perf_counter() - t0:.2f} s")

    # (a) First vector after the array changed: precompute + one solve, a fresh state each time.
    first_ms = np.inf
    for g_us in states_g_us[:REPEATS]:
        t0 = time.perf_counter()
        solver = make_solver(g_us)
        _, _, _, it_first = solver.solve(v_in_v[0])
        first_ms = min(first_ms, (time.perf_counter() - t0) * 1e3)
    g_us = states_g_us[0]
    solver = make_solver(g_us)
    setup_ms, _ = _best_ms(lambda: make_solver(g_us))

    # (b) Steady state: batch of BATCH vectors on the unchanged array.
    batch_ms, (i_col_ua, p_source_uw, p_cells_uw, iterations) = _best_ms(
        lambda: solver.solve(v_in_v), repeats=3)
    per_vec_ms = batch_ms / BATCH
    single_ms, _ = _best_ms(lambda: solver.solve(v_in_v[1]))

    # (c) Baseline: exact sparse direct solve (SuperLU) of the same nodal system.
    rows, cols, vals_us, size, drive_idx, sense_idx, g_drv_us, g_sense_us = nodal_system_coo(
        g_us, R_SEG_OHM, R_SEG_OHM, R_DRIVER_OHM, R_SENSE_OHM)
    t0 = time.perf_counter()
    mat = sparse.csc_matrix((vals_us, (rows, cols)), shape=(size, size))
    assemble_s = time.perf_counter() - t0
    factor_s = np.inf
    for _ in range(2):
        t0 = time.perf_counter()
        lu = linalg.splu(mat)
        factor_s = min(factor_s, time.perf_counter() - t0)
    rhs = np.zeros((size, BATCH))
    rhs[drive_idx, :] = g_drv_us * v_in_v.T
    sp_batch_ms, x = _best_ms(lambda: lu.solve(rhs), repeats=2)
    sp_per_vec_ms = sp_batch_ms / BATCH
    sp_single_ms, _ = _best_ms(lambda: lu.solve(rhs[:, 1]))
    i_ref_ua = g_sense_us * x[sense_idx, :].T

    # (d) Accuracy vs the sparse solve, and the size of the IR drop.
    rel_err = np.max(np.abs(i_col_ua - i_ref_ua) / np.abs(i_ref_ua))
    drop = 1.0 - i_ref_ua / ideal_column_currents_ua(v_in_v, g_us)
    sp_first_ms = factor_s * 1e3 + sp_single_ms

    print(f"ir_drop first vector: {first_ms:.1f} ms (target <= 50 ms; precompute alone "
          f"{setup_ms:.1f} ms; {it_first} PCG iterations)")
    print(f"ir_drop per vector at batch {BATCH}: {per_vec_ms:.2f} ms (target <= 10 ms; "
          f"batch {batch_ms:.0f} ms; single vector on a prepared array {single_ms:.1f} ms; "
          f"PCG iterations {iterations.min()}-{iterations.max()})")
    print(f"scipy splu factor: {factor_s:.2f} s (+ assembly {assemble_s:.2f} s); per-vector "
          f"solve at batch {BATCH}: {sp_per_vec_ms:.2f} ms; single vector {sp_single_ms:.1f} ms")
    print(f"ratio first vector (scipy factor + 1 solve vs ir_drop first vector): "
          f"{sp_first_ms / first_ms:.0f}x")
    print(f"ratio per vector at batch {BATCH} (scipy / ir_drop): {sp_per_vec_ms / per_vec_ms:.2f}x")
    print(f"max relative error of column currents vs sparse direct solve: {rel_err:.1e}")
    print(f"IR drop reduces column currents by {100 * drop.mean():.0f} % on average "
          f"(max {100 * drop.max():.0f} %); p_source {p_source_uw.mean():.1f} uW, p_cells "
          f"{p_cells_uw.mean():.1f} uW per vector (mean)")


if __name__ == "__main__":
    main()
