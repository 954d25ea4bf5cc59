"""DAC and ADC transfer functions of the compute-in-memory macro.

Units: current µA (``_ua``), voltage V (``_v``); codes are int64.

DAC
    ``x`` in [-1, 1] → signed code ``c = sign(x) · floor(|x| · code_max + 0.5)`` clipped to
    ``[-code_max, code_max]`` with ``code_max = 2**(bits-1) - 1`` (symmetric, round half away
    from zero).  An input with ``|x| > 1`` counts as clipped.
    Input modes (how a code drives a row, see :mod:`twin.physics.mvm`):

    * ``bit_serial``: ``bits - 1`` reads (magnitude bit planes), ADC per plane, shift-and-add;
    * ``pwm``: one read, row on at ``±v_read_v`` for the fraction ``|c| / code_max`` of the window;
    * ``amplitude``: one read, row voltage ``c / code_max · v_read_v``.

ADC
    Unsigned mid-tread uniform quantizer with ``2**bits`` levels
    ``i_min_ua + k · lsb_ua`` (k = 0 … 2**bits − 1), ``lsb_ua = (i_max_ua − i_min_ua) / (2**bits − 1)``,
    so code 0 reconstructs exactly to ``i_min_ua`` and the top code to ``i_max_ua``.
    The current the comparators see is
    ``i_seen_ua = (1 + gain_error) · i_ua + offset_ua + noise_ua · z`` (z standard normal, passed in);
    ``code = floor((i_seen_ua − i_min_ua) / lsb_ua + 0.5)`` clipped to ``[0, 2**bits − 1]``; a conversion
    whose unclipped code falls outside that range is *saturated* (counted).  The inverse map is the
    ideal (uncalibrated) one, ``i_est_ua = i_min_ua + code · lsb_ua``.  For bipolar currents use
    :func:`adc_bipolar_range_ua`, which makes zero current a reconstruction level.  An
    :class:`AdcSetting` names one such converter (resolution, range, errors).

The per-element formulas (``dac_code_f``, ``adc_code_f``) live in :mod:`twin.physics._numerics`, shared
with the MVM kernels: one DAC and one ADC.
"""

from dataclasses import dataclass

import numba
import numpy as np

from twin.physics._numerics import adc_code_f, dac_code_f
from twin.physics.modes import INPUT_MODES, PAIR_MODES


def input_mode_id(mode):
    """The kernels' integer id of input ``mode`` (its index in ``INPUT_MODES``); ``ValueError`` if unknown."""
    if mode not in INPUT_MODES:
        raise ValueError(f"unknown input mode {mode!r}; expected one of {INPUT_MODES}")
    return INPUT_MODES.index(mode)


def pair_mode_id(pair_mode):
    """The kernels' integer id of ``pair_mode`` (its index in ``PAIR_MODES``); ``ValueError`` if unknown."""
    if pair_mode not in PAIR_MODES:
        raise ValueError(f"unknown pair mode {pair_mode!r}; expected one of {PAIR_MODES}")
    return PAIR_MODES.index(pair_mode)


def dac_code_max(bits):
    """Largest DAC code magnitude ``2**(bits-1) - 1`` for a signed ``bits``-bit input (bits >= 2)."""
    bits = int(bits)
    if bits < 2 or bits > 32:
        raise ValueError(f"dac bits must be in [2, 32], got {bits}")
    return (1 << (bits - 1)) - 1


def reads_per_vector(mode, dac_bits):
    """Array reads per input vector (bit-serial planes; ADC conversion rounds): ``dac_bits - 1`` for
    bit_serial, else 1.  The one place the plane count is computed."""
    dac_code_max(dac_bits)
    input_mode_id(mode)
    return int(dac_bits) - 1 if mode == "bit_serial" else 1


def adc_conversions_per_column(mode, dac_bits):
    """ADC conversions per column (or per differential pair) per input vector."""
    return reads_per_vector(mode, dac_bits)


def adc_conversions_per_vector(mode, dac_bits, n_cols, pair_mode="none"):
    """ADC conversions per input vector for ``n_cols`` physical columns.

    ``pair_mode`` (one of ``PAIR_MODES``): ``"none"`` (every column converted), ``"digital"`` (every
    column converted, then codes subtracted) or ``"analog"`` (one conversion per pair of columns (2k, 2k+1)).
    """
    n_cols = int(n_cols)
    pair_mode_id(pair_mode)
    if pair_mode != "none" and n_cols % 2:
        raise ValueError("differential pairs need an even number of columns")
    per_read = n_cols // 2 if pair_mode == "analog" else n_cols
    return reads_per_vector(mode, dac_bits) * per_read


# ----------------------------------------------------------------------------------------------
# DAC


@numba.njit(cache=True)
def _dac_encode_kernel(x, code_max_f, codes):
    n_b, n_r = x.shape
    n_clipped = 0
    for b in range(n_b):
        for i in range(n_r):
            xi = x[b, i]
            codes[b, i] = np.int64(dac_code_f(xi, code_max_f))
            if abs(xi) > 1.0:
                n_clipped += 1
    return n_clipped


def dac_encode(x, bits):
    """Encode inputs ``x`` (batch, rows) in [-1, 1] to signed codes.

    Returns ``(codes, n_clipped)``: int64 codes (batch, rows) in [-code_max, code_max] and the
    number of inputs with ``|x| > 1``.
    """
    code_max = dac_code_max(bits)
    x = np.asarray(x, dtype=np.float64)
    squeeze = x.ndim == 1
    x2 = np.ascontiguousarray(x.reshape(1, -1) if squeeze else x)
    if x2.ndim != 2:
        raise ValueError("x must be (batch, rows) or (rows,)")
    codes = np.empty(x2.shape, dtype=np.int64)
    n_clipped = _dac_encode_kernel(x2, float(code_max), codes)
    return (codes[0] if squeeze else codes), int(n_clipped)


def bit_planes(codes, bits):
    """Signed magnitude bit planes of ``codes`` (batch, rows): int8 array (bits-1, batch, rows).

    Plane p holds ``sign(c) · ((|c| >> p) & 1)`` in {-1, 0, +1}; ``sum_p 2**p · plane_p == codes``.
    """
    dac_code_max(bits)
    codes = np.asarray(codes, dtype=np.int64)
    mag = np.abs(codes)
    sgn = np.sign(codes)
    planes = np.empty((int(bits) - 1,) + codes.shape, dtype=np.int8)
    for p in range(int(bits) - 1):
        planes[p] = sgn * ((mag >> p) & 1)
    return planes


# ----------------------------------------------------------------------------------------------
# ADC


@dataclass(frozen=True, slots=True)
class AdcSetting:
    """One ADC as it converts: the spec's resolution and errors at the range in use (µA)."""

    bits: int
    """Resolution: codes 0 … 2**bits − 1."""
    i_min_ua: float
    """Current of code 0."""
    i_max_ua: float
    """Current of the top code."""
    offset_ua: float = 0.0
    """Input-referred offset added to every current."""
    gain_error: float = 0.0
    """Relative gain error: the comparators see ``(1 + gain_error) · i``."""
    noise_ua: float = 0.0
    """Standard deviation of the input-referred noise (0: none, and no draws are needed)."""

    def __post_init__(self):
        adc_lsb_ua(self.bits, self.i_min_ua, self.i_max_ua)  # checks bits and range

    @property
    def lsb_ua(self):
        """ADC step, µA."""
        return adc_lsb_ua(self.bits, self.i_min_ua, self.i_max_ua)


def adc_lsb_ua(bits, i_min_ua, i_max_ua):
    """ADC step (µA): ``(i_max_ua - i_min_ua) / (2**bits - 1)``."""
    bits = int(bits)
    if bits < 1 or bits > 32:
        raise ValueError(f"adc bits must be in [1, 32], got {bits}")
    if not i_max_ua > i_min_ua:
        raise ValueError("ADC range needs i_max_ua > i_min_ua")
    return (float(i_max_ua) - float(i_min_ua)) / float((1 << bits) - 1)


def adc_bipolar_range_ua(full_scale_ua, bits):
    """(i_min_ua, i_max_ua) = (-full_scale_ua, full_scale_ua - lsb) with lsb = full_scale_ua / 2**(bits-1).

    With this range code ``2**(bits-1)`` reconstructs to zero current (two's-complement-like levels).
    """
    bits = int(bits)
    lsb_ua = float(full_scale_ua) / float(1 << (bits - 1))
    return -float(full_scale_ua), float(full_scale_ua) - lsb_ua


@numba.njit(cache=True)
def _adc_convert_kernel(i_ua, z, has_noise, gain, offset_ua, noise_ua, i_min_ua, lsb_ua, code_top_f,
                        codes, i_est_ua, saturated):
    n_sat = 0
    for j in range(i_ua.shape[0]):
        s = gain * i_ua[j] + offset_ua
        if has_noise:
            s = s + noise_ua * z[j]
        q, sat = adc_code_f(s, i_min_ua, lsb_ua, code_top_f)
        codes[j] = np.int64(q)
        i_est_ua[j] = i_min_ua + q * lsb_ua
        saturated[j] = sat
        n_sat += sat
    return n_sat


def adc_convert(i_ua, bits, i_min_ua, i_max_ua, offset_ua=0.0, gain_error=0.0, noise_ua=0.0,
                noise_draws=None, saturated=None):
    """Convert currents ``i_ua`` (any shape, typically (batch, cols)) with a ``bits``-bit ADC.

    ``noise_draws``: standard normals of the same shape as ``i_ua`` (required iff ``noise_ua > 0``);
    ``saturated``: optional bool array of that shape that receives, per conversion, whether it saturated.
    Returns ``(codes int64, i_est_ua float64, n_saturated int)``; codes in [0, 2**bits - 1].
    """
    lsb_ua = adc_lsb_ua(bits, i_min_ua, i_max_ua)
    i_ua = np.asarray(i_ua, dtype=np.float64)
    shape = i_ua.shape
    i1 = np.ascontiguousarray(i_ua).reshape(-1)
    has_noise = noise_ua != 0.0
    if has_noise:
        if noise_draws is None:
            raise ValueError("noise_ua > 0 needs noise_draws of the shape of i_ua")
        z = np.asarray(noise_draws, dtype=np.float64)
        if z.shape != shape:
            raise ValueError(f"noise_draws shape {z.shape} != currents shape {shape}")
        z = np.ascontiguousarray(z).reshape(-1)
    else:
        z = np.zeros(1)
    if saturated is None:
        sat = np.empty(i1.shape, dtype=np.bool_)
    elif saturated.shape != shape or saturated.dtype != np.bool_ or not saturated.flags.c_contiguous:
        raise ValueError(f"saturated must be a C-contiguous bool array of shape {shape}")
    else:
        sat = saturated.reshape(-1)
    codes = np.empty(i1.shape, dtype=np.int64)
    i_est = np.empty(i1.shape, dtype=np.float64)
    n_sat = _adc_convert_kernel(i1, z, has_noise, 1.0 + float(gain_error), float(offset_ua),
                                float(noise_ua), float(i_min_ua), lsb_ua, float((1 << int(bits)) - 1),
                                codes, i_est, sat)
    return codes.reshape(shape), i_est.reshape(shape), int(n_sat)


def adc_code_to_current_ua(codes, bits, i_min_ua, i_max_ua):
    """Ideal inverse map: ``i_min_ua + codes · lsb_ua`` (float64, shape of ``codes``)."""
    lsb_ua = adc_lsb_ua(bits, i_min_ua, i_max_ua)
    return float(i_min_ua) + np.asarray(codes, dtype=np.int64) * lsb_ua
