"""Crossbar column currents, ideal and with IR drop (wire, driver, sense and access resistance).

Units: conductance µS, voltage V, current µA, power µW, resistance Ω (1 Ω ↔ 1e6 µS).
Index order is (rows, cols); row lines carry the inputs, column lines are sensed.

Circuit and algorithm: see ``docs/physics/crossbar.md``. In short, the 2·m·n nodal equations
(Kirchhoff current law at every row and column node) are solved by preconditioned conjugate
gradients (PCG); the preconditioner is block Jacobi with one tridiagonal block per row line and
per column line, factored once per array state (Thomas algorithm). A resistance of exactly 0 Ω is
treated exactly, by eliminating nodes: an ideal driver (sense) makes the end node a known voltage
v_i (0 V), an ideal row (column) wire merges the whole line into one node.

All numba kernels are ``cache=True``, never ``fastmath``, sum in a fixed order and parallelize
only over independent input vectors, so results are bit-identical for any NUMBA_NUM_THREADS.
"""

import math

import numba
import numpy as np

#: 1 Ω expressed in MΩ, i.e. the factor turning Ω into 1/µS.
_MOHM_PER_OHM = 1e-6

# Status codes written by the batch kernel.
_CONVERGED = 0
_NOT_CONVERGED = 1


def series_conductance_us(g_us, r_access_ohm):
    """Conductance of a memristor g_us in series with an access resistance r_access_ohm.

    g_us: array (any shape) in µS, >= 0; r_access_ohm: scalar in Ω, >= 0.
    Returns 1 / (1/g + r_access) in µS (same shape); exactly g_us when r_access_ohm == 0,
    exactly 0 where g_us == 0.
    """
    g_us = np.asarray(g_us, dtype=np.float64)
    if r_access_ohm < 0.0 or not math.isfinite(r_access_ohm):
        raise ValueError(f"r_access_ohm must be finite and >= 0, got {r_access_ohm!r}")
    if r_access_ohm == 0.0:
        return g_us.copy()
    return g_us / (1.0 + g_us * (r_access_ohm * _MOHM_PER_OHM))


def ideal_column_currents_ua(v_in_v, g_eff_us):
    """Column currents without any wire resistance: i_col_ua = v_in_v @ g_eff_us.

    v_in_v: (m,) or (batch, m) in V; g_eff_us: (m, n) in µS (cell + access in series).
    Returns (n,) or (batch, n) in µA.
    """
    return np.asarray(v_in_v, dtype=np.float64) @ np.asarray(g_eff_us, dtype=np.float64)


# ----------------------------------------------------------------------------------------------
# numba kernels
#
# Unknown layout: row-node voltages xr (m, n), column-node voltages xc (m, n). Row line i has
# active (unknown) nodes j in [rlo, rhi); column line j has active nodes i in [clo, chi). Inactive
# entries of every PCG vector stay exactly 0, so couplings to them vanish. With a merged row line
# (r_row == 0) the line is its node j = 0 and cell (i, j) attaches there; with a merged column
# line (r_col == 0) the line is its node i = m - 1.
# ----------------------------------------------------------------------------------------------


#: Rows per tile in the row-line tridiagonal solves: the row lines are solved _ROW_TILE at a
#: time, transposed into a small (n, _ROW_TILE) buffer so that the recurrences run in SIMD lanes.
_ROW_TILE = 8


@numba.njit(cache=True)
def _active_ranges(m, n, row_merged, row_ideal, col_merged, col_ideal):
    """Active node ranges (rlo, rhi, clo, chi) of the row and column lines."""
    if row_merged:
        rlo, rhi = 0, (0 if row_ideal else 1)
    else:
        rlo, rhi = (1 if row_ideal else 0), n
    if col_merged:
        clo, chi = m - 1, (m - 1 if col_ideal else m)
    else:
        clo, chi = 0, (m - 1 if col_ideal else m)
    return rlo, rhi, clo, chi


@numba.njit(cache=True)
def factor_lines(g_eff_us, g_row_us, g_col_us, g_drv_us, g_sense_us,
                 row_merged, row_ideal, col_merged, col_ideal,
                 d_row_us, d_col_us, inv_row_t, f_row_t, inv_col, f_col):
    """Nodal diagonals and Thomas factors of the row- and column-line blocks.

    g_eff_us (m, n) branch conductances; g_row_us, g_col_us, g_drv_us, g_sense_us: scalar
    wire/driver/sense conductances in µS (ignored where the matching flag says 0 Ω).
    Writes, zero outside the active nodes: d_row_us, d_col_us (m, n) nodal diagonals in µS;
    inv_col (m, n) reciprocal pivots in 1/µS and f_col (m, n) elimination multipliers of the
    column lines; inv_row_t, f_row_t the same for the row lines in tiled layout
    (ceil(m / _ROW_TILE), n, _ROW_TILE), row i at [i // _ROW_TILE, :, i % _ROW_TILE].
    """
    m, n = g_eff_us.shape
    rlo, rhi, clo, chi = _active_ranges(m, n, row_merged, row_ideal, col_merged, col_ideal)
    d_row_us[:, :] = 0.0
    d_col_us[:, :] = 0.0
    inv_row_t[:, :, :] = 0.0
    f_row_t[:, :, :] = 0.0
    inv_col[:, :] = 0.0
    f_col[:, :] = 0.0
    # Row diagonals.
    for i in range(m):
        if row_merged:
            if rhi > rlo:
                s = g_drv_us
                for j in range(n):
                    s += g_eff_us[i, j]
                d_row_us[i, 0] = s
        else:
            for j in range(rlo, rhi):
                s = g_eff_us[i, j]
                if j > 0:
                    s += g_row_us
                if j < n - 1:
                    s += g_row_us
                if j == 0:
                    s += g_drv_us
                d_row_us[i, j] = s
    # Column diagonals.
    if col_merged:
        if chi > clo:
            for j in range(n):
                d_col_us[m - 1, j] = g_sense_us
            for i in range(m):
                for j in range(n):
                    d_col_us[m - 1, j] += g_eff_us[i, j]
    else:
        for i in range(clo, chi):
            for j in range(n):
                s = g_eff_us[i, j]
                if i > 0:
                    s += g_col_us
                if i < m - 1:
                    s += g_col_us
                if i == m - 1:
                    s += g_sense_us
                d_col_us[i, j] = s
    # Thomas factors, row lines (off-diagonal -g_row_us), tiled layout.
    g2 = g_row_us * g_row_us
    for i in range(m):
        t = i // _ROW_TILE
        b = i % _ROW_TILE
        for j in range(rlo, rhi):
            u = d_row_us[i, j]
            if j > rlo:
                u -= g2 * inv_row_t[t, j - 1, b]
                f_row_t[t, j, b] = g_row_us * inv_row_t[t, j - 1, b]
            inv_row_t[t, j, b] = 1.0 / u
    # Thomas factors, column lines (off-diagonal -g_col_us), all columns side by side.
    g2 = g_col_us * g_col_us
    for i in range(clo, chi):
        for j in range(n):
            u = d_col_us[i, j]
            if i > clo:
                u -= g2 * inv_col[i - 1, j]
                f_col[i, j] = g_col_us * inv_col[i - 1, j]
            inv_col[i, j] = 1.0 / u


@numba.njit(cache=True)
def _matvec_dot(g_eff_us, d_row_us, d_col_us, g_row_us, g_col_us, row_merged, col_merged,
                rlo, rhi, clo, chi, xr, xc, yr, yc, acc):
    """(yr, yc) = A (xr, xc) on the active nodes (stencil form of the nodal matrix, µA).

    Returns the dot product x·y (summed in a fixed order; acc (n,) is scratch).
    """
    m, n = g_eff_us.shape
    acc[:] = 0.0
    for i in range(m):
        ic = m - 1 if col_merged else i
        if row_merged:
            if rhi > rlo:
                s = d_row_us[i, 0] * xr[i, 0]
                for j in range(n):
                    s -= g_eff_us[i, j] * xc[ic, j]
                yr[i, 0] = s
                acc[0] += xr[i, 0] * s
        elif n == 1:
            if rhi > rlo:
                yr[i, 0] = d_row_us[i, 0] * xr[i, 0] - g_eff_us[i, 0] * xc[ic, 0]
                acc[0] += xr[i, 0] * yr[i, 0]
        else:
            # Whole line with constant loop bounds (vectorizes); an inactive node 0 (ideal
            # driver) holds x = 0 and gets y = 0 below.
            yr[i, 0] = (d_row_us[i, 0] * xr[i, 0] - g_eff_us[i, 0] * xc[ic, 0]
                        - g_row_us * xr[i, 1])
            for j in range(1, n - 1):
                yr[i, j] = (d_row_us[i, j] * xr[i, j] - g_eff_us[i, j] * xc[ic, j]
                            - g_row_us * xr[i, j - 1] - g_row_us * xr[i, j + 1])
            yr[i, n - 1] = (d_row_us[i, n - 1] * xr[i, n - 1] - g_eff_us[i, n - 1] * xc[ic, n - 1]
                            - g_row_us * xr[i, n - 2])
            if rlo > 0:
                yr[i, 0] = 0.0
            for j in range(n):
                acc[j] += xr[i, j] * yr[i, j]
    if col_merged:
        if chi > clo:
            for j in range(n):
                yc[m - 1, j] = d_col_us[m - 1, j] * xc[m - 1, j]
            for i in range(m):
                if row_merged:
                    for j in range(n):
                        yc[m - 1, j] -= g_eff_us[i, j] * xr[i, 0]
                else:
                    for j in range(n):
                        yc[m - 1, j] -= g_eff_us[i, j] * xr[i, j]
            for j in range(n):
                acc[j] += xc[m - 1, j] * yc[m - 1, j]
    else:
        for i in range(clo, chi):
            if row_merged:
                for j in range(n):
                    yc[i, j] = d_col_us[i, j] * xc[i, j] - g_eff_us[i, j] * xr[i, 0]
            else:
                for j in range(n):
                    yc[i, j] = d_col_us[i, j] * xc[i, j] - g_eff_us[i, j] * xr[i, j]
            if i > 0:
                for j in range(n):
                    yc[i, j] -= g_col_us * xc[i - 1, j]
            if i < m - 1:
                for j in range(n):
                    yc[i, j] -= g_col_us * xc[i + 1, j]
            for j in range(n):
                acc[j] += xc[i, j] * yc[i, j]
    s = 0.0
    for j in range(n):
        s += acc[j]
    return s


@numba.njit(cache=True)
def _precondition_dot(inv_row_t, f_row_t, inv_col, f_col, g_row_us, g_col_us,
                      rlo, rhi, clo, chi, rr, rc, zr, zc, acc, tile):
    """(zr, zc) = M^-1 (rr, rc): one tridiagonal solve per row line and per column line.

    Returns the dot product r·z (fixed order). acc (n,) and tile (n, _ROW_TILE) are scratch.
    """
    m, n = rr.shape
    acc[:] = 0.0
    if rhi > rlo:
        for t in range(inv_row_t.shape[0]):
            i0 = t * _ROW_TILE
            nb = min(_ROW_TILE, m - i0)
            tile[:, :] = 0.0
            for b in range(nb):
                for j in range(n):
                    tile[j, b] = rr[i0 + b, j]
            for j in range(rlo + 1, rhi):
                for b in range(_ROW_TILE):
                    tile[j, b] += f_row_t[t, j, b] * tile[j - 1, b]
            for b in range(_ROW_TILE):
                tile[rhi - 1, b] *= inv_row_t[t, rhi - 1, b]
            for j in range(rhi - 2, rlo - 1, -1):
                for b in range(_ROW_TILE):
                    tile[j, b] = inv_row_t[t, j, b] * (tile[j, b] + g_row_us * tile[j + 1, b])
            # Inactive entries of rr are 0, so the tile (and zr) is 0 there too.
            for b in range(nb):
                for j in range(n):
                    zr[i0 + b, j] = tile[j, b]
                for j in range(n):
                    acc[j] += rr[i0 + b, j] * zr[i0 + b, j]
    for i in range(clo, chi):
        if i > clo:
            for j in range(n):
                zc[i, j] = rc[i, j] + f_col[i, j] * zc[i - 1, j]
        else:
            for j in range(n):
                zc[i, j] = rc[i, j]
    for i in range(chi - 1, clo - 1, -1):
        if i < chi - 1:
            for j in range(n):
                zc[i, j] = inv_col[i, j] * (zc[i, j] + g_col_us * zc[i + 1, j])
        else:
            for j in range(n):
                zc[i, j] = inv_col[i, j] * zc[i, j]
        for j in range(n):
            acc[j] += rc[i, j] * zc[i, j]
    s = 0.0
    for j in range(n):
        s += acc[j]
    return s


@numba.njit(cache=True)
def _norm1(ar, ac, acc):
    """Fixed-order L1 norm of a (row, column) node vector; acc (n,) is scratch."""
    m, n = ar.shape
    acc[:] = 0.0
    for i in range(m):
        for j in range(n):
            acc[j] += abs(ar[i, j])
        for j in range(n):
            acc[j] += abs(ac[i, j])
    s = 0.0
    for j in range(n):
        s += acc[j]
    return s


@numba.njit(cache=True)
def _residual_floor(d_row_us, d_col_us, xr, xc, acc):
    """Rounding floor of ||b - A x||_1 in µA: 4 eps sum_k d_k |x_k| (A is diagonally dominant)."""
    m, n = xr.shape
    acc[:] = 0.0
    for i in range(m):
        for j in range(n):
            acc[j] += d_row_us[i, j] * abs(xr[i, j])
        for j in range(n):
            acc[j] += d_col_us[i, j] * abs(xc[i, j])
    s = 0.0
    for j in range(n):
        s += acc[j]
    return 4.0 * 2.220446049250313e-16 * s


@numba.njit(cache=True)
def _rhs(g_eff_us, g_row_us, g_drv_us, row_merged, row_ideal, col_merged, rlo, rhi, clo, chi,
         v_in_v, br, bc):
    """Right-hand side in µA: source terms, incl. known (ideal-driver) row voltages moved over.

    br, bc must be zero on entry.
    """
    m, n = g_eff_us.shape
    for i in range(m):
        v = v_in_v[i]
        if not row_ideal:
            br[i, 0] = g_drv_us * v
        elif not row_merged:
            if n > 1:
                br[i, 1] = g_row_us * v
            ic = m - 1 if col_merged else i
            if clo <= ic < chi:
                bc[ic, 0] += g_eff_us[i, 0] * v
        else:
            ic = m - 1 if col_merged else i
            if clo <= ic < chi:
                for j in range(n):
                    bc[ic, j] += g_eff_us[i, j] * v


@numba.njit(cache=True)
def _outputs(g_eff_us, row_merged, row_ideal, col_merged, col_ideal, v_in_v, xr, xc,
             i_col_ua, p_source_uw, p_cells_uw):
    """Column currents (µA), source and cell power (µW) from the solved node voltages.

    Uses Kirchhoff's law on whole lines: a column line's sense current is the sum of its cell
    currents, a row line's driver current is the sum of its cell currents.
    """
    m, n = g_eff_us.shape
    for j in range(n):
        i_col_ua[j] = 0.0
    p_src = 0.0
    p_cell = 0.0
    for i in range(m):
        v = v_in_v[i]
        ic = m - 1 if col_merged else i
        i_row = 0.0
        for j in range(n):
            # Row-node voltage.
            if row_merged:
                vr = v if row_ideal else xr[i, 0]
            elif row_ideal and j == 0:
                vr = v
            else:
                vr = xr[i, j]
            # Column-node voltage.
            if col_ideal and (col_merged or i == m - 1):
                vc = 0.0
            else:
                vc = xc[ic, j]
            dv = vr - vc
            i_cell = g_eff_us[i, j] * dv
            i_col_ua[j] += i_cell
            i_row += i_cell
            p_cell += i_cell * dv
        p_src += v * i_row
    p_source_uw[0] = p_src
    p_cells_uw[0] = p_cell


@numba.njit(cache=True)
def _pcg_one(g_eff_us, d_row_us, d_col_us, inv_row_t, f_row_t, inv_col, f_col,
             g_row_us, g_col_us, g_drv_us, row_merged, row_ideal, col_merged, col_ideal,
             v_in_v, rtol, max_iter, i_col_ua, p_source_uw, p_cells_uw, work, acc, tile):
    """PCG solve for one input vector v_in_v (m,) in V. Returns (iterations, status, ratio).

    Converged when ||b - A x||_1 <= rtol * sum_ij |v_i| g_eff_ij, checked on the true residual,
    or when that residual is within its rounding floor (see :func:`_residual_floor`);
    ratio is the final ||r||_1 / scale. Writes i_col_ua (n,), p_source_uw (1,), p_cells_uw (1,).
    Scratch: work (10, m, n), acc (n,), tile (n, _ROW_TILE).
    """
    m, n = g_eff_us.shape
    rlo, rhi, clo, chi = _active_ranges(m, n, row_merged, row_ideal, col_merged, col_ideal)
    # Work vectors (reused across the vectors of one thread; zeroed here, so every vector's
    # arithmetic is the same whatever ran before it).
    work[:, :, :] = 0.0
    xr, xc, rr, rc, zr, zc, pr, pc, qr, qc = (work[0], work[1], work[2], work[3], work[4],
                                              work[5], work[6], work[7], work[8], work[9])
    scale = 0.0
    for i in range(m):
        a = abs(v_in_v[i])
        for j in range(n):
            scale += a * g_eff_us[i, j]
    if scale == 0.0 or (rhi == rlo and chi == clo):
        # No source current possible, or no unknown node: outputs follow directly.
        _outputs(g_eff_us, row_merged, row_ideal, col_merged, col_ideal, v_in_v, xr, xc,
                 i_col_ua, p_source_uw, p_cells_uw)
        return 0, _CONVERGED, 0.0
    _rhs(g_eff_us, g_row_us, g_drv_us, row_merged, row_ideal, col_merged, rlo, rhi, clo, chi,
         v_in_v, rr, rc)
    tol = rtol * scale
    it = 0
    status = _NOT_CONVERGED
    res = _norm1(rr, rc, acc)
    restart = True
    rz = 0.0
    while True:
        if res <= tol:
            # Confirm on the true residual b - A x (the recursive one drifts by rounding).
            _matvec_dot(g_eff_us, d_row_us, d_col_us, g_row_us, g_col_us, row_merged,
                        col_merged, rlo, rhi, clo, chi, xr, xc, qr, qc, acc)
            rr[:, :] = 0.0
            rc[:, :] = 0.0
            _rhs(g_eff_us, g_row_us, g_drv_us, row_merged, row_ideal, col_merged,
                 rlo, rhi, clo, chi, v_in_v, rr, rc)
            for i in range(m):
                for j in range(n):
                    rr[i, j] -= qr[i, j]
                for j in range(n):
                    rc[i, j] -= qc[i, j]
            res = _norm1(rr, rc, acc)
            if res <= max(tol, _residual_floor(d_row_us, d_col_us, xr, xc, acc)):
                status = _CONVERGED
                break
            restart = True
        if it >= max_iter:
            break
        rz_new = _precondition_dot(inv_row_t, f_row_t, inv_col, f_col, g_row_us, g_col_us,
                                   rlo, rhi, clo, chi, rr, rc, zr, zc, acc, tile)
        beta = 0.0 if restart else rz_new / rz
        restart = False
        for i in range(m):
            for j in range(n):
                pr[i, j] = zr[i, j] + beta * pr[i, j]
            for j in range(n):
                pc[i, j] = zc[i, j] + beta * pc[i, j]
        rz = rz_new
        pq = _matvec_dot(g_eff_us, d_row_us, d_col_us, g_row_us, g_col_us, row_merged,
                         col_merged, rlo, rhi, clo, chi, pr, pc, qr, qc, acc)
        if not pq > 0.0:
            break
        alpha = rz / pq
        acc[:] = 0.0
        for i in range(m):
            for j in range(n):
                xr[i, j] += alpha * pr[i, j]
            for j in range(n):
                xc[i, j] += alpha * pc[i, j]
            for j in range(n):
                rr[i, j] -= alpha * qr[i, j]
                acc[j] += abs(rr[i, j])
            for j in range(n):
                rc[i, j] -= alpha * qc[i, j]
                acc[j] += abs(rc[i, j])
        res = 0.0
        for j in range(n):
            res += acc[j]
        it += 1
    _outputs(g_eff_us, row_merged, row_ideal, col_merged, col_ideal, v_in_v, xr, xc,
             i_col_ua, p_source_uw, p_cells_uw)
    return it, status, res / scale


@numba.njit(cache=True, parallel=True)
def ir_drop_solve_batch(g_eff_us, d_row_us, d_col_us, inv_row_t, f_row_t, inv_col, f_col,
                        g_row_us, g_col_us, g_drv_us, row_merged, row_ideal, col_merged,
                        col_ideal, v_in_v, rtol, max_iter, n_chunks,
                        i_col_ua, p_source_uw, p_cells_uw, iterations, status, residual_ratio):
    """Batched PCG IR-drop solve, one independent solve per input vector (parallel over batch).

    Inputs: the array state (g_eff_us (m, n) µS and the outputs of :func:`factor_lines`),
    scalar conductances in µS, 0-Ω flags, v_in_v (batch, m) in V, rtol, max_iter, n_chunks
    (>= 1; vectors are split into this many contiguous chunks, one per parallel task; usually
    numba.get_num_threads(); results do not depend on it).
    Writes: i_col_ua (batch, n) µA, p_source_uw (batch,) µW, p_cells_uw (batch,) µW,
    iterations (batch,) int64, status (batch,) int64 (0 converged), residual_ratio (batch,).
    """
    batch = v_in_v.shape[0]
    m, n = g_eff_us.shape
    # Contiguous chunks of vectors, one per thread, so that scratch is allocated once per chunk;
    # each vector's result is independent of the chunking (hence of the thread count).
    n_chunks = max(1, min(batch, n_chunks))
    for c in numba.prange(n_chunks):
        k0 = (c * batch) // n_chunks
        k1 = ((c + 1) * batch) // n_chunks
        work = np.empty((10, m, n))
        acc = np.empty(n)
        tile = np.empty((n, _ROW_TILE))
        for k in range(k0, k1):
            it, st, ratio = _pcg_one(g_eff_us, d_row_us, d_col_us, inv_row_t, f_row_t, inv_col,
                                     f_col, g_row_us, g_col_us, g_drv_us, row_merged, row_ideal,
                                     col_merged, col_ideal, v_in_v[k], rtol, max_iter,
                                     i_col_ua[k], p_source_uw[k:k + 1], p_cells_uw[k:k + 1],
                                     work, acc, tile)
            iterations[k] = it
            status[k] = st
            residual_ratio[k] = ratio


# ----------------------------------------------------------------------------------------------
# Python wrapper
# ----------------------------------------------------------------------------------------------


def _check_resistance(name, r_ohm):
    r_ohm = float(r_ohm)
    if not (r_ohm >= 0.0) or not math.isfinite(r_ohm):
        raise ValueError(f"{name} must be finite and >= 0, got {r_ohm!r}")
    return r_ohm


def _conductance_us(r_ohm):
    """1/r in µS for r in Ω; 0 (unused) for an ideal 0-Ω element."""
    return 0.0 if r_ohm == 0.0 else 1.0 / (r_ohm * _MOHM_PER_OHM)


class IrDropSolver:
    """Column currents of an m×n 1T1R crossbar with IR drop, for a fixed array state.

    g_us (m, n): memristor conductances in µS (>= 0). Resistances in Ω (>= 0, 0 = ideal):
    r_row_ohm per row-wire segment, r_col_ohm per column-wire segment, r_driver_ohm per row
    driver (at column 0), r_sense_ohm per column sense (at row m-1, into 0 V), r_access_ohm
    per cell (in series with the memristor). rtol: convergence tolerance, the L1 norm of the
    nodal current residual relative to sum_ij |v_i| g_eff_ij (it bounds the summed absolute
    column-current error, see docs/physics/crossbar.md). max_iter: PCG iteration limit.

    Everything that depends only on the array state (branch conductances, Thomas factors of the
    row/column line blocks) is computed once here; :meth:`solve` then costs only the iterations.
    """

    def __init__(self, g_us, r_row_ohm, r_col_ohm, r_driver_ohm, r_sense_ohm,
                 r_access_ohm=0.0, rtol=1e-8, max_iter=500):
        g_us = np.ascontiguousarray(g_us, dtype=np.float64)
        if g_us.ndim != 2 or g_us.shape[0] < 1 or g_us.shape[1] < 1:
            raise ValueError(f"g_us must be a non-empty (m, n) array, got shape {g_us.shape}")
        if not np.all(np.isfinite(g_us)) or np.any(g_us < 0.0):
            raise ValueError("g_us must be finite and >= 0")
        if not rtol > 0.0:
            raise ValueError(f"rtol must be > 0, got {rtol!r}")
        if int(max_iter) < 1:
            raise ValueError(f"max_iter must be >= 1, got {max_iter!r}")
        self.r_row_ohm = _check_resistance("r_row_ohm", r_row_ohm)
        self.r_col_ohm = _check_resistance("r_col_ohm", r_col_ohm)
        self.r_driver_ohm = _check_resistance("r_driver_ohm", r_driver_ohm)
        self.r_sense_ohm = _check_resistance("r_sense_ohm", r_sense_ohm)
        self.r_access_ohm = _check_resistance("r_access_ohm", r_access_ohm)
        self.rtol = float(rtol)
        self.max_iter = int(max_iter)
        self.g_eff_us = np.ascontiguousarray(series_conductance_us(g_us, self.r_access_ohm))
        self.shape = g_us.shape
        self._g_row_us = _conductance_us(self.r_row_ohm)
        self._g_col_us = _conductance_us(self.r_col_ohm)
        self._g_drv_us = _conductance_us(self.r_driver_ohm)
        self._g_sense_us = _conductance_us(self.r_sense_ohm)
        self._row_merged = self.r_row_ohm == 0.0
        self._row_ideal = self.r_driver_ohm == 0.0
        self._col_merged = self.r_col_ohm == 0.0
        self._col_ideal = self.r_sense_ohm == 0.0
        m, n = self.shape
        self._d_row_us = np.empty((m, n))
        self._d_col_us = np.empty((m, n))
        n_tiles = -(-m // _ROW_TILE)
        self._inv_row = np.empty((n_tiles, n, _ROW_TILE))
        self._f_row = np.empty((n_tiles, n, _ROW_TILE))
        self._inv_col = np.empty((m, n))
        self._f_col = np.empty((m, n))
        factor_lines(self.g_eff_us, self._g_row_us, self._g_col_us, self._g_drv_us,
                     self._g_sense_us, self._row_merged, self._row_ideal, self._col_merged,
                     self._col_ideal, self._d_row_us, self._d_col_us, self._inv_row,
                     self._f_row, self._inv_col, self._f_col)

    @property
    def is_ideal(self):
        """True when every wire, driver and sense resistance is 0 (no unknown node)."""
        return self._row_merged and self._row_ideal and self._col_merged and self._col_ideal

    def solve(self, v_in_v):
        """Solve for input voltages v_in_v, (m,) or (batch, m) in V.

        Returns (i_col_ua (batch, n) µA, p_source_uw (batch,) µW, p_cells_uw (batch,) µW,
        iterations (batch,) int64); without the batch axis for a 1-D input. p_source_uw is the
        power drawn from the ideal sources, sum_i v_i I_driver_i; p_cells_uw is dissipated in
        the cell branches (memristor + access), sum g_eff (V_row - V_col)^2.
        Raises ValueError if a vector does not converge within max_iter.
        """
        v_in_v = np.asarray(v_in_v, dtype=np.float64)
        single = v_in_v.ndim == 1
        v2 = np.ascontiguousarray(v_in_v[None, :] if single else v_in_v)
        m, n = self.shape
        if v2.ndim != 2 or v2.shape[1] != m:
            raise ValueError(f"v_in_v must have shape (m,) or (batch, m) with m={m}, "
                             f"got {v_in_v.shape}")
        if not np.all(np.isfinite(v2)):
            raise ValueError("v_in_v must be finite")
        batch = v2.shape[0]
        i_col_ua = np.empty((batch, n))
        p_source_uw = np.empty(batch)
        p_cells_uw = np.empty(batch)
        iterations = np.zeros(batch, dtype=np.int64)
        if self.is_ideal:
            # Exactly the ideal product, no node to solve for.
            i_col_ua[:] = v2 @ self.g_eff_us
            p_source_uw[:] = np.einsum("bi,ij,bi->b", v2, self.g_eff_us, v2)
            p_cells_uw[:] = p_source_uw
        elif batch > 0:
            status = np.zeros(batch, dtype=np.int64)
            ratio = np.zeros(batch)
            ir_drop_solve_batch(self.g_eff_us, self._d_row_us, self._d_col_us, self._inv_row,
                                self._f_row, self._inv_col, self._f_col, self._g_row_us,
                                self._g_col_us, self._g_drv_us, self._row_merged,
                                self._row_ideal, self._col_merged, self._col_ideal, v2,
                                self.rtol, self.max_iter, numba.get_num_threads(), i_col_ua,
                                p_source_uw, p_cells_uw,
                                iterations, status, ratio)
            bad = np.flatnonzero(status != _CONVERGED)
            if bad.size:
                k = int(bad[0])
                raise ValueError(
                    f"IR-drop PCG did not converge for {bad.size} of {batch} vectors "
                    f"(first: vector {k}, relative residual {ratio[k]:.3e} > rtol "
                    f"{self.rtol:.1e} after {iterations[k]} iterations, max_iter "
                    f"{self.max_iter})")
        if single:
            return i_col_ua[0], p_source_uw[0], p_cells_uw[0], iterations[0]
        return i_col_ua, p_source_uw, p_cells_uw, iterations

    def effective_conductance_us(self):
        """Transfer matrix g_ir_us (m, n) in µS with i_col_ua = v_in_v @ g_ir_us, IR drop included.

        The network is linear in v, so row i of g_ir_us is the solve for a unit input on row i
        (m solves, to the solver's rtol). Worth it only when far more than m vectors will be
        applied to an unchanged array (column currents only; powers need :meth:`solve`).
        """
        m, _ = self.shape
        i_col_ua, _, _, _ = self.solve(np.eye(m))
        return i_col_ua
