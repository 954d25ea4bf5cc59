"""Plain-numpy reference of :mod:`twin.physics.converters` (same equations, no numba)."""

import numpy as np


def dac_code_max(bits):
    """Largest DAC code magnitude ``2**(bits-1) - 1``."""
    return 2 ** (int(bits) - 1) - 1


def dac_encode(x, bits):
    """(codes int64, n_clipped) with ``code = sign(x) · min(floor(|x|·code_max + 0.5), code_max)``."""
    x = np.asarray(x, dtype=np.float64)
    cmax = float(dac_code_max(bits))
    m = np.minimum(np.floor(np.abs(x) * cmax + 0.5), cmax)
    codes = np.where(x < 0.0, -m, m).astype(np.int64)
    return codes, int(np.count_nonzero(np.abs(x) > 1.0))


def bit_planes(codes, bits):
    """Planes (bits-1, ...) of ``sign(c) · ((|c| // 2**p) % 2)``."""
    codes = np.asarray(codes, dtype=np.int64)
    mag = np.abs(codes)
    return np.stack([np.sign(codes) * ((mag // 2 ** p) % 2) for p in range(int(bits) - 1)])


def adc_lsb_ua(bits, i_min_ua, i_max_ua):
    """ADC step (µA)."""
    return (float(i_max_ua) - float(i_min_ua)) / float(2 ** int(bits) - 1)


def adc_convert(i_ua, bits, i_min_ua, i_max_ua, offset_ua=0.0, gain_error=0.0, noise_ua=0.0,
                noise_draws=None):
    """(codes int64, i_est_ua, n_saturated) of the uniform mid-tread ADC; see the kernel module."""
    lsb_ua = adc_lsb_ua(bits, i_min_ua, i_max_ua)
    top = float(2 ** int(bits) - 1)
    s = (1.0 + float(gain_error)) * np.asarray(i_ua, dtype=np.float64) + float(offset_ua)
    if noise_ua != 0.0:
        s = s + float(noise_ua) * np.asarray(noise_draws, dtype=np.float64)
    q = np.floor((s - float(i_min_ua)) / lsb_ua + 0.5)
    n_sat = int(np.count_nonzero((q < 0.0) | (q > top)))
    q = np.clip(q, 0.0, top)
    codes = q.astype(np.int64)
    return codes, float(i_min_ua) + codes * lsb_ua, n_sat


def adc_code_to_current_ua(codes, bits, i_min_ua, i_max_ua):
    """``i_min_ua + codes · lsb_ua``."""
    return float(i_min_ua) + np.asarray(codes, dtype=np.int64) * adc_lsb_ua(bits, i_min_ua, i_max_ua)
