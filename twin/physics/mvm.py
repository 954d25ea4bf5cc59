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

Two paths, agreeing to rounding (~1e-15 relative before quantization) but not bit for bit: batches of up to
``SMALL_BATCH_MAX`` vectors take a single numba pass; larger ones multiply with BLAS ``@`` (deterministic
for a given machine and BLAS thread setting) and finish in one numba pass for noise, ADC and combine.  The
kernels (in :mod:`twin.physics._mvm_kernels`) are serial, so results do not depend on
``NUMBA_NUM_THREADS``.  Operands may be prepared once per array state to stream less memory per vector:
:func:`noise_variance_f32_us2`, :func:`conductance_f32_us` and :func:`conductance_rowsum_us`, kept up to date
cell by cell with :func:`refresh_conductance_f32_us`.  Why, and what each saves: docs/performance.md.
"""

import functools
from typing import NamedTuple

import numpy as np

from twin.physics._mvm_kernels import (
    MODE_BIT_SERIAL,
    N_PRM,
    PAIR_ANALOG,
    PAIR_NONE,
    PRM_CODE_MAX,
    PRM_CODE_TOP,
    PRM_DIVISOR,
    PRM_GAIN,
    PRM_I_MIN_UA,
    PRM_LSB_UA,
    PRM_NOISE_UA,
    PRM_OFFSET_UA,
    adc_batch_kernel,
    dac_drive_kernel,
    drive_tables_kernel,
    fused_small_kernel,
    refresh_f32_kernel,
    row_sums_kernel,
)
from twin.physics._numerics import iv_factor_scalar
from twin.physics.converters import (
    AdcSetting,
    adc_conversions_per_vector,
    adc_convert,
    dac_code_max,
    input_mode_id,
    pair_mode_id,
    reads_per_vector,
)

__all__ = ["SMALL_BATCH_MAX", "AdcSetting", "MvmResult", "MvmWorkspace", "conductance_f32_us",
           "conductance_rowsum_us", "drive_tables", "iv_factor_scalar", "noise_draw_shapes",
           "noise_variance_f32_us2", "pair_convert", "quantized_mvm", "refresh_conductance_f32_us",
           "row_drive_v"]

SMALL_BATCH_MAX = 8
"""Batches up to this size use the single-pass numba kernel (``path="auto"``)."""


# ----------------------------------------------------------------------------------------------
# per-row drive


def drive_tables(mode, dac_bits, v_read_v, iv_nonlinearity_per_v=0.0):
    """Lookup tables ``(u_tab_v, p_tab_v2)``, each (reads, 2·code_max + 1), indexed [read, code + code_max]:
    row drive ``u = v·f(v)`` (V) and cell power weight (V², power = p · g) of a row with that code."""
    mode_id = input_mode_id(mode)
    code_max = dac_code_max(dac_bits)
    if int(dac_bits) > 16:
        raise ValueError("dac_bits > 16 not supported (drive tables)")
    n_reads = reads_per_vector(mode, dac_bits)
    a = float(iv_nonlinearity_per_v)
    v_read_v = float(v_read_v)
    u_read_v = v_read_v * float(iv_factor_scalar(v_read_v, a))
    u_tab = np.empty((n_reads, 2 * code_max + 1))
    p_tab = np.empty((n_reads, 2 * code_max + 1))
    drive_tables_kernel(mode_id, code_max, v_read_v, u_read_v, a, u_tab, p_tab)
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
# differential pairs on the analog layer


def pair_convert(i_ua, pair_mode, adc, noise_draws=None):
    """Convert noisy column currents ``i_ua`` (..., cols) µA with the ADC ``adc`` (an :class:`AdcSetting`).

    ``pair_mode`` ``"none"``: every column (draws (..., cols)); codes and estimates as :func:`adc_convert`.
    For differential pairs (2k, 2k+1) → (..., cols/2): ``"analog"``: the ADC converts ``i_2k − i_2k+1``
    (draws (..., cols/2)); codes are the ADC codes and the estimate is the ADC inverse map.
    ``"digital"``: both columns converted (draws (..., cols)); codes are ``code_2k − code_2k+1`` (signed)
    and the estimate ``(code_2k − code_2k+1) · lsb_ua``.  Returns ``(codes int64, i_est_ua, n_saturated)``.
    """
    pair_id = pair_mode_id(pair_mode)
    i_ua = np.asarray(i_ua, dtype=np.float64)
    if pair_id != PAIR_NONE and i_ua.shape[-1] % 2:
        raise ValueError("differential pairs need an even number of columns")
    args = (adc.bits, adc.i_min_ua, adc.i_max_ua, adc.offset_ua, adc.gain_error, adc.noise_ua, noise_draws)
    if pair_id == PAIR_ANALOG:
        return adc_convert(i_ua[..., 0::2] - i_ua[..., 1::2], *args)
    codes, i_est_ua, n_sat = adc_convert(i_ua, *args)
    if pair_id == PAIR_NONE:
        return codes, i_est_ua, n_sat
    dc = codes[..., 0::2] - codes[..., 1::2]
    return dc, dc * adc.lsb_ua, n_sat


# ----------------------------------------------------------------------------------------------
# fused quantized pipeline


def noise_draw_shapes(mode, dac_bits, batch, n_cols, pair_mode="none"):
    """Shapes ``(read_shape, adc_shape)`` of the standard-normal draws :func:`quantized_mvm` takes.

    read: (reads, batch, n_cols) — one per read, vector and physical column;
    adc: (reads, batch, n_adc) — one per conversion (n_adc = n_cols/2 for analog pairs).
    """
    n_reads = reads_per_vector(mode, dac_bits)
    n_adc = adc_conversions_per_vector(mode, dac_bits, n_cols, pair_mode) // n_reads
    return (n_reads, int(batch), int(n_cols)), (n_reads, int(batch), n_adc)


_DUMMY1 = np.zeros(1)
_DUMMY2 = np.zeros((1, 1))
_DUMMY3 = np.zeros((1, 1, 1))
"""Stand-ins for the arrays a kernel does not use in a call (never written)."""


# The memo tables below are shared by every caller and read-only by contract: only kernels read them
# (not flagged read-only, which would slow every kernel call; see docs/performance.md).


@functools.lru_cache(maxsize=256)
def _cached_tables(mode, dac_bits, v_read_v, iv_nonlinearity_per_v):
    """(tabs (2, reads, 2·code_max+1) = [u_tab, p_tab], plane_scale (reads,)), memoized per setting."""
    u_tab, p_tab = drive_tables(mode, dac_bits, v_read_v, iv_nonlinearity_per_v)
    return np.stack([u_tab, p_tab]), np.array([float(1 << r) for r in range(u_tab.shape[0])])


class _Setting(NamedTuple):
    """What :func:`quantized_mvm` derives from its scalar arguments (memoized; never written)."""

    pair_id: int
    """The kernels' id of the pair mode (``PAIR_*`` of :mod:`twin.physics._mvm_kernels`)."""
    n_reads: int
    """Array reads per vector (:func:`reads_per_vector`)."""
    tabs: np.ndarray
    """(2, reads, 2·code_max+1): row drive (V) and power weight (V²) per read and code (:func:`drive_tables`)."""
    plane_scale: np.ndarray
    """(reads,): weight of each read in the digital combine (2**plane for bit_serial, else 1)."""
    prm: np.ndarray
    """The kernels' float64 parameter vector, slots ``PRM_*`` of :mod:`twin.physics._mvm_kernels`."""
    has_adc_noise: bool
    """Whether the ADC has input-referred noise (then draws are required)."""


@functools.lru_cache(maxsize=256)
def _setting(mode, dac_bits, v_read_v, iv_nonlinearity_per_v, adc, pair_mode):
    """Validated per-setting constants of :func:`quantized_mvm`, memoized per argument tuple."""
    mode_id = input_mode_id(mode)
    code_max = float(dac_code_max(dac_bits))
    tabs, plane_scale = _cached_tables(mode, int(dac_bits), float(v_read_v), float(iv_nonlinearity_per_v))
    prm = np.empty(N_PRM)
    prm[PRM_CODE_MAX] = code_max
    prm[PRM_GAIN] = 1.0 + float(adc.gain_error)
    prm[PRM_OFFSET_UA] = float(adc.offset_ua)
    prm[PRM_NOISE_UA] = float(adc.noise_ua)
    prm[PRM_I_MIN_UA] = float(adc.i_min_ua)
    prm[PRM_LSB_UA] = adc.lsb_ua
    prm[PRM_CODE_TOP] = float((1 << int(adc.bits)) - 1)
    prm[PRM_DIVISOR] = code_max if mode_id == MODE_BIT_SERIAL else 1.0
    return _Setting(pair_mode_id(pair_mode), reads_per_vector(mode, dac_bits), tabs, plane_scale, prm,
                    float(adc.noise_ua) != 0.0)


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
        row_sums_kernel(g, _NO_ROWS, True, out)
    else:
        if out is None or out.shape != (g.shape[0],) or out.dtype != _F64:
            raise ValueError("rows given: out must be the float64 (rows,) array to update")
        rows = np.ascontiguousarray(rows, dtype=np.int64)
        if rows.size and (rows.min() < 0 or rows.max() >= g.shape[0]):
            raise ValueError(f"rows must be in [0, {g.shape[0]})")
        row_sums_kernel(g, rows, False, out)
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
    return refresh_f32_kernel(g, cells, r0, c0, g32_us, rowsum_us)


def quantized_mvm(x, g_us, var_g_us2, *, mode, dac_bits, v_read_v, adc, iv_nonlinearity_per_v=0.0,
                  pair_mode="none", read_noise_draws=None, adc_noise_draws=None, g_rowsum_us=None, path="auto",
                  workspace=None):
    """Full quantized MVM of a batch: DAC → (per read) noisy column currents → ADC → digital combine.

    Parameters:

    - ``x``: (batch, rows) or (rows,) inputs in [-1, 1] (full scale = ``v_read_v``); |x| > 1 is clipped
      and counted.
    - ``g_us``: (rows, cols) conductances, µS, telegraph state included: float64, or the C-contiguous
      float32 of :func:`conductance_f32_us` (then the MVM of ``g_us.astype(float64)``).
    - ``var_g_us2``: (rows, cols) white read-noise variance per cell, µS², float64 or the float32 of
      :func:`noise_variance_f32_us2` (float32 noise sums); None: no read noise.
    - ``mode``: input mode, one of ``INPUT_MODES``; ``dac_bits``: DAC resolution (2 … 16).
    - ``v_read_v``: read voltage of a full-scale input, V.
    - ``adc``: the :class:`AdcSetting` the columns are converted with (resolution, range µA, offset µA,
      gain error, noise σ µA).
    - ``iv_nonlinearity_per_v``: a of the cell I–V curve ``sinh(a·v)/(a·v)``, 1/V (0: ohmic).
    - ``pair_mode``: one of ``PAIR_MODES`` (``"none"``, ``"analog"``, ``"digital"``).
    - ``read_noise_draws``, ``adc_noise_draws``: standard normals of the shapes of :func:`noise_draw_shapes`,
      required iff ``var_g_us2`` is given / ``adc.noise_ua > 0``.
    - ``g_rowsum_us``: optional (rows,) float64 row sums of ``g_us``, µS (:func:`conductance_rowsum_us`; the
      caller vouches for them): the cell power then costs no multiply-add per cell.
    - ``path``: ``"auto"``, ``"fused"`` (single numba pass, auto for batch <= ``SMALL_BATCH_MAX``) or
      ``"blas"``.
    - ``workspace``: the caller's :class:`MvmWorkspace` for the BLAS path's scratch arrays (None: fresh ones).

    Returns an :class:`MvmResult` (estimate in µA, counts, cell power in µW).
    """
    pair_id, n_reads, tabs, plane_scale, prm, has_za = _setting(mode, dac_bits, v_read_v, iv_nonlinearity_per_v,
                                                                adc, pair_mode)
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
    if pair_id == PAIR_NONE:
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
        adc_shape = (n_reads, n_b, n_c if pair_id != PAIR_ANALOG else n_out)
        za = adc_noise_draws
        if za is None:
            raise ValueError(f"adc.noise_ua > 0: adc_noise_draws of shape {adc_shape} required")
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
        n_sat, n_clipped = fused_small_kernel(x, g, var, rowsum_us, zr, za, tabs, plane_scale, prm,
                                                      has_var, has_var and var.dtype is _F32, has_rowsum, has_za,
                                                      pair_id, y, power)
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
        n_clipped = dac_drive_kernel(x, prm[PRM_CODE_MAX], tabs[0], tabs[1], rowsum_us, has_var,
                                             drive.reshape(n_reads, n_b, n_r),
                                             drive2.reshape(n_reads, n_b, n_r) if has_var else _DUMMY3, power)
        i_ua = np.matmul(drive, g, out=work.array("i_ua", (n_reads * n_b, n_c), np.float64))
        i_ua = i_ua.reshape(n_reads, n_b, n_c)
        if has_var:
            s_ua2 = np.matmul(drive2, var, out=work.array("s_ua2", (n_reads * n_b, n_c), var.dtype))
            s_ua2 = s_ua2.reshape(n_reads, n_b, n_c)
        else:
            s_ua2 = i_ua
        n_sat = adc_batch_kernel(i_ua, s_ua2, zr, za, plane_scale, prm, has_var, has_za, pair_id, y)
    else:
        raise ValueError(f"unknown path {path!r}; expected 'auto', 'fused' or 'blas'")
    n_conv = n_reads * n_b * (n_c if pair_id != PAIR_ANALOG else n_out)
    if squeeze:
        y = y[0]
    return MvmResult(y, int(n_sat), n_conv, power, int(n_clipped))

