"""The tile's converters: row drivers (DacBank) and column ADCs (AdcBank), with their runtime settings.

The transfer functions are plain-array code in :mod:`twin.physics.converters`; these classes hold the
spec, the settings that ``Configure`` changes and the generator for ADC noise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from twin.physics import converters
from twin.spec.chipspec import AdcSpec, DacSpec


@dataclass(slots=True)
class TileSettings:
    """Runtime settings of one tile; they start from the spec and change only through ``Configure``."""

    v_read_v: float
    """Read voltage: verify reads, and full-scale MVM inputs."""
    adc_read_range_ua: tuple[float, float]
    """ADC input range for Read commands."""
    adc_mvm_range_ua: tuple[float, float]
    """ADC input range for MVMs."""


class DacBank:
    """Row drivers: turn inputs in [-1, 1] into signed integer codes and row voltages."""

    def __init__(self, spec: DacSpec) -> None:
        self.spec = spec
        self.code_max = 2 ** (spec.bits - 1) - 1
        """Largest input code magnitude."""

    def codes(self, inputs: np.ndarray) -> np.ndarray:
        """Signed integer codes ``round(x · code_max)`` of inputs in [-1, 1] (int64)."""
        return np.rint(inputs * self.code_max).astype(np.int64)

    def row_drives(self, inputs: np.ndarray) -> int:
        """Row drives the inputs take: bit-serial drives a row in every plane where its magnitude bit is 1;
        PWM and amplitude drive every row with a non-zero code once."""
        codes = self.codes(inputs)
        if self.spec.input_mode == "bit_serial":
            return int(_POPCOUNT[np.abs(codes)].sum())
        return int(np.count_nonzero(codes))

    def energy_pj(self, row_drives: int) -> float:
        """Energy of *row_drives* row drives."""
        return row_drives * self.spec.e_convert_pj


_POPCOUNT = np.array([bin(i).count("1") for i in range(1 << 16)], dtype=np.int64)
"""Set bits of every 16-bit magnitude (for counting bit-serial row drives)."""


class AdcBank:
    """Column ADCs: a uniform quantizer over a current range, with offset, gain error and noise."""

    def __init__(self, spec: AdcSpec, rng: np.random.Generator) -> None:
        self.spec = spec
        self.rng = rng
        """Generator for input-referred noise (the tile's ``adc_noise`` stream)."""

    def convert(self, i_ua: np.ndarray, range_ua: tuple[float, float]) -> tuple[np.ndarray, int]:
        """Convert currents; return (the current each code stands for, µA; number of saturated conversions)."""
        s = self.spec
        noise = self.rng.standard_normal(i_ua.shape) if s.noise_ua > 0 else None
        if i_ua.size <= _SMALL:
            return self._convert_small(i_ua, range_ua, noise)
        _, i_est_ua, n_saturated = converters.adc_convert(i_ua, s.bits, range_ua[0], range_ua[1], s.offset_ua,
                                                          s.gain_error, s.noise_ua, noise)
        return i_est_ua, n_saturated

    def convert_each(self, i_ua: np.ndarray, range_ua: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
        """As :meth:`convert` for independent conversions, one per element of *i_ua* (the same draws and
        values as converting them one call each); returns (current per code, µA; saturated, bool per element)."""
        noise = self.rng.standard_normal(i_ua.shape) if self.spec.noise_ua > 0 else None
        return self._quantize(i_ua, range_ua, noise)

    def _convert_small(self, i_ua: np.ndarray, range_ua: tuple[float, float], noise: np.ndarray | None):
        """The same arithmetic as the ``adc_convert`` kernel, in numpy: cheaper than a kernel call for a
        handful of conversions, and bit-identical to it."""
        i_est_ua, saturated = self._quantize(i_ua, range_ua, noise)
        return i_est_ua, int(np.count_nonzero(saturated))

    def _quantize(self, i_ua: np.ndarray, range_ua: tuple[float, float], noise: np.ndarray | None):
        s = self.spec
        lo = float(range_ua[0])
        lsb_ua = converters.adc_lsb_ua(s.bits, lo, range_ua[1])
        seen_ua = (1.0 + s.gain_error) * i_ua + s.offset_ua
        if noise is not None:
            seen_ua = seen_ua + s.noise_ua * noise
        code = np.floor((seen_ua - lo) / lsb_ua + 0.5)
        top = float((1 << s.bits) - 1)
        return lo + np.clip(code, 0.0, top) * lsb_ua, (code < 0.0) | (code > top)


_SMALL = 64
"""Conversions up to this count use the numpy path of AdcBank.convert."""
