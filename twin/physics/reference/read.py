"""Plain-numpy reference for :mod:`twin.physics.read`."""

import numpy as np


def read_noise_var_us2(g_us, noise_abs_us, noise_rel):
    """Reference for ``read.read_noise_var_us2``."""
    return (noise_abs_us + noise_rel * np.abs(g_us)) ** 2


def telegraph_us(idx, now_ps, t_floor_ps, g_us, rtn_level, t_rtn_ps, rtn_tau_ps, u, amp_us, exponent, g_ref_us):
    """Reference for ``read.telegraph_us``: returns the offsets, updates rtn_level and t_rtn_ps in place."""
    lvl = rtn_level[idx].astype(np.float64)
    dt = now_ps - np.maximum(t_rtn_ps[idx], t_floor_ps)
    p = 0.5 * (1.0 - np.exp(-2.0 * dt.astype(np.float64) / rtn_tau_ps[idx].astype(np.float64)))
    flip = (dt > 0) & (u < p)
    lvl = np.where(flip, -lvl, lvl)
    rtn_level[idx[flip]] = lvl[flip].astype(np.float32)
    t_rtn_ps[idx[dt > 0]] = now_ps
    with np.errstate(invalid="ignore", divide="ignore"):
        off = 0.5 * amp_us * (g_us / g_ref_us) ** exponent * lvl
    return np.where((lvl == 0.0) | (g_us <= 0.0), 0.0, off)


def telegraph_offsets_us(g_us, rtn_level, amp_us, exponent, g_ref_us):
    """Reference for ``read.telegraph_offsets_us``."""
    lvl = rtn_level.astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        off = 0.5 * amp_us * (g_us / g_ref_us) ** exponent * lvl
    return np.where((lvl == 0.0) | (g_us <= 0.0), 0.0, off)


def telegraph_step_all(now_ps, t_floor_ps, tau_split_ps, p_bound, fast_cells, candidates, u_candidates, u_fast,
                       rtn_level, t_rtn_ps, rtn_tau_ps):
    """Reference for ``read.telegraph_step_all``: returns the flipped indices (fast cells first, then
    candidates), updates rtn_level and t_rtn_ps in place."""
    tau = rtn_tau_ps.astype(np.float64)
    fast = np.flatnonzero(tau < tau_split_ps)
    assert np.array_equal(fast, fast_cells), "fast_cells must list the cells with rtn_tau_ps < tau_split_ps"
    dt = now_ps - np.maximum(t_rtn_ps[fast], t_floor_ps)
    p = 0.5 * (1.0 - np.exp(-2.0 * dt / tau[fast]))
    flip_fast = fast[(dt > 0) & (u_fast[:fast.size] < p)]
    t_rtn_ps[fast[dt > 0]] = now_ps
    slow = ~(tau[candidates] < tau_split_ps)
    cands, u = candidates[slow], u_candidates[slow]
    dt = now_ps - np.maximum(t_rtn_ps[cands], t_floor_ps)
    p = 0.5 * (1.0 - np.exp(-2.0 * dt / tau[cands]))
    flip_slow = cands[(dt > 0) & (u * p_bound < p)]
    t_rtn_ps[cands[dt > 0]] = now_ps
    flipped = np.concatenate([flip_fast, flip_slow])
    rtn_level[flipped] = -rtn_level[flipped]
    return flipped
