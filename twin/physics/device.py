"""Pulse response of a 1T1R RRAM cell: compliance-limited SET, amplitude-controlled RESET.

Units: conductance µS, voltage V, time ps (int64), current µA, energy pJ (µS·V²·ps = 1e-6 pJ).
Equations and parameters: ``docs/physics/device.md``. In short, for a pulse of amplitude v, width w
and gate voltage v_g on a cell of conductance g0 (relaxation applied):

- SET (x = v − v_set_th > 0): the access transistor limits the current to
  ``i_cc = ½·k·(v_g − v_t)²`` (saturation), so the filament stops growing at
  ``g_ceil = min(g_max, i_cc / v_set_th)``; the step is ``F·(g_ceil − g0)`` (soft bound) with
  ``F = 1 − exp(−D)``, ``D = (w / t_set)·rate·(exp(x / v_set_slope) − 1)``.
- RESET (x = v − v_reset_th > 0): the cell relaxes towards an amplitude-dependent floor
  ``g_floor = g_min + (g_max − g_min)·exp(−x / v_reset_depth)`` by ``F·(g0 − g_floor)``.
- Cycle-to-cycle noise on every switching step: ``Δg += sqrt((c2c_rel·Δg)² + c2c_abs²)·z``;
  the result is clipped to the cell's [g_min, g_max].
- A switching pulse draws a new relaxation offset ``Δ_relax = σ_relax(g1)·z_relax`` and a new
  telegraph amplitude multiplier ``m = 1 + rtn_spread·(2u − 1)`` (sign kept).
- A pulse within ``denoise_window_v`` below its threshold does not switch; it shrinks the
  telegraph multiplier towards ``denoise_floor`` by the fraction ``denoise_rate``.

Per-cell state arrays (flat, length rows·cols) are updated in place. ``t_prog_ps`` doubles as the
cell status: a value < 0 marks a cell that never switched (``UNFORMED``, ``STUCK_LOW``,
``STUCK_HIGH``). Random draws are passed in (zero-length arrays when the effect is off); every
cell is processed by one loop iteration, so results do not depend on the thread count.
"""

import math

import numba
import numpy as np

from twin.physics._numerics import relaxed_g_us, telegraph_step_us

UNFORMED = -1
"""``t_prog_ps`` of a cell that has not been formed yet."""
STUCK_LOW = -2
"""``t_prog_ps`` of a cell stuck at its g_min."""
STUCK_HIGH = -3
"""``t_prog_ps`` of a cell stuck at its g_max."""

PULSE_PARAM_NAMES = (
    "t_set_ps", "v_set_slope_v", "t_reset_ps", "v_reset_slope_v", "v_reset_depth_v",
    "v_gate_threshold_v", "k_access_ua_per_v2", "c2c_rel", "c2c_abs_us", "v_forming_v",
    "tau_relax_ps", "settle_ps", "relax_sigma_peak_us", "relax_g_peak_us",
    "denoise_window_v", "denoise_rate", "denoise_floor", "rtn_spread",
)
"""Order of the scalar parameters in the ``prm`` vector of :func:`pulse_response_g_us`."""


def pulse_params(**values: float) -> np.ndarray:
    """The ``prm`` vector of :func:`pulse_response_g_us`, from keyword arguments named as in PULSE_PARAM_NAMES."""
    missing = set(PULSE_PARAM_NAMES) - set(values)
    extra = set(values) - set(PULSE_PARAM_NAMES)
    if missing or extra:
        raise ValueError(f"pulse parameters must be exactly {PULSE_PARAM_NAMES}, missing {sorted(missing)}, extra {sorted(extra)}")
    return np.array([float(values[name]) for name in PULSE_PARAM_NAMES], dtype=np.float64)




@numba.njit(cache=True)
def relax_sigma_us(g_us, sigma_peak_us, g_peak_us):
    """State-dependent spread of the relaxation offset: ``σ_peak·(g/g_peak)·exp(1 − g/g_peak)`` (peak at g_peak)."""
    if g_us <= 0.0:
        return 0.0
    u = g_us / g_peak_us
    return sigma_peak_us * u * math.exp(1.0 - u)


@numba.njit(cache=True)
def _pulse_range(lo, hi, idx, is_set, v_pulse_v, width_ps, v_gate_v, now_ps,
               g_prog_us, relax_us, t_prog_ps, rtn_level, g_cache_us,
               g_min_us, g_max_us, v_set_th_v, v_reset_th_v, set_rate, reset_rate,
               z_c2c, z_relax, u_rtn, prm, energy_pj):
    """Pulses ``lo`` to ``hi − 1`` of :func:`pulse_response_g_us`, in order (each touches only its own cell).

    The loop body is written out here rather than in a per-cell helper: passing ~20 arrays to a helper
    per cell costs reference-count updates that tripled the time per cell.
    """
    t_set_ps = prm[0]
    v_set_slope_v = prm[1]
    t_reset_ps = prm[2]
    v_reset_slope_v = prm[3]
    v_reset_depth_v = prm[4]
    v_gate_threshold_v = prm[5]
    k_access_ua_per_v2 = prm[6]
    c2c_rel = prm[7]
    c2c_abs_us = prm[8]
    v_forming_v = prm[9]
    tau_relax_ps = prm[10]
    settle_ps = prm[11]
    relax_sigma_peak_us = prm[12]
    relax_g_peak_us = prm[13]
    denoise_window_v = prm[14]
    denoise_rate = prm[15]
    denoise_floor = prm[16]
    rtn_spread = prm[17]
    has_c2c = z_c2c.size > 0
    has_relax = z_relax.size > 0
    has_rtn = u_rtn.size > 0
    for i in range(lo, hi):
        c = idx[i]
        tp = t_prog_ps[c]
        g0 = relaxed_g_us(g_prog_us[c], relax_us[c], tp, now_ps, tau_relax_ps, settle_ps)
        gmin = np.float64(g_min_us[c])
        gmax = np.float64(g_max_us[c])
        v = v_pulse_v[i]
        w = np.float64(width_ps[i])
        vg = v_gate_v[i]
        # Saturation current of the access transistor (SET compliance).
        ov = vg - v_gate_threshold_v
        i_cc_ua = 0.5 * k_access_ua_per_v2 * ov * ov if ov > 0.0 else 0.0
        dg = 0.0
        switched = False
        if tp == STUCK_LOW or tp == STUCK_HIGH:
            pass
        elif tp == UNFORMED:
            if is_set[i] and v >= v_forming_v:
                g_ceil = min(gmax, i_cc_ua / np.float64(v_set_th_v[c]))
                if g_ceil > g0:
                    dg = g_ceil - g0
                    switched = True
        elif is_set[i]:
            vth = np.float64(v_set_th_v[c])
            x = v - vth
            if x > 0.0:
                g_ceil = min(gmax, i_cc_ua / vth)
                if g_ceil > g0:
                    drive = (w / t_set_ps) * np.float64(set_rate[c]) * (math.exp(x / v_set_slope_v) - 1.0)
                    dg = (1.0 - math.exp(-drive)) * (g_ceil - g0)
                    switched = dg > 0.0
            elif x > -denoise_window_v:
                lvl = np.float64(rtn_level[c])
                m = abs(lvl)
                if m > denoise_floor:
                    rtn_level[c] = np.float32(math.copysign(denoise_floor + (m - denoise_floor) * (1.0 - denoise_rate), lvl))
        else:
            vth = np.float64(v_reset_th_v[c])
            x = v - vth
            if x > 0.0:
                g_floor = gmin + (gmax - gmin) * math.exp(-x / v_reset_depth_v)
                if g0 > g_floor:
                    drive = (w / t_reset_ps) * np.float64(reset_rate[c]) * (math.exp(x / v_reset_slope_v) - 1.0)
                    dg = -(1.0 - math.exp(-drive)) * (g0 - g_floor)
                    switched = dg < 0.0
            elif x > -denoise_window_v:
                lvl = np.float64(rtn_level[c])
                m = abs(lvl)
                if m > denoise_floor:
                    rtn_level[c] = np.float32(math.copysign(denoise_floor + (m - denoise_floor) * (1.0 - denoise_rate), lvl))
        g1 = g0
        if switched:
            if has_c2c:
                dg += math.sqrt((c2c_rel * dg) ** 2 + c2c_abs_us * c2c_abs_us) * z_c2c[i]
            g1 = min(max(g0 + dg, gmin), gmax)
            g1_f32 = np.float32(g1)
            g_prog_us[c] = g1_f32
            g_cache_us[c] = np.float64(g1_f32)
            t_prog_ps[c] = now_ps
            if has_relax:
                d = relax_sigma_us(np.float64(g1_f32), relax_sigma_peak_us, relax_g_peak_us) * z_relax[i]
                relax_us[c] = np.float32(max(d, -np.float64(g1_f32)))
            if has_rtn:
                m_new = 1.0 + rtn_spread * (2.0 * u_rtn[i] - 1.0)
                rtn_level[c] = np.float32(math.copysign(m_new, np.float64(rtn_level[c])))
        g_avg = 0.5 * (g0 + g1)
        i_ua = g_avg * v
        if is_set[i] and i_ua > i_cc_ua:
            i_ua = i_cc_ua
        energy_pj[i] = v * i_ua * w * 1e-6


@numba.njit(cache=True, parallel=True)
def pulse_response_g_us(idx, is_set, v_pulse_v, width_ps, v_gate_v, now_ps,
                        g_prog_us, relax_us, t_prog_ps, rtn_level, g_cache_us,
                        g_min_us, g_max_us, v_set_th_v, v_reset_th_v, set_rate, reset_rate,
                        z_c2c, z_relax, u_rtn, prm, energy_pj):
    """Apply one pulse to each cell ``idx[i]``; write the cell energy of each pulse into ``energy_pj[i]``.

    idx: (n,) int64 flat cell indices, no duplicates. is_set: (n,) bool. v_pulse_v, v_gate_v: (n,)
    float64. width_ps: (n,) int64. now_ps: int, time of the pulses.
    State, updated in place (flat, per cell): g_prog_us f32 (conductance right after the last
    switching pulse), relax_us f32 (relaxation offset Δ), t_prog_ps i64 (time of the last switching
    pulse, or a status code < 0), rtn_level f32 (signed telegraph multiplier), g_cache_us f64
    (conductance cache: set to g_prog of switched cells).
    Per-cell parameters (f32): g_min_us, g_max_us, v_set_th_v, v_reset_th_v, set_rate, reset_rate.
    Draws (n,) float64 or empty when the effect is off: z_c2c, z_relax (standard normal), u_rtn
    (uniform [0, 1)). prm: float64 vector in the order of PULSE_PARAM_NAMES.
    """
    n = idx.size
    n_chunks = (n + 1023) // 1024  # 1,024 pulses per task: thread start-up and reference counts amortized
    for k in numba.prange(n_chunks):
        _pulse_range(k * 1024, min(n, (k + 1) * 1024), idx, is_set, v_pulse_v, width_ps, v_gate_v, now_ps,
                     g_prog_us, relax_us, t_prog_ps, rtn_level, g_cache_us,
                     g_min_us, g_max_us, v_set_th_v, v_reset_th_v, set_rate, reset_rate,
                     z_c2c, z_relax, u_rtn, prm, energy_pj)


@numba.njit(cache=True)
def pulse_response_g_us_serial(idx, is_set, v_pulse_v, width_ps, v_gate_v, now_ps,
                               g_prog_us, relax_us, t_prog_ps, rtn_level, g_cache_us,
                               g_min_us, g_max_us, v_set_th_v, v_reset_th_v, set_rate, reset_rate,
                               z_c2c, z_relax, u_rtn, prm, energy_pj):
    """:func:`pulse_response_g_us` on the calling thread (for small batches; same results bit for bit)."""
    _pulse_range(0, idx.size, idx, is_set, v_pulse_v, width_ps, v_gate_v, now_ps,
                 g_prog_us, relax_us, t_prog_ps, rtn_level, g_cache_us,
                 g_min_us, g_max_us, v_set_th_v, v_reset_th_v, set_rate, reset_rate,
                 z_c2c, z_relax, u_rtn, prm, energy_pj)



@numba.njit(cache=True)
def cell_sequence(is_read, idx, is_set, v_pulse_v, width_ps, v_gate_v, t_ps,
                  g_prog_us, relax_us, t_prog_ps, rtn_level, g_cache_us,
                  g_min_us, g_max_us, v_set_th_v, v_reset_th_v, set_rate, reset_rate,
                  z_c2c, z_relax, u_rtn, prm, t_rtn_ps, rtn_tau_ps, t_rtn_floor_ps, rtn_amp_us, rtn_exponent,
                  rtn_g_ref_us, g_read_us, rtn_read_us, energy_pj):
    """Single-cell pulses and reads in order, op *k* on cell ``idx[k]`` at time ``t_ps[k]``.

    A pulse is :func:`pulse_response_g_us` on one cell (its energy goes into ``energy_pj[k]``). A read
    evaluates the cell's relaxed conductance into ``g_read_us[k]`` and, when ``u_rtn`` is not empty,
    advances its fluctuator (as :func:`twin.physics.read.telegraph_us`) and writes its offset into
    ``rtn_read_us[k]``. Per-op arrays have length n (entries of the other kind are ignored); the
    draws are per op: ``z_c2c``, ``z_relax`` used by pulses, ``u_rtn`` by every op (empty when the
    effect is off). Each op gives exactly what one command of it would give, bit for bit; the
    ``g_cache_us`` of read cells is not refreshed (the caller re-evaluates relaxation afterwards).
    """
    has_rtn = u_rtn.size > 0
    tau_relax_ps = prm[10]
    settle_ps = prm[11]
    for k in range(idx.size):
        c = idx[k]
        if is_read[k]:
            g = relaxed_g_us(g_prog_us[c], relax_us[c], t_prog_ps[c], t_ps[k], tau_relax_ps, settle_ps)
            g_read_us[k] = g
            if has_rtn:
                rtn_read_us[k] = telegraph_step_us(c, u_rtn[k], t_ps[k], t_rtn_floor_ps, g, rtn_level, t_rtn_ps,
                                                   rtn_tau_ps, rtn_amp_us, rtn_exponent, rtn_g_ref_us)
        else:
            _pulse_range(k, k + 1, idx, is_set, v_pulse_v, width_ps, v_gate_v, t_ps[k],
                         g_prog_us, relax_us, t_prog_ps, rtn_level, g_cache_us,
                         g_min_us, g_max_us, v_set_th_v, v_reset_th_v, set_rate, reset_rate,
                         z_c2c, z_relax, u_rtn, prm, energy_pj)


PARALLEL_MIN_CELLS = 16384
"""Batches smaller than this run their kernel on one thread: starting threads costs more than it saves
there, and on a busy machine waiting for a second core can cost milliseconds. Results are the
same bit for bit, since every cell is computed by one loop iteration either way."""


def run_kernel(kernel, n_cells: int, *args):
    """Call ``kernel(*args)``, on the calling thread alone when *n_cells* < PARALLEL_MIN_CELLS."""
    if n_cells >= PARALLEL_MIN_CELLS:
        return kernel(*args)
    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        return kernel(*args)
    finally:
        numba.set_num_threads(threads)
