"""Plain-numpy reference of :mod:`twin.physics.mvm` (direct formulas, no lookup tables, no numba)."""

import numpy as np

from twin.physics.reference.converters import adc_convert, adc_lsb_ua, bit_planes, dac_code_max, dac_encode


def iv_factor(v_v, iv_nonlinearity_per_v):
    """``sinh(a·v)/(a·v)``, 1 where a·v = 0."""
    t = float(iv_nonlinearity_per_v) * np.asarray(v_v, dtype=np.float64)
    safe = np.where(t == 0.0, 1.0, t)
    return np.where(t == 0.0, 1.0, np.sinh(safe) / safe)


def row_drive_v(codes, mode, dac_bits, v_read_v, iv_nonlinearity_per_v=0.0):
    """(drive_v, power_v2), each (reads, batch, rows), computed directly from the codes."""
    codes = np.asarray(codes, dtype=np.int64)
    cmax = float(dac_code_max(dac_bits))
    a = float(iv_nonlinearity_per_v)
    u_read_v = v_read_v * float(iv_factor(v_read_v, a))
    if mode == "bit_serial":
        planes = bit_planes(codes, dac_bits).astype(np.float64)
        return planes * u_read_v, np.abs(planes) * (v_read_v * u_read_v)
    if mode == "pwm":
        duty = np.abs(codes) / cmax
        u = np.where(codes < 0, -(duty * u_read_v), duty * u_read_v)
        return u[None], (duty * (v_read_v * u_read_v))[None]
    if mode == "amplitude":
        v = codes / cmax * v_read_v
        u = v * iv_factor(v, a)
        return u[None], (v * u)[None]
    raise ValueError(mode)


def column_currents_ua(drive_v, g_us, var_g_us2=None, read_noise_draws=None):
    """``sum_i u_i g_ij + sqrt(sum_i u_i² var_ij) · z`` by explicit broadcasting sums."""
    d = np.asarray(drive_v, dtype=np.float64)
    g = np.asarray(g_us, dtype=np.float64)
    i_ua = (d[..., :, None] * g).sum(axis=-2)
    if var_g_us2 is None:
        return i_ua
    s_ua2 = ((d * d)[..., :, None] * np.asarray(var_g_us2, dtype=np.float64)).sum(axis=-2)
    return i_ua + np.sqrt(s_ua2) * np.asarray(read_noise_draws, dtype=np.float64)


def cell_power_uw(power_v2, g_us):
    """``sum_r sum_i sum_j p_ri g_ij`` per vector, shape (batch,)."""
    p = np.asarray(power_v2, dtype=np.float64)
    return (p[..., :, None] * np.asarray(g_us, dtype=np.float64)).sum(axis=(-2, -1)).sum(axis=0)


def quantized_mvm(x, g_us, var_g_us2, *, mode, dac_bits, v_read_v, adc, iv_nonlinearity_per_v=0.0,
                  pair_mode="none", read_noise_draws=None, adc_noise_draws=None):
    """Reference pipeline; returns (y_ua, n_adc_saturated, n_adc_conversions, cell_power_uw, n_dac_clipped).

    ``adc``: anything with the fields of :class:`twin.physics.converters.AdcSetting`."""
    x = np.atleast_2d(np.asarray(x, dtype=np.float64))
    codes, n_clipped = dac_encode(x, dac_bits)
    drive, power = row_drive_v(codes, mode, dac_bits, v_read_v, iv_nonlinearity_per_v)
    adc_bits, adc_i_min_ua, adc_i_max_ua = adc.bits, adc.i_min_ua, adc.i_max_ua
    lsb_ua = adc_lsb_ua(adc_bits, adc_i_min_ua, adc_i_max_ua)
    adc_kw = dict(offset_ua=adc.offset_ua, gain_error=adc.gain_error, noise_ua=adc.noise_ua)
    n_reads = drive.shape[0]
    acc = np.zeros((x.shape[0], g_us.shape[1] if pair_mode == "none" else g_us.shape[1] // 2))
    n_sat = 0
    n_conv = 0
    for r in range(n_reads):
        zr = None if var_g_us2 is None else read_noise_draws[r]
        za = None if adc_noise_draws is None else adc_noise_draws[r]
        i_ua = column_currents_ua(drive[r], g_us, var_g_us2, zr)
        if pair_mode == "none":
            _, est, ns = adc_convert(i_ua, adc_bits, adc_i_min_ua, adc_i_max_ua, noise_draws=za, **adc_kw)
        elif pair_mode == "analog":
            _, est, ns = adc_convert(i_ua[:, 0::2] - i_ua[:, 1::2], adc_bits, adc_i_min_ua, adc_i_max_ua,
                                     noise_draws=za, **adc_kw)
        else:
            c, _, ns = adc_convert(i_ua, adc_bits, adc_i_min_ua, adc_i_max_ua, noise_draws=za, **adc_kw)
            est = (c[:, 0::2] - c[:, 1::2]) * lsb_ua
        n_sat += ns
        n_conv += est.size if pair_mode != "digital" else i_ua.size
        acc = acc + float(2 ** r if mode == "bit_serial" else 1) * est
    y = acc / float(dac_code_max(dac_bits)) if mode == "bit_serial" else acc
    return y, n_sat, n_conv, cell_power_uw(power, g_us), n_clipped
