"""Noisy analog matrix-vector multiply (MVM) of a memristor crossbar and its quantized pipeline.

Units: conductance µS, voltage V, current µA (µS·V), power µW (µS·V²).  Index order (rows, cols).

Physics (see ``docs/physics/converters.md``):

* Cell current ``g · v · f(v)`` with the I–V non-linearity ``f(v) = sinh(a·v) / (a·v)``
  (``a = iv_nonlinearity_per_v``; ``f = 1`` for ``a = 0``).  All cells of a row see the same
  voltage in one read, so ``f`` is a per-row factor.  The *drive* of row i is ``u_i = v_i · f(v_i)``
  and the mean column current is ``I_j = sum_i u_i · g_ij``.
* White read noise: each cell's conductance has an independent Gaussian deviation of variance
  ``var_g_us2[i, j]`` per read, so column j gets Gaussian noise of variance
  ``S_j = sum_i u_i² · var_g_us2[i, j]``; it is applied as ``sqrt(S_j) · z`` with one
  standard-normal ``z`` per (read, vector, column), passed in by the caller.
* Input modes: ``amplitude`` row voltage ``v = c / code_max · v_read_v`` (``u = v·f(v)``);
  ``pwm`` row at ``±v_read_v`` for the fraction ``|c| / code_max`` of the window: the integrated
  charge equals that of the average drive ``u = c / code_max · v_read_v · f(v_read_v)``;
  ``bit_serial`` plane p (p = 0 … bits-2) drives ``u = sign(c) · bit_p(|c|) · v_read_v · f(v_read_v)``,
  each plane is a separate read with its own noise draws and ADC conversion, combined as
  ``sum_p 2**p · est_p / code_max``.  For all modes the result estimates ``(x · v_read_v) @ g``
  (times ``f``), in µA.
* Cell power per vector ``P = sum_{i,j} p_i · g_ij`` (µW) with ``p_i = v_i · u_i`` (amplitude),
  ``p_i = duty_i · v_read_v · u_read`` (pwm: time-averaged over the window) and, for bit_serial,
  the sum over planes of each plane's power.  Energy (pJ) = ``P`` (µW) × read window (ps) × 1e-6;
  for bit_serial the window is that of ONE plane read.

Kernels never draw random numbers, never use fastmath, use a fixed summation order and write into
arrays passed in.  They are deliberately serial (no ``parallel=True``): the per-vector work is
memory-bound or tiny, the two large matrix products go to BLAS (which already uses both cores), and on
the 2-core target numba's OpenMP workers spinning after a parallel region were measured to slow the
following 2-thread BLAS matmuls ~4x.  Results therefore cannot depend on ``NUMBA_NUM_THREADS``.
Small batches (<= ``SMALL_BATCH_MAX``) use a single-pass numba kernel; larger ones use BLAS ``@``
(deterministic for a given machine and BLAS thread setting) for ``drive @ g`` and ``drive² @ var``
and a fused numba pass for noise + ADC + digital combine.  The two paths agree to rounding (~1e-15
relative before quantization) but are not bit-identical to each other.

Operands may be prepared once per array state to stream less memory per vector (the batch-1 kernel is
bound by reading ``g`` and ``var``): ``var`` as float32 (:func:`noise_variance_f32_us2`: noise sums in
float32, σ to ~1e-6 relative), ``g`` as float32 (:func:`conductance_f32_us`: exactly the MVM of the
widened float32 values, i.e. each conductance rounded by <= 2^-24 relative) and its row sums
(:func:`conductance_rowsum_us`: the cell power without a multiply-add per cell);
:func:`refresh_conductance_f32_us` keeps the last two up to date cell by cell.
"""

import functools
import math

import numba
import numpy as np

from twin.physics.converters import (
    adc_conversions_per_vector,
    adc_convert,
    adc_lsb_ua,
    check_mode,
    dac_code_f,
    dac_code_max,
    reads_per_vector,
)

SMALL_BATCH_MAX = 8
"""Batches up to this size use the single-pass numba kernel (``path="auto"``)."""

_PAIR_IDS = {None: 0, "analog": 1, "digital": 2}


def _pair_id(pair_mode):
    if pair_mode not in _PAIR_IDS:
        raise ValueError(f"unknown pair mode {pair_mode!r}; expected None, 'analog' or 'digital'")
    return _PAIR_IDS[pair_mode]


# ----------------------------------------------------------------------------------------------
# per-row drive


@numba.njit(cache=True)
def iv_factor_scalar(v_v, a_per_v):
    """I–V non-linearity ``f(v) = sinh(a·v)/(a·v)`` (1 at a·v = 0); numba helper."""
    t = a_per_v * v_v
    if t == 0.0:
        return 1.0
    return math.sinh(t) / t


def iv_factor(v_v, iv_nonlinearity_per_v):
    """Vectorized ``f(v) = sinh(a·v)/(a·v)`` (dimensionless, shape of ``v_v``), 1 where a·v = 0."""
    t = float(iv_nonlinearity_per_v) * np.asarray(v_v, dtype=np.float64)
    out = np.ones_like(t)
    nz = t != 0.0
    out[nz] = np.sinh(t[nz]) / t[nz]
    return out


@numba.njit(cache=True)
def _drive_tables_kernel(mode_id, code_max, v_read_v, u_read_v, a_per_v, u_tab, p_tab):
    """Drive u (V) and power weight p (V²) for every code c = k - code_max and read r."""
    n_reads, n_codes = u_tab.shape
    for r in range(n_reads):
        for k in range(n_codes):
            c = k - code_max
            if mode_id == 0:
                if (abs(c) >> r) & 1 == 0:
                    u = 0.0
                    p = 0.0
                else:
                    u = u_read_v if c > 0 else -u_read_v
                    p = v_read_v * u_read_v
            elif mode_id == 1:
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


def drive_tables(mode, dac_bits, v_read_v, iv_nonlinearity_per_v=0.0):
    """Lookup tables ``(u_tab_v, p_tab_v2)``, each (reads, 2·code_max + 1), indexed [read, code + code_max]:
    row drive ``u = v·f(v)`` (V) and cell power weight (V², power = p · g) of a row with that code."""
    mode_id = check_mode(mode)
    code_max = dac_code_max(dac_bits)
    if int(dac_bits) > 16:
        raise ValueError("dac_bits > 16 not supported (drive tables)")
    n_reads = reads_per_vector(mode, dac_bits)
    a = float(iv_nonlinearity_per_v)
    v_read_v = float(v_read_v)
    u_read_v = v_read_v * float(iv_factor_scalar(v_read_v, a))
    u_tab = np.empty((n_reads, 2 * code_max + 1))
    p_tab = np.empty((n_reads, 2 * code_max + 1))
    _drive_tables_kernel(mode_id, code_max, v_read_v, u_read_v, a, u_tab, p_tab)
    return u_tab, p_tab


def row_drive_v(codes, mode, dac_bits, v_read_v, iv_nonlinearity_per_v=0.0):
    """Per-read row drives for DAC ``codes`` (batch, rows).

    Returns ``(drive_v, power_v2)``, both float64 (reads, batch, rows): the effective drive
    ``u = v·f(v)`` (V; mean column current = ``drive_v @ g_us``) and the power weight (V²; cell power
    = ``power_v2 @ g_us`` summed over columns).  reads = ``dac_bits - 1`` for bit_serial, else 1.
    """
    u_tab, p_tab = drive_tables(mode, dac_bits, v_read_v, iv_nonlinearity_per_v)
    code_max = dac_code_max(dac_bits)
    codes = np.asarray(codes, dtype=np.int64)
    if codes.ndim != 2:
        raise ValueError("codes must be (batch, rows)")
    if codes.size and np.abs(codes).max() > code_max:
        raise ValueError("codes out of range")
    idx = codes + code_max
    return u_tab[:, idx], p_tab[:, idx]


# ----------------------------------------------------------------------------------------------
# analog layer


def column_currents_ua(drive_v, g_us, var_g_us2=None, read_noise_draws=None):
    """Noisy column currents (µA) ``drive_v @ g_us + sqrt(drive_v² @ var_g_us2) · z``.

    ``drive_v`` (..., batch, rows) V; ``g_us`` (rows, cols) µS; ``var_g_us2`` (rows, cols) µS² or None
    (no read noise); ``read_noise_draws`` standard normals (..., batch, cols).  Returns (..., batch, cols).
    """
    drive = np.asarray(drive_v, dtype=np.float64)
    g = np.ascontiguousarray(g_us, dtype=np.float64)
    i_ua = drive @ g
    if var_g_us2 is None:
        return i_ua
    if read_noise_draws is None:
        raise ValueError("var_g_us2 given: read_noise_draws (..., batch, cols) required")
    z = np.asarray(read_noise_draws, dtype=np.float64)
    if z.shape != i_ua.shape:
        raise ValueError(f"read_noise_draws shape {z.shape} != currents shape {i_ua.shape}")
    s_ua2 = (drive * drive) @ np.ascontiguousarray(var_g_us2, dtype=np.float64)
    return i_ua + np.sqrt(s_ua2) * z


def cell_power_uw(power_v2, g_us):
    """Cell power (µW) per vector, summed over reads: ``sum_r power_v2[r] @ rowsum(g_us)``, shape (batch,)."""
    p = np.asarray(power_v2, dtype=np.float64)
    rowsum_us = np.ascontiguousarray(g_us, dtype=np.float64).sum(axis=1)
    out = p @ rowsum_us
    return out.sum(axis=0) if out.ndim > 1 else out


def pair_convert(i_ua, pair_mode, adc_bits, adc_i_min_ua, adc_i_max_ua, adc_offset_ua=0.0,
                 adc_gain_error=0.0, adc_noise_ua=0.0, adc_noise_draws=None):
    """Differential column pairs (2k, 2k+1) of noisy currents ``i_ua`` (..., cols) → (..., cols/2).

    ``analog``: the ADC converts ``i_2k − i_2k+1`` (draws (..., cols/2)); codes are the ADC codes and
    the estimate is the ADC inverse map.  ``digital``: both columns converted (draws (..., cols)); codes
    are ``code_2k − code_2k+1`` (signed) and the estimate ``(code_2k − code_2k+1) · lsb_ua``.
    Returns ``(codes int64, i_est_ua, n_saturated)``.
    """
    i_ua = np.asarray(i_ua, dtype=np.float64)
    if i_ua.shape[-1] % 2:
        raise ValueError("differential pairs need an even number of columns")
    kw = dict(offset_ua=adc_offset_ua, gain_error=adc_gain_error, noise_ua=adc_noise_ua,
              noise_draws=adc_noise_draws)
    if pair_mode == "analog":
        diff = i_ua[..., 0::2] - i_ua[..., 1::2]
        return adc_convert(diff, adc_bits, adc_i_min_ua, adc_i_max_ua, **kw)
    if pair_mode == "digital":
        codes, _, n_sat = adc_convert(i_ua, adc_bits, adc_i_min_ua, adc_i_max_ua, **kw)
        dc = codes[..., 0::2] - codes[..., 1::2]
        return dc, dc * adc_lsb_ua(adc_bits, adc_i_min_ua, adc_i_max_ua), n_sat
    raise ValueError(f"unknown pair mode {pair_mode!r}; expected 'analog' or 'digital'")


# ----------------------------------------------------------------------------------------------
# fused quantized pipeline


def noise_draw_shapes(mode, dac_bits, batch, n_cols, pair_mode=None):
    """Shapes ``(read_shape, adc_shape)`` of the standard-normal draws :func:`quantized_mvm` takes.

    read: (reads, batch, n_cols) — one per read, vector and physical column;
    adc: (reads, batch, n_adc) — one per conversion (n_adc = n_cols/2 for analog pairs).
    """
    n_reads = reads_per_vector(mode, dac_bits)
    n_adc = adc_conversions_per_vector(mode, dac_bits, n_cols, pair_mode) // n_reads
    return (n_reads, int(batch), int(n_cols)), (n_reads, int(batch), n_adc)


@numba.njit(cache=True)
def _unpack(prm):
    return prm[0], prm[1], prm[2], prm[3], prm[4], prm[5], prm[6], prm[7]


@numba.njit(cache=True)
def _adc_accumulate(i_src, s_src, src_off, has_var, zr_row, za_row, has_za, pair_id, gain, offset_ua,
                    sigma_ua, i_min_ua, lsb_ua, code_top_f, scale, y_row, c0, c1):
    """Noise + ADC + scaled accumulate for physical columns [c0, c1) of one read of one vector.

    Current of column j is ``i_src[j - src_off]`` (+ ``sqrt(s_src[j - src_off]) · zr_row[j]``).
    Adds ``scale · estimate`` into ``y_row`` (indexed by output column).  Returns saturations.
    """
    n_sat = 0
    if pair_id == 0 and has_var and has_za:
        # Common case, branch-free so that LLVM vectorizes it.
        for j in range(c0, c1):
            i = i_src[j - src_off] + math.sqrt(s_src[j - src_off]) * zr_row[j]
            s = gain * i + offset_ua + sigma_ua * za_row[j]
            q = np.floor((s - i_min_ua) / lsb_ua + 0.5)
            n_sat += (q < 0.0) | (q > code_top_f)
            q = min(max(q, 0.0), code_top_f)
            y_row[j] += scale * (i_min_ua + q * lsb_ua)
    elif pair_id == 0:
        for j in range(c0, c1):
            i = i_src[j - src_off]
            if has_var:
                i = i + math.sqrt(s_src[j - src_off]) * zr_row[j]
            s = gain * i + offset_ua
            if has_za:
                s = s + sigma_ua * za_row[j]
            q = np.floor((s - i_min_ua) / lsb_ua + 0.5)
            if q < 0.0:
                q = 0.0
                n_sat += 1
            elif q > code_top_f:
                q = code_top_f
                n_sat += 1
            y_row[j] += scale * (i_min_ua + q * lsb_ua)
    else:
        for k in range(c0 // 2, c1 // 2):
            ja = 2 * k
            jb = ja + 1
            ia = i_src[ja - src_off]
            ib = i_src[jb - src_off]
            if has_var:
                ia = ia + math.sqrt(s_src[ja - src_off]) * zr_row[ja]
                ib = ib + math.sqrt(s_src[jb - src_off]) * zr_row[jb]
            if pair_id == 1:
                s = gain * (ia - ib) + offset_ua
                if has_za:
                    s = s + sigma_ua * za_row[k]
                q = np.floor((s - i_min_ua) / lsb_ua + 0.5)
                if q < 0.0:
                    q = 0.0
                    n_sat += 1
                elif q > code_top_f:
                    q = code_top_f
                    n_sat += 1
                y_row[k] += scale * (i_min_ua + q * lsb_ua)
            else:
                sa = gain * ia + offset_ua
                sb = gain * ib + offset_ua
                if has_za:
                    sa = sa + sigma_ua * za_row[ja]
                    sb = sb + sigma_ua * za_row[jb]
                qa = np.floor((sa - i_min_ua) / lsb_ua + 0.5)
                if qa < 0.0:
                    qa = 0.0
                    n_sat += 1
                elif qa > code_top_f:
                    qa = code_top_f
                    n_sat += 1
                qb = np.floor((sb - i_min_ua) / lsb_ua + 0.5)
                if qb < 0.0:
                    qb = 0.0
                    n_sat += 1
                elif qb > code_top_f:
                    qb = code_top_f
                    n_sat += 1
                y_row[k] += scale * ((qa - qb) * lsb_ua)
    return n_sat


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
def _dac_drive_kernel(x, code_max_f, u_tab, p_tab, rowsum_us, need_u2, drive_v, drive2_v2, power_uw):
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
def _adc_batch_kernel(i_ua, s_ua2, zr, za, plane_scale, prm, has_var, has_za, pair_id, y_ua):
    """Noise + ADC + shift-and-add for all reads of all vectors (BLAS path); returns saturations."""
    code_max_f, gain, offset_ua, sigma_ua, i_min_ua, lsb_ua, code_top_f, divisor = _unpack(prm)
    n_reads, n_b, n_c = i_ua.shape
    n_out = y_ua.shape[1]
    n = 0
    for b in range(n_b):
        y_row = y_ua[b]
        for k in range(n_out):
            y_row[k] = 0.0
        for r in range(n_reads):
            zr_row = zr[r, b] if has_var else zr[0, 0]
            za_row = za[r, b] if has_za else za[0, 0]
            n += _adc_accumulate(i_ua[r, b], s_ua2[r, b], 0, has_var, zr_row,
                                 za_row, has_za,
                                 pair_id, gain, offset_ua, sigma_ua, i_min_ua, lsb_ua, code_top_f,
                                 plane_scale[r], y_row, 0, n_c)
        if divisor != 1.0:
            for k in range(n_out):
                y_row[k] = y_row[k] / divisor
    return n


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


@numba.njit(cache=True)
def _fused_small_kernel(x, g_us, var_us2, rowsum_us, zr, za, tabs, plane_scale, prm, has_var, var_f32,
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
    code_max_f, gain, offset_ua, sigma_ua, i_min_ua, lsb_ua, code_top_f, divisor = _unpack(prm)
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
            n_sat += _adc_accumulate(acc_i, acc_s, 0, has_var, zr_row, za_row, has_za, pair_id,
                                     gain, offset_ua, sigma_ua, i_min_ua, lsb_ua, code_top_f,
                                     plane_scale[r], y_row, 0, n_c)
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


_DUMMY1 = np.zeros(1)
_DUMMY2 = np.zeros((1, 1))
_DUMMY3 = np.zeros((1, 1, 1))
"""Stand-ins for the arrays a kernel does not use in a call (never written)."""


@functools.lru_cache(maxsize=256)
def _cached_tables(mode, dac_bits, v_read_v, iv_nonlinearity_per_v):
    """(tabs (2, reads, 2·code_max+1) = [u_tab, p_tab], plane_scale (reads,)), read-only, memoized per setting."""
    u_tab, p_tab = drive_tables(mode, dac_bits, v_read_v, iv_nonlinearity_per_v)
    tabs = np.stack([u_tab, p_tab])
    plane_scale = np.array([float(1 << r) for r in range(u_tab.shape[0])])
    tabs.flags.writeable = False
    plane_scale.flags.writeable = False
    return tabs, plane_scale


class MvmWorkspace:
    """Scratch arrays of :func:`quantized_mvm`'s BLAS path, kept between the calls of one caller.

    Reusing them avoids page-faulting fresh multi-MB arrays on every call. A workspace belongs to one
    caller at a time (a tile's array): two threads must not share one.
    """

    __slots__ = ("_buffers",)

    def __init__(self):
        self._buffers = {}

    def array(self, name, shape, dtype):
        """A scratch array *name* of *shape* and *dtype* (contents undefined), reusing the last one's memory."""
        n = 1
        for d in shape:
            n *= int(d)
        buf = self._buffers.get(name)
        if buf is None or buf.size < n or buf.dtype != dtype:
            buf = np.empty(n, dtype=dtype)
            self._buffers[name] = buf
        return buf[:n].reshape(shape)


class MvmResult:
    """Result of :func:`quantized_mvm`.

    y_ua: (batch, n_out) float64 estimate of ``(x · v_read_v) @ g_us`` in µA (n_out = cols, or
    cols/2 for pairs: estimate of the + column minus the − column); n_adc_saturated: int;
    n_adc_conversions: int (all vectors); cell_power_uw: (batch,) float64 cell power per vector
    (bit_serial: summed over planes, multiply by ONE plane's read window for energy);
    n_dac_clipped: int inputs with |x| > 1.
    """

    __slots__ = ("y_ua", "n_adc_saturated", "n_adc_conversions", "cell_power_uw", "n_dac_clipped")

    def __init__(self, y_ua, n_adc_saturated, n_adc_conversions, cell_power_uw, n_dac_clipped):
        self.y_ua = y_ua
        self.n_adc_saturated = n_adc_saturated
        self.n_adc_conversions = n_adc_conversions
        self.cell_power_uw = cell_power_uw
        self.n_dac_clipped = n_dac_clipped

    def __repr__(self):
        return (f"MvmResult(y_ua.shape={self.y_ua.shape}, n_adc_saturated={self.n_adc_saturated}, "
                f"n_adc_conversions={self.n_adc_conversions}, n_dac_clipped={self.n_dac_clipped})")


_ND = np.ndarray
_I64 = np.dtype(np.int64)
_F64 = np.dtype(np.float64)
_F32 = np.dtype(np.float32)


def _f64c(a):
    """``a`` as a C-contiguous float64 ndarray (no copy when it already is one)."""
    if type(a) is np.ndarray and a.dtype is _F64 and a.flags.c_contiguous:
        return a
    return np.ascontiguousarray(a, dtype=np.float64)


def _f32_or_f64c(a):
    """``a`` itself when it is a C-contiguous float32 ndarray, else as C-contiguous float64."""
    if type(a) is np.ndarray and a.dtype is _F32 and a.flags.c_contiguous:
        return a
    return _f64c(a)


def noise_variance_f32_us2(var_g_us2):
    """Read-noise variance (µS²) as the C-contiguous float32 array :func:`quantized_mvm` runs fastest
    with (noise matmul as sgemm, float32 noise sums in the fused path; ~1e-6 relative error on the
    noise σ, see docs).  Prepare once per array state."""
    return np.ascontiguousarray(var_g_us2, dtype=np.float32)


def conductance_f32_us(g_us):
    """Conductances (µS) as the C-contiguous float32 array :func:`quantized_mvm` takes to halve the
    memory it streams per vector.  Rounding to float32 moves each conductance by at most 2⁻²⁴ of
    itself, so a column current by at most ``2⁻²⁴ · sum_i |u_i| · g_ij`` (see docs); the MVM itself
    then computes exactly as with ``g.astype(float64)``.  Prepare once per array state (update the
    changed cells)."""
    return np.ascontiguousarray(g_us, dtype=np.float32)


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
def _row_sums_kernel(g_us, rows, all_rows, out_us):
    """``out_us[i] = _row_sum(g_us[i])`` for every row (``all_rows``) or for ``rows``."""
    n = g_us.shape[0] if all_rows else rows.shape[0]
    for k in range(n):
        i = k if all_rows else rows[k]
        out_us[i] = _row_sum(g_us[i])


@numba.njit(cache=True)
def _refresh_f32_kernel(g_us, cells, r0, c0, g32_us, rowsum_us):
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


_NO_ROWS = np.empty(0, dtype=np.int64)


def conductance_rowsum_us(g_us, rows=None, out=None):
    """Row sums ``sum_j g_us[i, j]`` (µS, float64, a fixed summation order), the ``g_rowsum_us`` that
    :func:`quantized_mvm` takes to get the cell power without an extra multiply-add per cell.

    ``g_us`` (rows, cols) float64 or float32 (its values widened exactly).  With ``rows`` (flat row
    indices) only those entries of ``out`` (rows,) are recomputed (in place; repeats allowed), so an
    incrementally updated array of row sums equals a fresh one bit for bit.  Returns ``out``.
    """
    g = _f32_or_f64c(g_us)
    if g.ndim != 2:
        raise ValueError("g_us must be (rows, cols)")
    if rows is None:
        out = np.empty(g.shape[0]) if out is None else out
        _row_sums_kernel(g, _NO_ROWS, True, out)
    else:
        if out is None or out.shape != (g.shape[0],) or out.dtype != _F64:
            raise ValueError("rows given: out must be the float64 (rows,) array to update")
        rows = np.ascontiguousarray(rows, dtype=np.int64)
        if rows.size and (rows.min() < 0 or rows.max() >= g.shape[0]):
            raise ValueError(f"rows must be in [0, {g.shape[0]})")
        _row_sums_kernel(g, rows, False, out)
    return out


def refresh_conductance_f32_us(g_us, cells, g32_us, rowsum_us, origin=(0, 0)):
    """Bring a float32 window copy up to date after the conductances of some cells changed.

    ``g_us`` (rows, cols) float64: the current conductances; ``cells``: flat indices into it of the
    cells that may have changed (repeats allowed); ``g32_us`` (C-contiguous float32) and ``rowsum_us``
    (float64): the window of ``g_us`` starting at row/col ``origin`` as made by
    :func:`conductance_f32_us` and :func:`conductance_rowsum_us`, updated in place — afterwards both
    equal freshly made ones bit for bit.  Returns the number of cells copied (those inside the window).
    """
    # Lean checks (it runs on every MVM of a tile), enough that the kernel stays in bounds.
    if type(cells) is not _ND or cells.dtype is not _I64:
        cells = np.asarray(cells, dtype=np.int64)
    g = g_us if type(g_us) is _ND and g_us.dtype is _F64 else np.asarray(g_us, dtype=np.float64)
    r0, c0 = origin
    (n_rw, n_cw), (n_r, n_c) = g32_us.shape, g.shape
    if g32_us.dtype is not _F32 or rowsum_us.dtype is not _F64 or rowsum_us.shape[0] != n_rw:
        raise ValueError("g32_us must be float32 and rowsum_us its float64 (rows,) row sums")
    if r0 < 0 or c0 < 0 or r0 + n_rw > n_r or c0 + n_cw > n_c:
        raise ValueError(f"window at {origin} of shape {g32_us.shape} does not fit in g_us {g.shape}")
    return _refresh_f32_kernel(g, cells, r0, c0, g32_us, rowsum_us)


@functools.lru_cache(maxsize=256)
def _setting(mode, dac_bits, v_read_v, a_per_v, adc_bits, i_min_ua, i_max_ua, offset_ua, gain_error,
             noise_ua, pair_mode):
    """Validated per-setting constants of :func:`quantized_mvm` (read-only, memoized per argument tuple)."""
    mode_id = check_mode(mode)
    pair_id = _pair_id(pair_mode)
    code_max = dac_code_max(dac_bits)
    lsb_ua = adc_lsb_ua(adc_bits, i_min_ua, i_max_ua)
    tabs, plane_scale = _cached_tables(mode, int(dac_bits), float(v_read_v), float(a_per_v))
    prm = np.array([float(code_max), 1.0 + float(gain_error), float(offset_ua), float(noise_ua),
                    float(i_min_ua), lsb_ua, float((1 << int(adc_bits)) - 1),
                    float(code_max) if mode_id == 0 else 1.0])
    prm.flags.writeable = False
    return (mode_id, pair_id, reads_per_vector(mode, dac_bits), tabs, plane_scale, prm,
            float(noise_ua) != 0.0)


def quantized_mvm(x, g_us, var_g_us2, *, mode, dac_bits, v_read_v, adc_bits, adc_i_min_ua,
                  adc_i_max_ua, adc_offset_ua=0.0, adc_gain_error=0.0, adc_noise_ua=0.0,
                  iv_nonlinearity_per_v=0.0, pair_mode=None, read_noise_draws=None,
                  adc_noise_draws=None, g_rowsum_us=None, path="auto", workspace=None):
    """Full quantized MVM of a batch: DAC → (per read) noisy column currents → ADC → digital combine.

    x: (batch, rows) inputs in [-1, 1] (or (rows,)); g_us: (rows, cols) µS incl. the telegraph state
    (float64, or C-contiguous float32 from :func:`conductance_f32_us` to halve the memory streamed per
    vector: the MVM of ``g_us.astype(float64)``, see docs); var_g_us2: (rows, cols) µS² white
    read-noise variance (float64, or C-contiguous float32 from :func:`noise_variance_f32_us2`: sgemm,
    float32 noise sums), or None for no read noise; read_noise_draws / adc_noise_draws: standard
    normals with the shapes of :func:`noise_draw_shapes` (required iff var_g_us2 is not None /
    adc_noise_ua > 0); pair_mode: None, "analog" or "digital"; g_rowsum_us: optional (rows,) float64
    row sums of ``g_us`` (:func:`conductance_rowsum_us`; the caller vouches for them) from which the
    cell power is computed — saves a multiply-add per cell in the fused path; path: "auto", "fused"
    (single-pass numba, default for batch <= SMALL_BATCH_MAX) or "blas"; workspace: the caller's
    :class:`MvmWorkspace` for the BLAS path's scratch arrays (None: fresh ones).  Returns :class:`MvmResult`.
    """
    mode_id, pair_id, n_reads, tabs, plane_scale, prm, has_za = _setting(
        mode, dac_bits, v_read_v, iv_nonlinearity_per_v, adc_bits, adc_i_min_ua, adc_i_max_ua, adc_offset_ua,
        adc_gain_error, adc_noise_ua, pair_mode)
    # Cheap checks only (this wrapper is a good part of a batch-1 call): dtypes are normalized, and the
    # layout of g / var (C order, for vectorized sweeps); the small arrays may have any layout (numba
    # compiles a strided variant of a kernel on first use).
    if type(x) is not _ND or x.dtype is not _F64:
        x = np.asarray(x, dtype=np.float64)
    squeeze = x.ndim == 1
    if squeeze:
        x = x.reshape(1, -1)
    g = g_us
    if type(g) is not _ND or (g.dtype is not _F64 and g.dtype is not _F32) or not g.flags.c_contiguous:
        g = _f32_or_f64c(g)
    x_shape = x.shape
    g_shape = g.shape
    if len(x_shape) != 2 or len(g_shape) != 2 or x_shape[1] != g_shape[0]:
        raise ValueError(f"shapes x {x_shape} and g_us {g_shape} do not match (batch, rows) @ (rows, cols)")
    n_b, n_r = x_shape
    n_c = g_shape[1]
    if pair_id == 0:
        n_out = n_c
    elif n_c % 2:
        raise ValueError("differential pairs need an even number of columns")
    else:
        n_out = n_c // 2
    has_var = var_g_us2 is not None
    if has_var:
        var = var_g_us2
        if type(var) is not _ND or (var.dtype is not _F32 and var.dtype is not _F64) or not var.flags.c_contiguous:
            var = _f32_or_f64c(var)
        if var.shape != g_shape:
            raise ValueError(f"var_g_us2 shape {var.shape} != g_us shape {g_shape}")
        zr = read_noise_draws
        if zr is None:
            raise ValueError(f"var_g_us2 given: read_noise_draws of shape {(n_reads, n_b, n_c)} required")
        if type(zr) is not _ND or zr.dtype is not _F64:
            zr = np.asarray(zr, dtype=np.float64)
        if zr.shape != (n_reads, n_b, n_c):
            raise ValueError(f"read_noise_draws shape {zr.shape} != expected {(n_reads, n_b, n_c)}")
    else:
        var = g
        zr = _DUMMY3
    if has_za:
        adc_shape = (n_reads, n_b, n_c if pair_id != 1 else n_out)
        za = adc_noise_draws
        if za is None:
            raise ValueError(f"adc_noise_ua > 0: adc_noise_draws of shape {adc_shape} required")
        if type(za) is not _ND or za.dtype is not _F64:
            za = np.asarray(za, dtype=np.float64)
        if za.shape != adc_shape:
            raise ValueError(f"adc_noise_draws shape {za.shape} != expected {adc_shape}")
    else:
        za = _DUMMY3
    has_rowsum = g_rowsum_us is not None
    if has_rowsum:
        rowsum_us = g_rowsum_us
        if type(rowsum_us) is not _ND or rowsum_us.dtype is not _F64:
            rowsum_us = np.asarray(rowsum_us, dtype=np.float64)
        if rowsum_us.shape != (n_r,):
            raise ValueError(f"g_rowsum_us shape {rowsum_us.shape} != ({n_r},)")
    else:
        rowsum_us = _DUMMY1
    y = np.empty((n_b, n_out))
    power = np.empty(n_b)
    if path == "auto":
        path = "fused" if n_b <= SMALL_BATCH_MAX else "blas"
    if path == "fused":
        n_sat, n_clipped = _fused_small_kernel(x, g, var, rowsum_us, zr, za, tabs, plane_scale, prm, has_var,
                                               has_var and var.dtype is _F32, has_rowsum, has_za, pair_id, y,
                                               power)
    elif path == "blas":
        work = workspace if workspace is not None else MvmWorkspace()
        if g.dtype is _F32:  # widened exactly: the products below are those of g.astype(float64)
            g64 = work.array("g64", g.shape, np.float64)
            g64[...] = g
            g = g64
        if not has_rowsum:
            rowsum_us = g.sum(axis=1)
        drive = work.array("drive", (n_reads * n_b, n_r), np.float64)
        drive2 = work.array("drive2", (n_reads * n_b, n_r), var.dtype) if has_var else _DUMMY2
        n_clipped = _dac_drive_kernel(x, prm[0], tabs[0], tabs[1], rowsum_us, has_var,
                                      drive.reshape(n_reads, n_b, n_r),
                                      drive2.reshape(n_reads, n_b, n_r) if has_var else _DUMMY3, power)
        i_ua = np.matmul(drive, g, out=work.array("i_ua", (n_reads * n_b, n_c), np.float64))
        i_ua = i_ua.reshape(n_reads, n_b, n_c)
        if has_var:
            s_ua2 = np.matmul(drive2, var, out=work.array("s_ua2", (n_reads * n_b, n_c), var.dtype))
            s_ua2 = s_ua2.reshape(n_reads, n_b, n_c)
        else:
            s_ua2 = i_ua
        n_sat = _adc_batch_kernel(i_ua, s_ua2, zr, za, plane_scale, prm, has_var, has_za, pair_id, y)
    else:
        raise ValueError(f"unknown path {path!r}; expected 'auto', 'fused' or 'blas'")
    n_conv = n_reads * n_b * (n_c if pair_id != 1 else n_out)
    if squeeze:
        y = y[0]
    return MvmResult(y, int(n_sat), n_conv, power, int(n_clipped))
