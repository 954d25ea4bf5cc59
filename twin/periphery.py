"""The tile's periphery: row drivers (DacBank), column ADCs (AdcBank), and the runtime settings they use.

The transfer functions are in :mod:`twin.physics.converters`; these classes hold the spec, the settings
that ``Configure`` changes and the generator for ADC noise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from twin.physics import converters
from twin.physics.converters import AdcSetting
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
        self.code_max = converters.dac_code_max(spec.bits)
        """Largest input code magnitude."""

    def codes(self, inputs: np.ndarray) -> np.ndarray:
        """Signed integer codes of inputs in [-1, 1] (int64): those the MVM drives
        (:func:`twin.physics.converters.dac_encode`, halves rounded away from zero)."""
        return converters.dac_encode(inputs, self.spec.bits)[0]

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
_POPCOUNT.flags.writeable = False


class AdcBank:
    """Column ADCs: a uniform quantizer over a current range, with offset, gain error and noise.

    It hands out its :class:`AdcSetting` at a range and draws the noise of its conversions; the
    quantizer itself is :func:`twin.physics.converters.adc_convert` (and, inside the MVM kernels, the same
    per-element formula).
    """

    def __init__(self, spec: AdcSpec, rng: np.random.Generator) -> None:
        self.spec = spec
        self._rng = rng
        """Generator for input-referred noise (the tile's ``adc_noise`` stream)."""
        self._settings: dict[tuple[float, float], AdcSetting] = {}

    def setting(self, range_ua: tuple[float, float]) -> AdcSetting:
        """The converters at input range *range_ua* (µA): the spec's bits, offset, gain error and noise."""
        setting = self._settings.get(range_ua)
        if setting is None:
            s = self.spec
            setting = AdcSetting(s.bits, float(range_ua[0]), float(range_ua[1]), s.offset_ua, s.gain_error, s.noise_ua)
            if len(self._settings) >= 64:  # ranges come from Configure: a few per session
                self._settings.clear()
            self._settings[range_ua] = setting
        return setting

    def noise_draws(self, shape: tuple[int, ...]) -> np.ndarray | None:
        """Standard normals for the input-referred noise of conversions of *shape*; None when the ADCs have none."""
        return self._rng.standard_normal(shape) if self.spec.noise_ua > 0 else None

    def convert(self, i_ua: np.ndarray, range_ua: tuple[float, float]) -> tuple[np.ndarray, int]:
        """Convert currents; return (the current each code stands for, µA; number of saturated conversions)."""
        a = self.setting(range_ua)
        _, i_est_ua, n_saturated = converters.adc_convert(i_ua, a.bits, a.i_min_ua, a.i_max_ua, a.offset_ua,
                                                          a.gain_error, a.noise_ua, self.noise_draws(i_ua.shape))
        return i_est_ua, n_saturated

    def convert_each(self, i_ua: np.ndarray, range_ua: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
        """As :meth:`convert` for independent conversions, one per element of *i_ua* (the same draws and
        values as converting them one call each); returns (current per code, µA; saturated, bool per element)."""
        a = self.setting(range_ua)
        saturated = np.empty(i_ua.shape, dtype=np.bool_)
        _, i_est_ua, _ = converters.adc_convert(i_ua, a.bits, a.i_min_ua, a.i_max_ua, a.offset_ua, a.gain_error,
                                                a.noise_ua, self.noise_draws(i_ua.shape), saturated)
        return i_est_ua, saturated
