"""Tests of twin.physics.crossbar (IR-drop crossbar solve) against exact nodal solves."""

import itertools
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from twin.physics.crossbar import (
    IrDropSolver,
    ideal_column_currents_ua,
    series_conductance_us,
)
from twin.physics.reference.crossbar import (
    ideal_currents_ref_ua,
    ir_drop_ref,
    ir_drop_ref_batch,
    series_conductance_ref_us,
)

REPO_ROOT = pathlib.Path(__file__).resolve().parents[3]


def _nodal_matrix(g_eff_us, r_row_ohm, r_col_ohm, r_driver_ohm, r_sense_ohm):
    """Sparse nodal conductance matrix (µS) of the crossbar, all resistances > 0.

    Unknowns: row nodes i*n + j, then column nodes m*n + i*n + j.
    """
    sparse = pytest.importorskip("scipy.sparse")
    m, n = g_eff_us.shape
    n_cell = m * n
    idx = np.arange(n_cell).reshape(m, n)
    g_row_us, g_col_us = 1e6 / r_row_ohm, 1e6 / r_col_ohm
    g_drv_us, g_sense_us = 1e6 / r_driver_ohm, 1e6 / r_sense_ohm
    a_list, b_list, g_list = [], [], []
    # Row wire segments, column wire segments, cell branches.
    a_list.append(idx[:, :-1].ravel())
    b_list.append(idx[:, 1:].ravel())
    g_list.append(np.full(m * (n - 1), g_row_us))
    a_list.append(n_cell + idx[:-1, :].ravel())
    b_list.append(n_cell + idx[1:, :].ravel())
    g_list.append(np.full((m - 1) * n, g_col_us))
    a_list.append(idx.ravel())
    b_list.append(n_cell + idx.ravel())
    g_list.append(g_eff_us.ravel())
    a = np.concatenate(a_list)
    b = np.concatenate(b_list)
    g = np.concatenate(g_list)
    diag = np.zeros(2 * n_cell)
    np.add.at(diag, a, g)
    np.add.at(diag, b, g)
    diag[idx[:, 0]] += g_drv_us
    diag[n_cell + idx[m - 1, :]] += g_sense_us
    rows = np.concatenate([a, b, np.arange(2 * n_cell)])
    cols = np.concatenate([b, a, np.arange(2 * n_cell)])
    vals = np.concatenate([-g, -g, diag])
    mat = sparse.csc_matrix((vals, (rows, cols)), shape=(2 * n_cell, 2 * n_cell))
    return mat, idx, g_drv_us, g_sense_us


def _spsolve_currents(g_us, r_row_ohm, r_col_ohm, r_driver_ohm, r_sense_ohm, r_access_ohm,
                      v_in_v):
    """Exact column currents (batch, n), source and cell powers via scipy spsolve."""
    linalg = pytest.importorskip("scipy.sparse.linalg")
    g_eff_us = series_conductance_ref_us(g_us, r_access_ohm)
    mat, idx, g_drv_us, g_sense_us = _nodal_matrix(g_eff_us, r_row_ohm, r_col_ohm,
                                                   r_driver_ohm, r_sense_ohm)
    m, n = g_us.shape
    v_in_v = np.atleast_2d(v_in_v)
    rhs = np.zeros((2 * m * n, v_in_v.shape[0]))
    rhs[idx[:, 0], :] = g_drv_us * v_in_v.T
    x = linalg.spsolve(mat, rhs).reshape(2 * m * n, -1)
    v_row_v = x[: m * n].T.reshape(-1, m, n)
    v_col_v = x[m * n:].T.reshape(-1, m, n)
    i_col_ua = g_sense_us * v_col_v[:, m - 1, :]
    i_drv_ua = g_drv_us * (v_in_v - v_row_v[:, :, 0])
    p_source_uw = np.sum(v_in_v * i_drv_ua, axis=1)
    p_cells_uw = np.sum(g_eff_us * (v_row_v - v_col_v) ** 2, axis=(1, 2))
    return i_col_ua, p_source_uw, p_cells_uw


def _random_case(rng, m, n, batch=3):
    g_us = rng.uniform(1.0, 100.0, (m, n))
    v_in_v = rng.uniform(0.0, 0.3, (batch, m))
    return g_us, v_in_v


@pytest.mark.parametrize("m,n", [(1, 1), (1, 9), (9, 1), (2, 2), (5, 12), (17, 9), (32, 32),
                                 (64, 64)])
@pytest.mark.parametrize("r_access_ohm", [0.0, 1000.0])
def test_matches_spsolve(m, n, r_access_ohm):
    rng = np.random.default_rng(1000 * m + n + int(r_access_ohm))
    g_us, v_in_v = _random_case(rng, m, n)
    r_row_ohm, r_col_ohm = rng.uniform(0.1, 3.0, 2)
    r_driver_ohm, r_sense_ohm = 5.0, 20.0
    solver = IrDropSolver(g_us, r_row_ohm, r_col_ohm, r_driver_ohm, r_sense_ohm, r_access_ohm)
    i_col_ua, p_source_uw, p_cells_uw, iterations = solver.solve(v_in_v)
    ref_i, ref_ps, ref_pc = _spsolve_currents(g_us, r_row_ohm, r_col_ohm, r_driver_ohm,
                                              r_sense_ohm, r_access_ohm, v_in_v)
    assert i_col_ua.shape == (3, n) and iterations.shape == (3,)
    np.testing.assert_allclose(i_col_ua, ref_i, rtol=1e-6, atol=0)
    np.testing.assert_allclose(p_source_uw, ref_ps, rtol=1e-6, atol=0)
    np.testing.assert_allclose(p_cells_uw, ref_pc, rtol=1e-6, atol=0)


@pytest.mark.parametrize("r_seg_ohm", [0.1, 3.0])
def test_matches_spsolve_256(r_seg_ohm):
    rng = np.random.default_rng(256)
    g_us, v_in_v = _random_case(rng, 256, 256, batch=2)
    solver = IrDropSolver(g_us, r_seg_ohm, r_seg_ohm, r_seg_ohm, r_seg_ohm, 0.0)
    i_col_ua, p_source_uw, p_cells_uw, iterations = solver.solve(v_in_v)
    ref_i, ref_ps, ref_pc = _spsolve_currents(g_us, r_seg_ohm, r_seg_ohm, r_seg_ohm, r_seg_ohm,
                                              0.0, v_in_v)
    np.testing.assert_allclose(i_col_ua, ref_i, rtol=1e-6, atol=0)
    np.testing.assert_allclose(p_source_uw, ref_ps, rtol=1e-6, atol=0)
    np.testing.assert_allclose(p_cells_uw, ref_pc, rtol=1e-6, atol=0)
    assert np.all(iterations <= 25)
    # The IR drop is substantial here, so the comparison is meaningful.
    assert np.all(i_col_ua < 0.95 * ideal_column_currents_ua(v_in_v, g_us))


@pytest.mark.parametrize("shape", [(1, 1), (1, 4), (4, 1), (3, 5)])
def test_all_zero_resistances_reference_combinations(shape):
    """Every combination of 0-Ω / finite elements equals the dense MNA reference (rtol 1e-9)."""
    rng = np.random.default_rng(7)
    m, n = shape
    g_us = rng.uniform(1.0, 100.0, (m, n))
    v_in_v = rng.uniform(-0.2, 0.4, (2, m))
    for r_row, r_col, r_drv, r_sense, r_acc in itertools.product(
            [0.0, 2.0], [0.0, 1.5], [0.0, 50.0], [0.0, 30.0], [0.0, 1000.0]):
        solver = IrDropSolver(g_us, r_row, r_col, r_drv, r_sense, r_acc, rtol=1e-13)
        i_col_ua, p_source_uw, p_cells_uw, _ = solver.solve(v_in_v)
        ref_i, ref_ps, ref_pc = ir_drop_ref_batch(g_us, r_row, r_col, r_drv, r_sense, r_acc,
                                                  v_in_v)
        scale = np.max(np.abs(ref_i))
        np.testing.assert_allclose(i_col_ua, ref_i, rtol=0, atol=1e-9 * scale)
        np.testing.assert_allclose(p_source_uw, ref_ps, rtol=1e-9)
        np.testing.assert_allclose(p_cells_uw, ref_pc, rtol=1e-9)


def test_zero_resistance_is_exactly_ideal():
    rng = np.random.default_rng(3)
    g_us, v_in_v = _random_case(rng, 12, 7, batch=4)
    for r_access_ohm in (0.0, 1000.0):
        solver = IrDropSolver(g_us, 0.0, 0.0, 0.0, 0.0, r_access_ohm)
        i_col_ua, p_source_uw, p_cells_uw, iterations = solver.solve(v_in_v)
        g_eff_us = series_conductance_us(g_us, r_access_ohm)
        assert np.array_equal(i_col_ua, v_in_v @ g_eff_us)
        assert np.array_equal(i_col_ua, ideal_column_currents_ua(v_in_v, g_eff_us))
        np.testing.assert_allclose(i_col_ua, ideal_currents_ref_ua(v_in_v, g_eff_us), rtol=1e-14)
        np.testing.assert_allclose(p_source_uw, p_cells_uw, rtol=1e-14)
        assert np.all(iterations == 0)


def test_tiny_resistance_approaches_ideal():
    rng = np.random.default_rng(4)
    g_us, v_in_v = _random_case(rng, 16, 16)
    solver = IrDropSolver(g_us, 1e-6, 1e-6, 1e-6, 1e-6, 0.0, rtol=1e-12)
    i_col_ua, _, _, _ = solver.solve(v_in_v)
    np.testing.assert_allclose(i_col_ua, v_in_v @ g_us, rtol=1e-6)


def test_larger_wire_resistance_gives_smaller_currents():
    rng = np.random.default_rng(5)
    g_us, v_in_v = _random_case(rng, 24, 20)
    previous = None
    for r_seg_ohm in (0.0, 0.1, 0.3, 1.0, 3.0, 10.0):
        solver = IrDropSolver(g_us, r_seg_ohm, r_seg_ohm, 2.0, 2.0, 500.0)
        i_col_ua, p_source_uw, p_cells_uw, _ = solver.solve(v_in_v)
        assert np.all(i_col_ua > 0.0)
        if previous is not None:
            assert np.all(i_col_ua < previous[0])
            assert np.all(p_source_uw < previous[1])
        previous = (i_col_ua, p_source_uw)


@pytest.mark.parametrize("resistances", [(1.0, 2.0, 5.0, 10.0, 300.0), (0.0, 2.0, 5.0, 0.0, 0.0),
                                         (1.0, 0.0, 0.0, 10.0, 300.0)])
def test_power_balance(resistances):
    """Source power = cell power + wire/driver/sense power; kernel powers equal the reference."""
    r_row, r_col, r_drv, r_sense, r_acc = resistances
    rng = np.random.default_rng(6)
    g_us, v_in_v = _random_case(rng, 10, 14, batch=2)
    solver = IrDropSolver(g_us, r_row, r_col, r_drv, r_sense, r_acc, rtol=1e-12)
    _, p_source_uw, p_cells_uw, _ = solver.solve(v_in_v)
    for k in range(2):
        ref = ir_drop_ref(g_us, r_row, r_col, r_drv, r_sense, r_acc, v_in_v[k])
        np.testing.assert_allclose(ref["p_source_uw"], ref["p_cells_uw"] + ref["p_wire_uw"],
                                   rtol=1e-10)
        np.testing.assert_allclose(p_cells_uw[k], ref["p_cells_uw"], rtol=1e-9)
        np.testing.assert_allclose(p_source_uw[k] - p_cells_uw[k], ref["p_wire_uw"], rtol=1e-6)
        assert p_source_uw[k] > p_cells_uw[k] > 0.0


def test_single_vector_and_batch_agree():
    rng = np.random.default_rng(8)
    g_us, v_in_v = _random_case(rng, 20, 11, batch=3)
    solver = IrDropSolver(g_us, 1.0, 1.0, 1.0, 1.0, 0.0)
    i_b, ps_b, pc_b, it_b = solver.solve(v_in_v)
    i_1, ps_1, pc_1, it_1 = solver.solve(v_in_v[1])
    assert i_1.shape == (11,) and np.ndim(ps_1) == 0
    assert np.array_equal(i_1, i_b[1]) and ps_1 == ps_b[1] and pc_1 == pc_b[1]
    assert it_1 == it_b[1]
    empty = solver.solve(np.zeros((0, 20)))
    assert empty[0].shape == (0, 11)


def test_zero_input_and_zero_conductance():
    rng = np.random.default_rng(9)
    g_us, v_in_v = _random_case(rng, 6, 5)
    solver = IrDropSolver(g_us, 1.0, 1.0, 1.0, 1.0, 0.0)
    i_col_ua, p_source_uw, _, iterations = solver.solve(np.zeros(6))
    assert np.all(i_col_ua == 0.0) and p_source_uw == 0.0 and iterations == 0
    solver = IrDropSolver(np.zeros((6, 5)), 1.0, 1.0, 1.0, 1.0, 0.0)
    i_col_ua, p_source_uw, _, _ = solver.solve(v_in_v)
    assert np.all(i_col_ua == 0.0) and np.all(p_source_uw == 0.0)


def test_effective_conductance_is_exact_transfer():
    rng = np.random.default_rng(10)
    g_us, v_in_v = _random_case(rng, 9, 13)
    solver = IrDropSolver(g_us, 1.0, 2.0, 3.0, 4.0, 100.0, rtol=1e-12)
    g_ir_us = solver.effective_conductance_us()
    assert g_ir_us.shape == (9, 13)
    np.testing.assert_allclose(v_in_v @ g_ir_us, solver.solve(v_in_v)[0], rtol=1e-9)
    assert np.all(g_ir_us < g_us)


def test_series_conductance():
    rng = np.random.default_rng(11)
    g_us = rng.uniform(0.0, 100.0, (4, 5))
    g_us[0, 0] = 0.0
    assert np.array_equal(series_conductance_us(g_us, 0.0), g_us)
    np.testing.assert_allclose(series_conductance_us(g_us, 1000.0),
                               series_conductance_ref_us(g_us, 1000.0), rtol=1e-14)
    # 100 µS (10 kΩ) in series with 10 kΩ -> 50 µS.
    assert series_conductance_us(np.array([100.0]), 1e4)[0] == pytest.approx(50.0, rel=1e-14)
    with pytest.raises(ValueError):
        series_conductance_us(g_us, -1.0)


def test_invalid_inputs_and_non_convergence():
    g_us = np.full((8, 8), 50.0)
    with pytest.raises(ValueError):
        IrDropSolver(g_us, -1.0, 1.0, 1.0, 1.0)
    with pytest.raises(ValueError):
        IrDropSolver(-g_us, 1.0, 1.0, 1.0, 1.0)
    with pytest.raises(ValueError):
        IrDropSolver(g_us[0], 1.0, 1.0, 1.0, 1.0)
    solver = IrDropSolver(g_us, 1.0, 1.0, 1.0, 1.0)
    with pytest.raises(ValueError):
        solver.solve(np.ones(7))
    solver = IrDropSolver(g_us, 3.0, 3.0, 1.0, 1.0, rtol=1e-14, max_iter=1)
    with pytest.raises(ValueError, match="did not converge.*residual"):
        solver.solve(np.ones(8))


_THREADS_SCRIPT = """
import sys
import numpy as np
from twin.physics.crossbar import IrDropSolver
rng = np.random.default_rng(12)
g_us = rng.uniform(1.0, 100.0, (40, 30))
v_in_v = rng.uniform(0.0, 0.3, (7, 40))
out = IrDropSolver(g_us, 1.0, 2.0, 1.0, 1.0, 1000.0).solve(v_in_v)
sys.stdout.write(b"".join(np.ascontiguousarray(a).tobytes() for a in out).hex())
"""


def test_bit_identical_across_thread_counts():
    # Compile (and fill the on-disk cache) in this process first, so the children load it.
    rng = np.random.default_rng(12)
    IrDropSolver(rng.uniform(1.0, 100.0, (3, 3)), 1.0, 2.0, 1.0, 1.0, 1000.0).solve(np.ones((2, 3)))
    outputs = []
    for threads in ("1", "2"):
        env = dict(os.environ, NUMBA_NUM_THREADS=threads)
        env["PYTHONPATH"] = os.pathsep.join(
            [str(REPO_ROOT)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
        result = subprocess.run([sys.executable, "-c", _THREADS_SCRIPT], env=env,
                                capture_output=True, text=True, timeout=300, check=True)
        outputs.append(result.stdout)
    assert outputs[0] and outputs[0] == outputs[1]
