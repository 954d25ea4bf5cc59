"""Scalar formulas shared by several kernel modules (the one module kernels may import from others).

numba's cache does not notice when a kernel in another file changes, so shared code lives only here
and only changes together with a cache clear (``find . -name '*.nbi' -delete``).
"""

import math

import numba
import numpy as np

# --- converters and MVM ---


@numba.njit(cache=True)
def dac_code_f(x, code_max_f):
    """Signed DAC code of one input ``x`` as an exact-integer float64 (``code_max_f`` float):
    ``sign(x) · min(floor(|x| · code_max + 0.5), code_max)``."""
    m = min(np.floor(abs(x) * code_max_f + 0.5), code_max_f)
    if x < 0.0:
        return -m
    return m


@numba.njit(cache=True)
def adc_code_f(i_seen_ua, i_min_ua, lsb_ua, code_top_f):
    """The ADC's quantize step: code of the current the comparators see (µA) as an exact-integer float64,
    ``floor((i_seen_ua − i_min_ua) / lsb_ua + 0.5)`` clipped to ``[0, code_top_f]``, and whether it
    saturated (the unclipped code was outside that range).  Branch-free, so loops over it vectorize."""
    q = np.floor((i_seen_ua - i_min_ua) / lsb_ua + 0.5)
    saturated = (q < 0.0) | (q > code_top_f)
    return min(max(q, 0.0), code_top_f), saturated


@numba.njit(cache=True)
def iv_factor_scalar(v_v, a_per_v):
    """I–V non-linearity ``f(v) = sinh(a·v)/(a·v)`` (1 at a·v = 0), dimensionless."""
    t = a_per_v * v_v
    if t == 0.0:
        return 1.0
    return math.sinh(t) / t


@numba.njit(cache=True)
def relaxed_g_us(g_prog_us, relax_us, t_prog_ps, now_ps, tau_relax_ps, settle_ps):
    """``g_prog + Δ·(1 − exp(−(t − t_prog)/τ))``; exactly ``g_prog + Δ`` once ``t − t_prog >= settle``.

    Cells with a negative ``t_prog_ps`` (unformed or stuck) and cells with Δ = 0 stay at ``g_prog``.
    """
    g = np.float64(g_prog_us)
    d = np.float64(relax_us)
    if t_prog_ps < 0 or d == 0.0:
        return g
    dt = now_ps - t_prog_ps
    if dt <= 0:
        return g
    if dt >= settle_ps:
        return g + d
    return g + d * (1.0 - math.exp(-np.float64(dt) / tau_relax_ps))


@numba.njit(cache=True)
def telegraph_offset_us(g_us, lvl, amp_us, exponent, g_ref_us):
    """``½·A(g)·level`` of one cell, µS."""
    if lvl == 0.0 or g_us <= 0.0:
        return 0.0
    return 0.5 * amp_us * (g_us / g_ref_us) ** exponent * lvl


@numba.njit(cache=True)
def telegraph_step_us(c, u, now_ps, t_floor_ps, g_us, rtn_level, t_rtn_ps, rtn_tau_ps, amp_us, exponent, g_ref_us):
    """Advance cell *c*'s fluctuator to *now_ps* with uniform draw *u*; return its offset, µS.

    The cell was last evaluated at ``max(t_rtn_ps[c], t_floor_ps)``.
    """
    lvl = np.float64(rtn_level[c])
    dt = now_ps - max(t_rtn_ps[c], t_floor_ps)
    if dt > 0:
        p = 0.5 * (1.0 - math.exp(-2.0 * np.float64(dt) / np.float64(rtn_tau_ps[c])))
        if u < p:
            lvl = -lvl
            rtn_level[c] = np.float32(lvl)
        t_rtn_ps[c] = now_ps
    return telegraph_offset_us(g_us, lvl, amp_us, exponent, g_ref_us)
