"""The numba kernels of :mod:`twin.physics.mvm` (its checking wrappers are the public face).

Units as there: conductance µS, voltage V, current µA, power µW.  Kernels never draw random numbers,
never use fastmath, use a fixed summation order and write into arrays passed in.  They are serial on
purpose (no ``parallel=True``), so results cannot depend on ``NUMBA_NUM_THREADS``; see
docs/performance.md for why.  Per-element converter formulas come from :mod:`twin.physics._numerics`.
"""

import math

import numba
import numpy as np

from twin.physics._numerics import adc_code_f, dac_code_f, iv_factor_scalar

MODE_BIT_SERIAL, MODE_PWM, MODE_AMPLITUDE = 0, 1, 2
"""Kernel ids of the input modes: their index in :data:`twin.physics.modes.INPUT_MODES`."""
PAIR_NONE, PAIR_ANALOG, PAIR_DIGITAL = 0, 1, 2
"""Kernel ids of the pair modes: their index in :data:`twin.physics.modes.PAIR_MODES`."""

# Slots of the float64 parameter vector ``prm`` the MVM kernels take (one array: cheaper to pass than eight
# scalars or a NamedTuple); built by ``twin.physics.mvm._setting``.
PRM_CODE_MAX = 0
"""DAC code_max (2**(dac_bits-1) - 1) as a float."""
PRM_GAIN = 1
"""1 + ADC gain error."""
PRM_OFFSET_UA = 2
"""ADC offset, µA."""
PRM_NOISE_UA = 3
"""ADC input-referred noise σ, µA."""
PRM_I_MIN_UA = 4
"""Current of ADC code 0, µA."""
PRM_LSB_UA = 5
"""ADC step, µA."""
PRM_CODE_TOP = 6
"""Top ADC code 2**adc_bits - 1 as a float."""
PRM_DIVISOR = 7
"""Divisor of the combined estimate: code_max for bit_serial (the shift-and-add is in codes), else 1."""
N_PRM = 8


# ----------------------------------------------------------------------------------------------
# DAC and row drives


@numba.njit(cache=True)
def drive_tables_kernel(mode_id, code_max, v_read_v, u_read_v, a_per_v, u_tab, p_tab):
    """Drive u (V) and power weight p (V²) for every code c = k - code_max and read r."""
    n_reads, n_codes = u_tab.shape
    for r in range(n_reads):
        for k in range(n_codes):
            c = k - code_max
            if mode_id == MODE_BIT_SERIAL:
                if (abs(c) >> r) & 1 == 0:
                    u = 0.0
                    p = 0.0
                else:
                    u = u_read_v if c > 0 else -u_read_v
                    p = v_read_v * u_read_v
            elif mode_id == MODE_PWM:
                duty = float(abs(c)) / float(code_max)
                u = duty * u_read_v
                if c < 0:
                    u = -u
                p = duty * (v_read_v * u_read_v)
            else:
                v = float(c) / float(code_max) * v_read_v
                u = v * iv_factor_scalar(v, a_per_v)
                p = v * u
            u_tab[r, k] = u
            p_tab[r, k] = p


@numba.njit(cache=True)
def _dac_codes_row(x_row, code_max_f, code_max, idx):
    """DAC codes of one input vector as table indices ``code + code_max``; returns clipped count."""
    n_cl = 0
    for i in range(x_row.shape[0]):
        xi = x_row[i]
        if abs(xi) > 1.0:
            n_cl += 1
        idx[i] = np.int64(dac_code_f(xi, code_max_f)) + code_max
    return n_cl


@numba.njit(cache=True)
def dac_drive_kernel(x, code_max_f, u_tab, p_tab, rowsum_us, need_u2, drive_v, drive2_v2, power_uw):
    """DAC + per-read drives (+ squares, in the dtype of ``drive2_v2``) + cell power (BLAS path).

    Power of vector b: sum over reads r of :func:`_power_rowsum` (as the fused path with row sums).
    Returns the number of clipped inputs.
    """
    n_reads, n_b, n_r = drive_v.shape
    code_max = np.int64(code_max_f)
    idx = np.empty(n_r, dtype=np.int64)
    n_cl = 0
    for b in range(n_b):
        n_cl += _dac_codes_row(x[b], code_max_f, code_max, idx)
        pw = 0.0
        for r in range(n_reads):
            u_row = u_tab[r]
            p_row = p_tab[r]
            d = drive_v[r, b]
            for i in range(n_r):
                d[i] = u_row[idx[i]]
            if need_u2:
                d2 = drive2_v2[r, b]
                for i in range(n_r):
                    d2[i] = d[i] * d[i]
            pw += _power_rowsum(p_row, idx, rowsum_us)
        power_uw[b] = pw
    return n_cl


@numba.njit(cache=True)
def _power_rowsum(p_row, idx, rowsum_us):
    """Cell power of one read from row sums: ``sum_i p_row[idx_i] · rowsum_us[i]`` as 4 interleaved partial
    sums (rows i ≡ 0, 1, 2, 3 mod 4) combined as (s0 + s1) + (s2 + s3)."""
    n_r = idx.shape[0]
    n4 = n_r - n_r % 4
    q0 = 0.0
    q1 = 0.0
    q2 = 0.0
    q3 = 0.0
    for i in range(0, n4, 4):
        q0 += p_row[idx[i]] * rowsum_us[i]
        q1 += p_row[idx[i + 1]] * rowsum_us[i + 1]
        q2 += p_row[idx[i + 2]] * rowsum_us[i + 2]
        q3 += p_row[idx[i + 3]] * rowsum_us[i + 3]
    for i in range(n4, n_r):
        q0 += p_row[idx[i]] * rowsum_us[i]
    return (q0 + q1) + (q2 + q3)


# ----------------------------------------------------------------------------------------------
# noise, ADC and digital combine


@numba.njit(cache=True)
def _unpack(prm):
    """The ADC and combine slots of ``prm``: (gain, offset_ua, sigma_ua, i_min_ua, lsb_ua, code_top_f, divisor)."""
    return (prm[PRM_GAIN], prm[PRM_OFFSET_UA], prm[PRM_NOISE_UA], prm[PRM_I_MIN_UA], prm[PRM_LSB_UA],
            prm[PRM_CODE_TOP], prm[PRM_DIVISOR])


@numba.njit(cache=True)
def _adc_accumulate(i_src, s_src, has_var, zr_row, za_row, has_za, pair_id, gain, offset_ua, sigma_ua,
                    i_min_ua, lsb_ua, code_top_f, scale, y_row):
    """Noise + ADC + scaled accumulate for the columns of one read of one vector.

    Current of column j is ``i_src[j]`` (+ ``sqrt(s_src[j]) · zr_row[j]``); the comparators see
    ``gain · i + offset_ua`` (+ ``sigma_ua · za``), quantized by :func:`adc_code_f`.  Adds
    ``scale · estimate`` into ``y_row`` (indexed by output column).  Returns saturations.
    """
    n_c = i_src.shape[0]
    n_sat = 0
    if pair_id == PAIR_NONE and has_var and has_za:
        # Common case, branch-free so that LLVM vectorizes it.
        for j in range(n_c):
            i = i_src[j] + math.sqrt(s_src[j]) * zr_row[j]
            q, sat = adc_code_f(gain * i + offset_ua + sigma_ua * za_row[j], i_min_ua, lsb_ua, code_top_f)
            n_sat += sat
            y_row[j] += scale * (i_min_ua + q * lsb_ua)
    elif pair_id == PAIR_NONE:
        for j in range(n_c):
            i = i_src[j]
            if has_var:
                i = i + math.sqrt(s_src[j]) * zr_row[j]
            s = gain * i + offset_ua
            if has_za:
                s = s + sigma_ua * za_row[j]
            q, sat = adc_code_f(s, i_min_ua, lsb_ua, code_top_f)
            n_sat += sat
            y_row[j] += scale * (i_min_ua + q * lsb_ua)
    else:
        for k in range(n_c // 2):
            ja = 2 * k
            jb = ja + 1
            ia = i_src[ja]
            ib = i_src[jb]
            if has_var:
                ia = ia + math.sqrt(s_src[ja]) * zr_row[ja]
                ib = ib + math.sqrt(s_src[jb]) * zr_row[jb]
            if pair_id == PAIR_ANALOG:
                s = gain * (ia - ib) + offset_ua
                if has_za:
                    s = s + sigma_ua * za_row[k]
                q, sat = adc_code_f(s, i_min_ua, lsb_ua, code_top_f)
                n_sat += sat
                y_row[k] += scale * (i_min_ua + q * lsb_ua)
            else:
                sa = gain * ia + offset_ua
                sb = gain * ib + offset_ua
                if has_za:
                    sa = sa + sigma_ua * za_row[ja]
                    sb = sb + sigma_ua * za_row[jb]
                qa, sat_a = adc_code_f(sa, i_min_ua, lsb_ua, code_top_f)
                qb, sat_b = adc_code_f(sb, i_min_ua, lsb_ua, code_top_f)
                n_sat += sat_a
                n_sat += sat_b
                y_row[k] += scale * ((qa - qb) * lsb_ua)
    return n_sat


@numba.njit(cache=True)
def adc_batch_kernel(i_ua, s_ua2, zr, za, plane_scale, prm, has_var, has_za, pair_id, y_ua):
    """Noise + ADC + shift-and-add for all reads of all vectors (BLAS path); returns saturations."""
    gain, offset_ua, sigma_ua, i_min_ua, lsb_ua, code_top_f, divisor = _unpack(prm)
    n_reads, n_b, _ = i_ua.shape
    n_out = y_ua.shape[1]
    n = 0
    for b in range(n_b):
        y_row = y_ua[b]
        for k in range(n_out):
            y_row[k] = 0.0
        for r in range(n_reads):
            zr_row = zr[r, b] if has_var else zr[0, 0]
            za_row = za[r, b] if has_za else za[0, 0]
            n += _adc_accumulate(i_ua[r, b], s_ua2[r, b], has_var, zr_row, za_row, has_za, pair_id, gain,
                                 offset_ua, sigma_ua, i_min_ua, lsb_ua, code_top_f, plane_scale[r], y_row)
        if divisor != 1.0:
            for k in range(n_out):
                y_row[k] = y_row[k] / divisor
    return n


# ----------------------------------------------------------------------------------------------
# single pass for small batches


@numba.njit(cache=True)
def fused_small_kernel(x, g_us, var_us2, rowsum_us, zr, za, tabs, plane_scale, prm, has_var, var_f32,
                       has_rowsum, has_za, pair_id, y_ua, power_uw):
    """Single pass (DAC → currents + noise variance + power → ADC → combine) for small batches.

    Rows with zero drive are skipped; the others are accumulated into every column strictly in row
    order (4 rows per sweep, added one after the other, so the rounding is that of a plain row-order
    loop).  Currents: float64 products and sums of the float64 values of ``g_us`` (a float32 ``g_us`` is
    widened exactly, so the result is that of ``g_us.astype(float64)``).  Noise variance: float64
    accumulation, or float32 products and sums when ``var_f32`` (``var_us2`` float32, weights ``u²``
    rounded to float32).  Power: from ``rowsum_us`` when ``has_rowsum`` (:func:`_power_rowsum`, as the
    BLAS path), else summed per column alongside the currents.  Returns (saturations, clipped inputs).
    """
    code_max_f = prm[PRM_CODE_MAX]
    gain, offset_ua, sigma_ua, i_min_ua, lsb_ua, code_top_f, divisor = _unpack(prm)
    u_tab = tabs[0]
    p_tab = tabs[1]
    n_b, n_r = x.shape
    n_c = g_us.shape[1]
    n_reads = u_tab.shape[0]
    code_max = np.int64(code_max_f)
    acc_i = np.empty(n_c)
    acc_s = np.empty(n_c)
    acc_s32 = np.empty(n_c, dtype=np.float32)
    acc_p = np.empty(n_c)
    idx = np.empty(n_r, dtype=np.int64)
    act = np.empty(n_r, dtype=np.int64)
    n_out = y_ua.shape[1]
    n_cl = 0
    n_sat = 0
    for b in range(n_b):
        n_cl += _dac_codes_row(x[b], code_max_f, code_max, idx)
        y_row = y_ua[b]
        for k in range(n_out):
            y_row[k] = 0.0
        acc_p[:] = 0.0
        pw = 0.0
        for r in range(n_reads):
            acc_i[:] = 0.0
            if var_f32:
                acc_s32[:] = 0.0
            else:
                acc_s[:] = 0.0
            u_row = u_tab[r]
            p_row = p_tab[r]
            n_act = 0
            for i in range(n_r):
                if u_row[idx[i]] != 0.0:
                    act[n_act] = i
                    n_act += 1
            n4 = n_act - n_act % 4
            for t in range(0, n4, 4):
                i0 = act[t]
                i1 = act[t + 1]
                i2 = act[t + 2]
                i3 = act[t + 3]
                u0 = u_row[idx[i0]]
                u1 = u_row[idx[i1]]
                u2 = u_row[idx[i2]]
                u3 = u_row[idx[i3]]
                if has_rowsum:
                    _sweep4(u0, u1, u2, u3, g_us[i0], g_us[i1], g_us[i2], g_us[i3], acc_i)
                else:
                    _sweep4_p(u0, u1, u2, u3, p_row[idx[i0]], p_row[idx[i1]], p_row[idx[i2]],
                              p_row[idx[i3]], g_us[i0], g_us[i1], g_us[i2], g_us[i3], acc_i, acc_p)
                if var_f32:
                    _sweep4(np.float32(u0 * u0), np.float32(u1 * u1), np.float32(u2 * u2),
                            np.float32(u3 * u3), var_us2[i0], var_us2[i1], var_us2[i2], var_us2[i3], acc_s32)
                elif has_var:
                    _sweep4(u0 * u0, u1 * u1, u2 * u2, u3 * u3, var_us2[i0], var_us2[i1], var_us2[i2],
                            var_us2[i3], acc_s)
            for t in range(n4, n_act):
                i0 = act[t]
                u0 = u_row[idx[i0]]
                if has_rowsum:
                    _axpy(u0, g_us[i0], acc_i)
                else:
                    _axpy_p(u0, p_row[idx[i0]], g_us[i0], acc_i, acc_p)
                if var_f32:
                    _axpy(np.float32(u0 * u0), var_us2[i0], acc_s32)
                elif has_var:
                    _axpy(u0 * u0, var_us2[i0], acc_s)
            if var_f32:
                for j in range(n_c):
                    acc_s[j] = acc_s32[j]
            if has_rowsum:
                pw += _power_rowsum(p_row, idx, rowsum_us)
            zr_row = zr[r, b] if has_var else zr[0, 0]
            za_row = za[r, b] if has_za else za[0, 0]
            n_sat += _adc_accumulate(acc_i, acc_s, has_var, zr_row, za_row, has_za, pair_id, gain, offset_ua,
                                     sigma_ua, i_min_ua, lsb_ua, code_top_f, plane_scale[r], y_row)
        if divisor != 1.0:
            for k in range(n_out):
                y_row[k] = y_row[k] / divisor
        if not has_rowsum:
            for j in range(n_c):
                pw += acc_p[j]
        power_uw[b] = pw
    return n_sat, n_cl


# The sweeps are generic in the dtypes: rows ``g0..g3`` float64 or float32 (widened exactly to the
# accumulator's float64 by the arithmetic), or all-float32 (weights, rows, accumulator) for the float32
# noise variance.  No fastmath: each row's product is added on its own, in row order.


@numba.njit(cache=True)
def _sweep4(w0, w1, w2, w3, v0, v1, v2, v3, acc):
    for j in range(acc.shape[0]):
        a = acc[j]
        a += w0 * v0[j]
        a += w1 * v1[j]
        a += w2 * v2[j]
        a += w3 * v3[j]
        acc[j] = a


@numba.njit(cache=True)
def _sweep4_p(u0, u1, u2, u3, p0, p1, p2, p3, g0, g1, g2, g3, acc_i, acc_p):
    for j in range(acc_i.shape[0]):
        h0 = np.float64(g0[j])
        h1 = np.float64(g1[j])
        h2 = np.float64(g2[j])
        h3 = np.float64(g3[j])
        a = acc_i[j]
        a += u0 * h0
        a += u1 * h1
        a += u2 * h2
        a += u3 * h3
        acc_i[j] = a
        c = acc_p[j]
        c += p0 * h0
        c += p1 * h1
        c += p2 * h2
        c += p3 * h3
        acc_p[j] = c


@numba.njit(cache=True)
def _axpy_p(u, p, g_row, acc_i, acc_p):
    for j in range(g_row.shape[0]):
        gij = np.float64(g_row[j])
        acc_i[j] += u * gij
        acc_p[j] += p * gij


@numba.njit(cache=True)
def _axpy(a, v_row, acc):
    for j in range(v_row.shape[0]):
        acc[j] += a * v_row[j]


# ----------------------------------------------------------------------------------------------
# prepared operands: float32 conductances and their row sums


@numba.njit(cache=True)
def _row_sum(g_row):
    """``sum_j g_row[j]`` in float64: 4 interleaved partial sums over j ≡ 0, 1, 2, 3 mod 4, combined as
    (s0 + s1) + (s2 + s3) (float32 values widened exactly)."""
    n_c = g_row.shape[0]
    n4 = n_c - n_c % 4
    q0 = 0.0
    q1 = 0.0
    q2 = 0.0
    q3 = 0.0
    for j in range(0, n4, 4):
        q0 += np.float64(g_row[j])
        q1 += np.float64(g_row[j + 1])
        q2 += np.float64(g_row[j + 2])
        q3 += np.float64(g_row[j + 3])
    for j in range(n4, n_c):
        q0 += np.float64(g_row[j])
    return (q0 + q1) + (q2 + q3)


@numba.njit(cache=True)
def row_sums_kernel(g_us, rows, all_rows, out_us):
    """``out_us[i] = _row_sum(g_us[i])`` for every row (``all_rows``) or for ``rows``."""
    n = g_us.shape[0] if all_rows else rows.shape[0]
    for k in range(n):
        i = k if all_rows else rows[k]
        out_us[i] = _row_sum(g_us[i])


@numba.njit(cache=True)
def refresh_f32_kernel(g_us, cells, r0, c0, g32_us, rowsum_us):
    """Copy the flat ``cells`` of ``g_us`` that lie in the window (origin r0, c0) of ``g32_us`` into it
    (rounded to float32), then recompute the row sums of the window rows touched; returns the count."""
    n_src_cols = g_us.shape[1]
    n_rw, n_cw = g32_us.shape
    touched = np.zeros(n_rw, dtype=np.bool_)
    n = 0
    for k in range(cells.shape[0]):
        c = cells[k]
        i = c // n_src_cols
        j = c - i * n_src_cols
        if r0 <= i < r0 + n_rw and c0 <= j < c0 + n_cw:
            g32_us[i - r0, j - c0] = np.float32(g_us[i, j])
            touched[i - r0] = True
            n += 1
    if n:
        for i in range(n_rw):
            if touched[i]:
                rowsum_us[i] = _row_sum(g32_us[i])
    return n
