"""The ``ideal`` device model: bounded, deterministic, noise-free cells.

A SET pulse above threshold raises the conductance by ``set_rate_us_per_v_ns · (v − v_set_threshold_v) · width_ns``;
a RESET pulse lowers it likewise; results are clipped to [g_min_us, g_max_us]. The gate voltage is
ignored and reads are exact. Useful for timing and energy studies and for testing firmware logic.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from twin.devices.base import DeviceModel, check_conductance_bounds, register_device_model
from twin.spec.fields import spec_field


@dataclass(frozen=True, slots=True, kw_only=True)
class IdealParams:
    """Parameters of the ideal cell."""

    g_min_us: float = spec_field(1.0, lo=0)
    """Lowest conductance."""
    g_max_us: float = spec_field(40.0, lo=0, lo_open=True)
    """Highest conductance."""
    g_init_us: float = spec_field(1.0, lo=0)
    """Conductance of a fresh cell."""
    v_set_threshold_v: float = spec_field(0.5, lo=0)
    """SET pulses at or below this amplitude change nothing."""
    v_reset_threshold_v: float = spec_field(0.5, lo=0)
    """RESET pulses at or below this amplitude change nothing."""
    set_rate_us_per_v_ns: float = spec_field(0.01, lo=0)
    """Conductance gained per volt above threshold per ns of width."""
    reset_rate_us_per_v_ns: float = spec_field(0.01, lo=0)
    """Conductance lost per volt above threshold per ns of width."""

    def check(self) -> list[tuple[str, str]]:
        """Cross-field rules: a list of (field, message) for every violation."""
        problems = check_conductance_bounds(self)
        return problems


@register_device_model("ideal")
class IdealDevice(DeviceModel):
    """Bounded cells with a deterministic step per pulse that grows with amplitude and width."""

    Params = IdealParams

    def __init__(self, params, rows, cols, effects, rng) -> None:
        super().__init__(params, rows, cols, effects, rng)
        self.g_us = np.full((rows, cols), params.g_init_us, dtype=np.float64)
        self._version = 0

    def conductance_us(self, now_ps: int) -> np.ndarray:
        return self.g_us

    @property
    def version(self) -> int:
        return self._version

    def apply_pulses(self, idx, is_set, v_pulse_v, width_ps, v_gate_v, now_ps):
        p = self.params
        flat = self.g_us.reshape(-1)
        g_before = flat[idx]
        width_ns = width_ps * 1e-3
        up = p.set_rate_us_per_v_ns * np.maximum(v_pulse_v - p.v_set_threshold_v, 0.0) * width_ns
        down = p.reset_rate_us_per_v_ns * np.maximum(v_pulse_v - p.v_reset_threshold_v, 0.0) * width_ns
        g_after = np.clip(np.where(is_set, g_before + up, g_before - down), p.g_min_us, p.g_max_us)
        flat[idx] = g_after
        self._version += 1
        # V·I·t at the cell, with the conductance averaged over the pulse: µS·V²·ps = 1e-6 pJ.
        return v_pulse_v**2 * 0.5 * (g_before + g_after) * width_ps * 1e-6
