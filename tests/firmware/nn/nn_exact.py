"""Helpers for the exact tests of firmware/nn on tests/specs/nn_ideal.yaml."""

from pathlib import Path

import numpy as np

from firmware.pulse_schemes import PulseBatch

SPEC = Path(__file__).resolve().parents[2] / "specs" / "nn_ideal.yaml"
WIDTH_PS = 10_000_000
"""Pulse width of the exact scheme: 10 us."""


class ExactIdealScheme:
    """One pulse per cell on the ``ideal`` device: the amplitude that gives exactly the missing step,
    from the datasheet law ``dg = rate · (v − v_threshold) · width_ns``."""

    name = "exact_ideal"

    def start(self, ctx) -> None:
        p = ctx.spec.tile.device.params
        self.p = p

    def next_pulses(self, cells, g_us, ctx):
        p = self.p
        dg = ctx.targets_us[cells] - g_us
        is_set = dg > 0
        rate = np.where(is_set, p.set_rate_us_per_v_ns, p.reset_rate_us_per_v_ns)
        vth = np.where(is_set, p.v_set_threshold_v, p.v_reset_threshold_v)
        v = vth + np.abs(dg) / (rate * WIDTH_PS * 1e-3)
        return [PulseBatch(cells, is_set, v, WIDTH_PS, 3.0)]


def aligned_adc_range_ua(v_read_v: float, quantum_us: float, bits: int = 16) -> tuple[float, float]:
    """A bipolar ADC range whose step is exactly v_read · quantum: currents of integer-µS sums land on codes."""
    lsb = v_read_v * quantum_us
    half = 2 ** (bits - 1)
    return (-half * lsb, (half - 1) * lsb)
