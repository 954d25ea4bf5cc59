"""Plain-numpy reference for :mod:`twin.physics.relaxation`."""

import numpy as np

from twin.physics.reference.device import relaxed_g_us


def relaxed_conductance_us(g_prog_us, relax_us, t_prog_ps, now_ps, tau_relax_ps, settle_ps, since_ps, out_us):
    """Reference for ``relaxation.relaxed_conductance_us`` (updates *out_us* in place)."""
    sel = (t_prog_ps >= 0) & (relax_us != 0) & (t_prog_ps + settle_ps > since_ps)
    out_us[sel] = relaxed_g_us(g_prog_us[sel], relax_us[sel], t_prog_ps[sel], now_ps, tau_relax_ps, settle_ps)
    return np.flatnonzero(sel)
