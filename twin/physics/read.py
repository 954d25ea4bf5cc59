"""Read-time noise of RRAM cells: white read noise and random telegraph noise (RTN).

Units: conductance µS, time ps (int64). Equations: ``docs/physics/device.md``.

- White read noise: standard deviation ``σ = read_noise_abs_us + read_noise_rel·g``, independent
  from read to read.
- Telegraph noise: every cell has one two-state fluctuator. Its offset is ``½·A(g)·level`` with
  ``A(g) = rtn_amp_us·(g / g_ref_us)**rtn_exponent`` (peak-to-peak amplitude at multiplier 1) and
  ``level = ±m`` (sign: the fluctuator's state; m: the cell's defect multiplier, lowered by
  denoising). The state flips as a symmetric Markov process with mean dwell time τ (per cell):
  evaluated lazily, it has flipped an odd number of times since the last evaluation with
  probability ``p = ½·(1 − exp(−2·Δt/τ))``; the caller passes one uniform draw per cell.

Kernels are serial: each is a few nanoseconds per cell, and whole-array telegraph updates are
thinned (only likely flips are visited), so threads would cost more than they save.
"""

import math

import numba
import numpy as np

from twin.physics._numerics import telegraph_offset_us as _offset_one
from twin.physics._numerics import telegraph_step_us as _step_one


@numba.njit(cache=True)
def read_noise_var_us2(g_us, noise_abs_us, noise_rel, out_us2):
    """White read-noise variance ``(noise_abs_us + noise_rel·|g|)²`` of every element of *g_us* (1-D), µS²."""
    for i in range(g_us.size):
        s = noise_abs_us + noise_rel * abs(g_us[i])
        out_us2[i] = s * s


@numba.njit(cache=True)
def telegraph_us(idx, now_ps, t_floor_ps, g_us, rtn_level, t_rtn_ps, rtn_tau_ps, u, amp_us, exponent, g_ref_us,
                 out_us):
    """Telegraph offsets of cells *idx* at *now_ps*, written into ``out_us`` (n,).

    idx: (n,) int64 flat indices, no duplicates. g_us: (n,) float64 conductance of those cells.
    rtn_level (f32), t_rtn_ps (i64): per-cell state, updated in place; a cell was last evaluated at
    ``max(t_rtn_ps, t_floor_ps)``. rtn_tau_ps (f32): per-cell mean dwell time. u: (n,) uniform draws.
    """
    for i in range(idx.size):
        out_us[i] = _step_one(idx[i], u[i], now_ps, t_floor_ps, g_us[i], rtn_level, t_rtn_ps, rtn_tau_ps, amp_us,
                              exponent, g_ref_us)


@numba.njit(cache=True)
def telegraph_all_us(now_ps, t_floor_ps, g_us, rtn_level, t_rtn_ps, rtn_tau_ps, u, amp_us, exponent, g_ref_us,
                     out_us):
    """Telegraph offsets of every cell (flat arrays of length rows·cols); as :func:`telegraph_us` with idx = all."""
    for c in range(g_us.size):
        out_us[c] = _step_one(c, u[c], now_ps, t_floor_ps, g_us[c], rtn_level, t_rtn_ps, rtn_tau_ps, amp_us, exponent,
                              g_ref_us)


@numba.njit(cache=True)
def telegraph_offsets_us(g_us, rtn_level, amp_us, exponent, g_ref_us, out_us):
    """Telegraph offsets ``½·A(g)·level`` of every cell (flat arrays) without advancing any fluctuator."""
    for c in range(g_us.size):
        out_us[c] = _offset_one(g_us[c], np.float64(rtn_level[c]), amp_us, exponent, g_ref_us)


@numba.njit(cache=True)
def telegraph_offsets_at_us(idx, g_us, rtn_level, amp_us, exponent, g_ref_us, offsets_us, g_rtn_us):
    """Recompute the offsets of cells *idx* (and conductance + offset) in the whole-array caches, in place."""
    for k in range(idx.size):
        c = idx[k]
        off = _offset_one(g_us[c], np.float64(rtn_level[c]), amp_us, exponent, g_ref_us)
        offsets_us[c] = off
        g_rtn_us[c] = g_us[c] + off


@numba.njit(cache=True)
def telegraph_step_all(now_ps, t_floor_ps, tau_split_ps, p_bound, fast_cells, candidates, u_candidates, u_fast, rtn_level,
                       t_rtn_ps, rtn_tau_ps, flipped_out):
    """Advance every fluctuator to *now_ps*; write the indices of those that flipped; return their count.

    Fast cells (``rtn_tau_ps < tau_split_ps``, listed in ascending order in *fast_cells*) are few and
    are each advanced exactly, with the next draw of *u_fast* (in that order). The others flip with probability at most *p_bound*; the caller
    picks *candidates* among all cells with that probability, and a slow candidate flips when
    ``u·p_bound < p_c`` (thinning). Every cell thus flips with exactly its Markov probability.
    """
    n_flipped = 0
    for k in range(fast_cells.size):
        c = fast_cells[k]
        dt = now_ps - max(t_rtn_ps[c], t_floor_ps)
        if dt > 0:
            p = 0.5 * (1.0 - math.exp(-2.0 * np.float64(dt) / np.float64(rtn_tau_ps[c])))
            if u_fast[k] < p:
                rtn_level[c] = -rtn_level[c]
                flipped_out[n_flipped] = c
                n_flipped += 1
            t_rtn_ps[c] = now_ps
    for j in range(candidates.size):
        c = candidates[j]
        if rtn_tau_ps[c] < tau_split_ps:
            continue
        dt = now_ps - max(t_rtn_ps[c], t_floor_ps)
        if dt > 0:
            p = 0.5 * (1.0 - math.exp(-2.0 * np.float64(dt) / np.float64(rtn_tau_ps[c])))
            if u_candidates[j] * p_bound < p:
                rtn_level[c] = -rtn_level[c]
                flipped_out[n_flipped] = c
                n_flipped += 1
            t_rtn_ps[c] = now_ps
    return n_flipped
