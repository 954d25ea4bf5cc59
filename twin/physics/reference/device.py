"""Plain-numpy reference for :mod:`twin.physics.device` (same equations, vectorized over pulses)."""

import numpy as np

from twin.physics.device import STUCK_HIGH, STUCK_LOW, UNFORMED


def relaxed_g_us(g_prog_us, relax_us, t_prog_ps, now_ps, tau_relax_ps, settle_ps):
    """Reference for ``_numerics.relaxed_g_us`` on arrays."""
    g = g_prog_us.astype(np.float64)
    d = relax_us.astype(np.float64)
    dt = now_ps - t_prog_ps
    active = (t_prog_ps >= 0) & (d != 0.0) & (dt > 0)
    frac = np.where(dt >= settle_ps, 1.0, 1.0 - np.exp(-dt.astype(np.float64) / tau_relax_ps))
    return np.where(active, g + d * frac, g)


def relax_sigma_us(g_us, sigma_peak_us, g_peak_us):
    """Reference for ``device.relax_sigma_us`` on arrays."""
    g_us = np.asarray(g_us, dtype=np.float64)
    u = g_us / g_peak_us
    return np.where(g_us > 0.0, sigma_peak_us * u * np.exp(1.0 - u), 0.0)


def pulse_response_g_us(idx, is_set, v_pulse_v, width_ps, v_gate_v, now_ps,
                        g_prog_us, relax_us, t_prog_ps, rtn_level, g_cache_us,
                        g_min_us, g_max_us, v_set_th_v, v_reset_th_v, set_rate, reset_rate,
                        z_c2c, z_relax, u_rtn, prm, energy_pj):
    """Reference for ``device.pulse_response_g_us``: same arguments, same in-place updates."""
    (t_set_ps, v_set_slope_v, t_reset_ps, v_reset_slope_v, v_reset_depth_v, v_gate_threshold_v,
     k_access_ua_per_v2, c2c_rel, c2c_abs_us, v_forming_v, tau_relax_ps, settle_ps,
     relax_sigma_peak_us, relax_g_peak_us, denoise_window_v, denoise_rate, denoise_floor,
     rtn_spread) = (float(p) for p in prm)
    tp = t_prog_ps[idx]
    g0 = relaxed_g_us(g_prog_us[idx], relax_us[idx], tp, now_ps, tau_relax_ps, settle_ps)
    gmin = g_min_us[idx].astype(np.float64)
    gmax = g_max_us[idx].astype(np.float64)
    w = width_ps.astype(np.float64)
    ov = v_gate_v - v_gate_threshold_v
    i_cc = np.where(ov > 0.0, 0.5 * k_access_ua_per_v2 * ov * ov, 0.0)
    stuck = (tp == STUCK_LOW) | (tp == STUCK_HIGH)
    unformed = tp == UNFORMED
    normal = ~stuck & ~unformed
    vset = v_set_th_v[idx].astype(np.float64)
    vreset = v_reset_th_v[idx].astype(np.float64)
    g_ceil = np.minimum(gmax, i_cc / vset)

    with np.errstate(over="ignore", invalid="ignore"):
        # forming
        form = unformed & is_set & (v_pulse_v >= v_forming_v) & (g_ceil > g0)
        # SET
        xs = v_pulse_v - vset
        set_on = normal & is_set & (xs > 0.0) & (g_ceil > g0)
        drive_s = (w / t_set_ps) * set_rate[idx].astype(np.float64) * (np.exp(xs / v_set_slope_v) - 1.0)
        dg_set = (1.0 - np.exp(-drive_s)) * (g_ceil - g0)
        set_on &= dg_set > 0.0
        # RESET
        xr = v_pulse_v - vreset
        g_floor = gmin + (gmax - gmin) * np.exp(-xr / v_reset_depth_v)
        reset_on = normal & ~is_set & (xr > 0.0) & (g0 > g_floor)
        drive_r = (w / t_reset_ps) * reset_rate[idx].astype(np.float64) * (np.exp(xr / v_reset_slope_v) - 1.0)
        dg_reset = -(1.0 - np.exp(-drive_r)) * (g0 - g_floor)
        reset_on &= dg_reset < 0.0

    dg = np.zeros(idx.size)
    dg = np.where(form, g_ceil - g0, dg)
    dg = np.where(set_on, dg_set, dg)
    dg = np.where(reset_on, dg_reset, dg)
    switched = form | set_on | reset_on

    # denoising: sub-threshold pulses inside the window
    x = np.where(is_set, xs, xr)
    denoise = normal & (x <= 0.0) & (x > -denoise_window_v)
    lvl = rtn_level[idx].astype(np.float64)
    m = np.abs(lvl)
    shrink = denoise & (m > denoise_floor)
    new_lvl = np.copysign(denoise_floor + (m - denoise_floor) * (1.0 - denoise_rate), lvl)
    rtn_level[idx[shrink]] = new_lvl[shrink].astype(np.float32)

    if z_c2c.size:
        dg = np.where(switched, dg + np.sqrt((c2c_rel * dg) ** 2 + c2c_abs_us * c2c_abs_us) * z_c2c, dg)
    g1 = np.where(switched, np.minimum(np.maximum(g0 + dg, gmin), gmax), g0)
    g1_f32 = g1.astype(np.float32)
    sw = idx[switched]
    g_prog_us[sw] = g1_f32[switched]
    g_cache_us[sw] = g1_f32[switched].astype(np.float64)
    t_prog_ps[sw] = now_ps
    if z_relax.size:
        g1r = g1_f32.astype(np.float64)
        d = relax_sigma_us(g1r, relax_sigma_peak_us, relax_g_peak_us) * z_relax
        relax_us[sw] = np.maximum(d, -g1r)[switched].astype(np.float32)
    if u_rtn.size:
        m_new = 1.0 + rtn_spread * (2.0 * u_rtn - 1.0)
        rtn_level[sw] = np.copysign(m_new, rtn_level[idx].astype(np.float64))[switched].astype(np.float32)

    g_avg = 0.5 * (g0 + g1)
    i_ua = g_avg * v_pulse_v
    i_ua = np.where(is_set & (i_ua > i_cc), i_cc, i_ua)
    energy_pj[:] = v_pulse_v * i_ua * w * 1e-6
