"""Lazy conductance relaxation after programming.

After a switching pulse at ``t_prog`` a cell drifts from its just-programmed value ``g_prog`` by
``Δ·(1 − exp(−(t − t_prog)/τ))``; Δ was drawn at programming time (see
:mod:`twin.physics.device`). After ``settle_ps`` (20·τ by default) the cell is treated as settled,
at exactly ``g_prog + Δ``. Units: µS, ps. Equations: ``docs/physics/device.md``.

The conductance is a pure function of the stored state and the time, so evaluating it more or less
often never changes a result.
"""


import numba
import numpy as np

from twin.physics._numerics import relaxed_g_us




@numba.njit(cache=True)
def relaxed_conductance_us(g_prog_us, relax_us, t_prog_ps, now_ps, tau_relax_ps, settle_ps, since_ps, out_us,
                           changed):
    """Write the relaxed conductance at *now_ps* into ``out_us`` for every cell that may have moved.

    A cell is recomputed if it was still relaxing at *since_ps* (the previous evaluation), i.e.
    ``t_prog >= 0``, a non-zero relaxation Δ and ``t_prog + settle_ps > since_ps``; other entries of ``out_us`` are left as
    they are. Pass ``since_ps`` very negative to recompute every programmed cell. The indices of the
    recomputed cells go into *changed* (int64, length rows·cols); their count is returned.
    All arrays flat, length rows·cols: g_prog_us f32, relax_us f32, t_prog_ps i64, out_us f64.
    Serial: a scan of the programming times, far cheaper than starting threads.
    """
    n = 0
    for c in range(g_prog_us.size):
        tp = t_prog_ps[c]
        if tp >= 0 and relax_us[c] != 0.0 and tp + settle_ps > since_ps:
            out_us[c] = relaxed_g_us(g_prog_us[c], relax_us[c], tp, now_ps, tau_relax_ps, settle_ps)
            changed[n] = c
            n += 1
    return n
