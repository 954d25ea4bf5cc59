"""Pulse schemes: how write-verify chooses the next pulse of every pending cell.

A scheme is any object with

- ``start(ctx)``: called once per :func:`~firmware.programming.write_verify` run with a
  :class:`SchemeContext` (the spec, the cells' targets and the tolerance); allocate per-cell state here;
- ``next_pulses(cells, g_us, ctx) -> list[PulseBatch]``: *cells* are the indices (into the
  write-verify cell list) of the cells still outside the tolerance, *g_us* their conductance as just
  measured. Return one or two batches of pulses (each becomes one Pulse command; a cell may appear
  once per batch). A batch may also mark cells the scheme gives up on (``give_up``).

and optionally ``settle_batches(cells, ctx) -> list[PulseBatch]`` (pulses to apply to cells once they
converged, e.g. denoising; they are verified again afterwards) and ``settle_rounds`` (how many
converge-settle-verify rounds to run).

Schemes here, each after its source:

- :class:`IncrementalStep`: NeuRRAM (Wan et al., Nature 608, 504, 2022): SET from 1.2 V and RESET
  from 1.5 V, +0.1 V per pulse, 1 µs, ±1 µS, give up after 30 polarity reversals.
- :class:`ResetVoltage`: Kim et al., Nanotechnology 32, 295201 (2021): SET the cell to the top, then
  RESET with an amplitude that selects the level; adjust the RESET amplitude per cell until the cell
  is inside the window.
- :class:`Feedforward`: Diao et al., Nanoscale Horizons (2025) 780: the next pulse amplitude is
  computed from the cell's responses measured so far, so that each pulse makes the step still needed
  (linearized potentiation and depression).
- :class:`GateSet`: Rao et al., Nature 615, 823 (2023): SETs whose access-transistor gate voltage
  sets the compliance ceiling at the target (fine levels), RESETs to just under the target on
  overshoot, then sub-threshold denoising pulses after the cell converged, then verify again.
- :class:`FunctionScheme`: wrap a plain function ``(g_us, targets_us) -> (is_set, v_pulse_v)`` as a
  scheme (a user-defined scheme in a few lines; see ``examples/custom_scheme.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Protocol, runtime_checkable

import numpy as np

from twin.spec.chipspec import ChipSpec


@dataclass
class PulseBatch:
    """Pulses for a subset of the cells; becomes one Pulse command."""

    cells: np.ndarray
    """Indices into the write-verify cell list (each at most once)."""
    is_set: np.ndarray | bool
    """True for SET, False for RESET; per cell or one for all."""
    v_pulse_v: np.ndarray | float
    """Pulse amplitude (positive for both polarities), V."""
    width_ps: np.ndarray | int
    """Pulse width, ps."""
    v_gate_v: np.ndarray | float
    """Access-transistor gate voltage, V."""
    counts: bool = True
    """Whether these pulses count towards the cells' pulse budget (False for denoising pulses)."""


@dataclass
class SchemeContext:
    """What a scheme may know: the chip spec (the datasheet), the targets and the tolerance."""

    spec: ChipSpec
    targets_us: np.ndarray
    """Target conductance of every cell of the run, µS."""
    tolerance_us: float
    """Acceptance half-window, µS."""
    give_up: np.ndarray = field(init=False)
    """Cells the scheme has abandoned (set by the scheme, read by write_verify)."""
    round: int = 0
    """Settle round (0 first; write_verify counts up after each settle-and-verify step)."""

    def __post_init__(self) -> None:
        self.give_up = np.zeros(self.targets_us.size, dtype=bool)

    @property
    def n_cells(self) -> int:
        return int(self.targets_us.size)

    def device(self, name: str, default: float) -> float:
        """A nominal device parameter from the spec (``tile.device.params``), or *default* if the model
        has no such parameter."""
        return float(getattr(self.spec.tile.device.params, name, default))

    def clip_set_v(self, v: np.ndarray) -> np.ndarray:
        lo, hi = self.spec.tile.programming.v_set_range_v
        return np.clip(v, lo, hi)

    def clip_reset_v(self, v: np.ndarray) -> np.ndarray:
        lo, hi = self.spec.tile.programming.v_reset_range_v
        return np.clip(v, lo, hi)

    def clip_gate_v(self, v: np.ndarray) -> np.ndarray:
        lo, hi = self.spec.tile.programming.v_gate_range_v
        return np.clip(v, lo, hi)

    def clip_width_ps(self, w: int) -> int:
        lo, hi = self.spec.tile.programming.width_range_ps
        return int(min(max(int(w), lo), hi))

    def gate_for_ceiling_v(self, g_ceiling_us: np.ndarray) -> np.ndarray:
        """Gate voltage whose nominal SET compliance ceiling ``½k(v_g − v_t)² / v_set`` is *g_ceiling_us*
        (1T1R cell, nominal datasheet parameters)."""
        v_t = self.device("v_gate_threshold_v", 0.5)
        k = self.device("k_access_ua_per_v2", 100.0)
        v_set = self.device("v_set_threshold_v", 1.0)
        return self.clip_gate_v(v_t + np.sqrt(2.0 * np.maximum(g_ceiling_us, 0.0) * v_set / k))

    @property
    def v_gate_max_v(self) -> float:
        return float(self.spec.tile.programming.v_gate_range_v[1])


@runtime_checkable
class PulseScheme(Protocol):
    """The protocol every scheme follows (see the module docstring)."""

    name: str

    def start(self, ctx: SchemeContext) -> None: ...

    def next_pulses(self, cells: np.ndarray, g_us: np.ndarray, ctx: SchemeContext) -> list[PulseBatch]: ...


# ----------------------------------------------------------------------------------------------------
class IncrementalStep:
    """NeuRRAM's incremental write-verify (Wan et al., Nature 608, 504, 2022, Methods).

    Read; if below the window, SET pulses starting at *v_set_start_v*, +*v_step_v* per pulse, until the
    cell is inside the window or overshoots; then RESET pulses starting at *v_reset_start_v*, +*v_step_v*
    per pulse; every polarity reversal restarts that polarity's ramp. A cell is abandoned after
    *max_reversals* reversals. Amplitudes stop at the spec's maximum.
    """

    name = "incremental"

    def __init__(self, v_set_start_v: float = 1.2, v_reset_start_v: float = 1.5, v_step_v: float = 0.1,
                 width_ps: int = 1_000_000, v_gate_v: float | None = None, max_reversals: int = 30) -> None:
        self.v_set_start_v = v_set_start_v
        self.v_reset_start_v = v_reset_start_v
        self.v_step_v = v_step_v
        self.width_ps = width_ps
        self.v_gate_v = v_gate_v
        """SET gate voltage; None: the gate whose nominal compliance ceiling is the device's g_max."""
        self.max_reversals = max_reversals

    def start(self, ctx: SchemeContext) -> None:
        n = ctx.n_cells
        self._phase = np.zeros(n, np.int8)  # +1 SET ramp, -1 RESET ramp, 0 not started
        self._v_set = np.full(n, self.v_set_start_v)
        self._v_reset = np.full(n, self.v_reset_start_v)
        self.reversals = np.zeros(n, np.int64)
        """Polarity reversals per cell so far."""
        if self.v_gate_v is None:
            self._gate = float(ctx.gate_for_ceiling_v(np.array(ctx.device("g_max_us", 40.0))))
        else:
            self._gate = float(ctx.clip_gate_v(np.array(self.v_gate_v)))
        self._width = ctx.clip_width_ps(self.width_ps)

    def next_pulses(self, cells: np.ndarray, g_us: np.ndarray, ctx: SchemeContext) -> list[PulseBatch]:
        want = np.where(g_us < ctx.targets_us[cells], 1, -1).astype(np.int8)
        phase = self._phase[cells]
        rev = (phase != 0) & (want != phase)
        if rev.any():
            r = cells[rev]
            self.reversals[r] += 1
            self._v_set[r[want[rev] == 1]] = self.v_set_start_v
            self._v_reset[r[want[rev] == -1]] = self.v_reset_start_v
        out = self.reversals[cells] > self.max_reversals
        ctx.give_up[cells[out]] = True
        cells, want = cells[~out], want[~out]
        self._phase[cells] = want
        is_set = want == 1
        v = np.where(is_set, ctx.clip_set_v(self._v_set[cells]), ctx.clip_reset_v(self._v_reset[cells]))
        self._v_set[cells] += np.where(is_set, self.v_step_v, 0.0)
        self._v_reset[cells] += np.where(is_set, 0.0, self.v_step_v)
        return [PulseBatch(cells, is_set, v, self._width, self._gate)]


# ----------------------------------------------------------------------------------------------------
class ResetVoltage:
    """Reset-voltage control (Kim et al., Nanotechnology 32, 295201, 2021).

    Every cell is first SET to the top of its range; a RESET pulse then lowers it to a state chosen by
    the RESET amplitude. The first amplitude comes from the datasheet's RESET floor
    ``g_min + (g_max − g_min)·exp(−(v − v_reset)/depth)``; then, per cell: still above the window →
    the next RESET is *v_step_v* deeper; below the window → SET back to the top and RESET with an
    amplitude *v_step_v* shallower. The step halves at every change of direction (a per-cell bisection
    of the RESET amplitude), down to *v_step_min_v*.
    """

    name = "reset_voltage"

    def __init__(self, v_set_v: float = 2.0, v_step_v: float = 0.04, v_step_min_v: float = 0.002,
                 width_ps: int = 1_000_000, v_gate_v: float | None = None) -> None:
        self.v_set_v = v_set_v
        self.v_step_v = v_step_v
        self.v_step_min_v = v_step_min_v
        self.width_ps = width_ps
        self.v_gate_v = v_gate_v

    def start(self, ctx: SchemeContext) -> None:
        n = ctx.n_cells
        g_lo, g_hi = ctx.device("g_min_us", 1.0), ctx.device("g_max_us", 40.0)
        v_th, depth = ctx.device("v_reset_threshold_v", 1.2), ctx.device("v_reset_depth_v", 0.5)
        frac = np.clip((ctx.targets_us - g_lo) / (g_hi - g_lo), 1e-3, 1.0)
        self._v_reset = ctx.clip_reset_v(v_th - depth * np.log(frac))
        self._step = np.full(n, self.v_step_v)
        self._last = np.zeros(n, np.int8)  # direction of the last amplitude change: +1 deeper, -1 shallower
        self._needs_set = np.ones(n, bool)  # the first pulse of every cell is the SET to the top
        gate = ctx.gate_for_ceiling_v(np.array(1.2 * g_hi)) if self.v_gate_v is None else self.v_gate_v
        self._gate = float(ctx.clip_gate_v(np.array(gate)))
        self._width = ctx.clip_width_ps(self.width_ps)
        self._started = np.zeros(n, bool)

    def next_pulses(self, cells: np.ndarray, g_us: np.ndarray, ctx: SchemeContext) -> list[PulseBatch]:
        high = g_us > ctx.targets_us[cells]
        started = self._started[cells]
        # Adjust the RESET amplitude of cells that already had a RESET.
        adj = cells[started]
        if adj.size:
            direction = np.where(high[started], 1, -1).astype(np.int8)
            flip = (self._last[adj] != 0) & (self._last[adj] != direction)
            self._step[adj[flip]] = np.maximum(self._step[adj[flip]] / 2, self.v_step_min_v)
            self._v_reset[adj] = ctx.clip_reset_v(self._v_reset[adj] + direction * self._step[adj])
            self._last[adj] = direction
            self._needs_set[adj[direction == -1]] = True  # too low: back to the top first
        set_cells = cells[self._needs_set[cells]]
        self._needs_set[set_cells] = False
        self._started[cells] = True
        batches = []
        if set_cells.size:
            batches.append(PulseBatch(set_cells, True, ctx.clip_set_v(np.array(self.v_set_v)).item(), self._width,
                                      self._gate))
        batches.append(PulseBatch(cells, False, self._v_reset[cells], self._width, ctx.v_gate_max_v))
        return batches


# ----------------------------------------------------------------------------------------------------
class Feedforward:
    """Feedforward pulse scheme (Diao et al., Nanoscale Horizons 2025, 780-790).

    The firmware assumes a step law ``Δg = a · (exp((v − v_th)/s) − 1) · d`` per pulse, with *d* the
    distance to the bound the pulse drives towards (``g_max − g`` for SET, ``g − g_min`` for RESET),
    *v_th*, *s* from the datasheet, and learns the per-cell, per-polarity factor *a* from the
    responses it measured (the last step that rose clearly above the noise). The next amplitude is the
    one that makes the step still needed, ``gain · (target − g)``: equal steps however non-linear the
    device, which is the point of the scheme. The first pulse of each polarity uses *v_start_v*.
    """

    name = "feedforward"

    def __init__(self, gain: float = 0.8, v_start_v: float | None = None, width_ps: int = 1_000_000,
                 v_gate_v: float | None = None, v_max_step_v: float = 0.3, noise_us: float | None = None,
                 a_min: float = 1e-7, a_max: float = 10.0, v_min_excess_v: float = 0.01) -> None:
        self.gain = gain
        self.v_start_v = v_start_v
        self.width_ps = width_ps
        self.v_gate_v = v_gate_v
        self.v_max_step_v = v_max_step_v
        self.noise_us = noise_us
        """Smallest response trusted for learning; None: the tolerance."""
        self.a_min, self.a_max = a_min, a_max
        self.v_min_excess_v = v_min_excess_v

    def start(self, ctx: SchemeContext) -> None:
        n = ctx.n_cells
        self._g_lo, self._g_hi = ctx.device("g_min_us", 1.0), ctx.device("g_max_us", 40.0)
        self._v_th = np.array([ctx.device("v_reset_threshold_v", 1.2), ctx.device("v_set_threshold_v", 1.0)])
        self._slope = np.array([ctx.device("v_reset_slope_v", 0.1), ctx.device("v_set_slope_v", 0.1)])
        self._a = np.full((2, n), np.nan)  # [reset, set] learned factors
        self._last_v = np.full(n, np.nan)
        self._last_pol = np.full(n, -1, np.int8)  # 1 SET, 0 RESET, -1 none yet
        self._last_g = np.full(n, np.nan)
        gate = ctx.gate_for_ceiling_v(np.array(1.2 * self._g_hi)) if self.v_gate_v is None else self.v_gate_v
        self._gate = float(ctx.clip_gate_v(np.array(gate)))
        self._width = ctx.clip_width_ps(self.width_ps)
        self._noise_us = ctx.tolerance_us if self.noise_us is None else self.noise_us

    def _distance(self, pol: np.ndarray, g: np.ndarray) -> np.ndarray:
        return np.maximum(np.where(pol == 1, self._g_hi - g, g - self._g_lo), 1e-3 * (self._g_hi - self._g_lo))

    def next_pulses(self, cells: np.ndarray, g_us: np.ndarray, ctx: SchemeContext) -> list[PulseBatch]:
        # Learn from the response to the previous pulse.
        had = self._last_pol[cells] >= 0
        c = cells[had]
        if c.size:
            pol = self._last_pol[c]
            step = np.where(pol == 1, 1.0, -1.0) * (g_us[had] - self._last_g[c])
            drive = np.expm1((self._last_v[c] - self._v_th[pol]) / self._slope[pol]) * self._distance(pol, self._last_g[c])
            ok = (step > self._noise_us) & (drive > 0)
            a_new = np.clip(step[ok] / drive[ok], self.a_min, self.a_max)
            self._a[pol[ok], c[ok]] = a_new
            # No clear response: the cell is less sensitive than believed; halve its factor.
            weak = ~ok & ~np.isnan(self._a[pol, c])
            self._a[pol[weak], c[weak]] = np.maximum(self._a[pol[weak], c[weak]] / 2, self.a_min)
        need = ctx.targets_us[cells] - g_us
        pol = (need > 0).astype(np.int8)
        a = self._a[pol, cells]
        wanted = self.gain * np.abs(need)
        with np.errstate(divide="ignore", invalid="ignore"):
            x = self._slope[pol] * np.log1p(wanted / (a * self._distance(pol, g_us)))
        v_first = np.where(pol == 1, self.v_start_v or self._v_th[1] + 0.2, self.v_start_v or self._v_th[0] + 0.2)
        v = np.where(np.isnan(a), v_first, self._v_th[pol] + np.maximum(x, self.v_min_excess_v))
        # A cell that has not answered yet in this polarity: ramp its amplitude until it does.
        unanswered = np.isnan(a) & (self._last_pol[cells] == pol) & ~np.isnan(self._last_v[cells])
        v = np.where(unanswered, self._last_v[cells] + self.v_max_step_v / 3, v)
        same = (self._last_pol[cells] == pol) & ~np.isnan(self._last_v[cells])
        v = np.where(same, np.minimum(v, self._last_v[cells] + self.v_max_step_v), v)
        v = np.where(pol == 1, ctx.clip_set_v(v), ctx.clip_reset_v(v))
        self._last_v[cells] = v
        self._last_pol[cells] = pol
        self._last_g[cells] = g_us
        gate = np.where(pol == 1, self._gate, ctx.v_gate_max_v)
        return [PulseBatch(cells, pol == 1, v, self._width, gate)]


# ----------------------------------------------------------------------------------------------------
class GateSet:
    """Gate-voltage-controlled SET plus denoising (Rao et al., Nature 615, 823, 2023).

    Below the window: a strong SET (*v_set_v*, long enough to reach the compliance ceiling) whose gate
    voltage puts the cell's ceiling ``ρ · ½k(v_g − v_t)²/v_set`` a little under the target
    (*approach* of the remaining distance, all of it in the last *fine_window_us*): fine steps from
    below. ρ (per cell, 1 at first) is learned from where the cell lands. Above the window: a RESET
    whose amplitude the datasheet's RESET law (floor and dose) says lowers the cell to
    ``reset_margin_us + reset_margin_rel · overshoot`` under the target, with a per-cell RESET
    threshold offset learned from the RESETs so far. Unformed cells
    (below *unformed_below_us*) first get a forming SET at the datasheet's forming voltage.

    Denoising: every programming pulse re-creates the cell's fluctuating filament (telegraph noise of
    up to several µS peak-to-peak, frozen over the µs between a pulse and its verify because the
    dwell time is ~10 ms, so averaging back-to-back reads does not remove it). So every programming
    pulse of a cell within *denoise_within_us* of its target (None: every pulse) is followed by
    *denoise_pulses* sub-threshold RESET pulses (*denoise_below_v* under the RESET threshold) and the
    verify read sees the calmed cell; far from the target a coarse step does not need that. Once a
    cell converged, the same pulses are applied once more and it is verified again
    (``settle_batches``); cells that left the window are re-programmed in the next round
    (*settle_rounds* at most), with denoising after every pulse.
    """

    name = "gate_set"

    def __init__(self, v_set_v: float = 1.8, width_ps: int = 1_000_000, approach: float = 0.85,
                 fine_window_us: float | None = None, reset_margin_us: float | None = None,
                 reset_margin_rel: float = 0.2,
                 denoise_pulses: int = 12, denoise_below_v: float = 0.1, settle_rounds: int = 5,
                 unformed_below_us: float | None = None, denoise_within_us: float | None = None) -> None:
        self.v_set_v = v_set_v
        self.width_ps = width_ps
        self.approach = approach
        self.fine_window_us = fine_window_us
        self.reset_margin_us = reset_margin_us
        self.reset_margin_rel = reset_margin_rel
        self.denoise_pulses = denoise_pulses
        self.denoise_below_v = denoise_below_v
        self.settle_rounds = settle_rounds if denoise_pulses > 0 else 1
        self.unformed_below_us = unformed_below_us
        self.denoise_within_us = denoise_within_us

    def start(self, ctx: SchemeContext) -> None:
        n = ctx.n_cells
        self._rho = np.ones(n)                  # SET ceiling factor
        self._dv = np.zeros(n)                  # RESET threshold offset, V
        self._kind = np.zeros(n, np.int8)       # last pulse: 0 none, 1 SET, 2 RESET, 3 forming
        self._req = np.full(n, np.nan)          # SET: the ceiling asked for; RESET: the amplitude used
        self._g0 = np.full(n, np.nan)
        self._stall = np.zeros(n)
        self._g_lo, self._g_hi = ctx.device("g_min_us", 1.0), ctx.device("g_max_us", 40.0)
        self._width = ctx.clip_width_ps(self.width_ps)
        self._unformed = 0.5 * self._g_lo if self.unformed_below_us is None else self.unformed_below_us
        self._v_form = max(ctx.device("v_forming_v", self.v_set_v), self.v_set_v)
        self._fine = 4 * ctx.tolerance_us if self.fine_window_us is None else self.fine_window_us
        self._margin = 2 * ctx.tolerance_us if self.reset_margin_us is None else self.reset_margin_us
        self._v_reset_th = ctx.device("v_reset_threshold_v", 1.2)
        self._reset_law = (self._v_reset_th, ctx.device("v_reset_slope_v", 0.1), ctx.device("v_reset_depth_v", 0.5),
                           self._width / ctx.device("t_reset_ps", 4e7))
        self._denoise_v = float(ctx.clip_reset_v(np.array(self._v_reset_th - self.denoise_below_v)))
        ctx.round = 0

    def _reset_step_us(self, v: np.ndarray, g0: np.ndarray) -> np.ndarray:
        """Nominal RESET step (positive, µS) of a pulse of amplitude *v* from *g0* (the datasheet law)."""
        v_th, slope, depth, dose = self._reset_law
        x = np.maximum(v - v_th, 0.0)
        floor = self._g_lo + (self._g_hi - self._g_lo) * np.exp(-x / depth)
        return -np.expm1(-dose * np.expm1(x / slope)) * np.maximum(g0 - floor, 0.0)

    def _learn(self, cells: np.ndarray, g_us: np.ndarray, ctx: SchemeContext) -> None:
        kind = self._kind[cells]
        g0, req = self._g0[cells], self._req[cells]
        noise = max(ctx.tolerance_us, 1e-9)
        s = (kind == 1) | (kind == 3)
        if s.any():
            c, g, gs0, ceil = cells[s], g_us[s], g0[s], req[s]
            moved = g - gs0 > 2 * noise
            w = np.where(g - gs0 < 0.05 * ceil, 1.0, 0.5)
            self._rho[c[moved]] *= (g[moved] / ceil[moved]) ** w[moved]
            self._stall[c[moved]] = 0
            st = ~moved & (gs0 < ceil)           # did not rise: the real ceiling is lower than asked
            self._stall[c[st]] += 1
            self._rho[c[st]] *= np.maximum(gs0[st], self._g_lo) / ceil[st] * (1 - 0.002 * 2 ** self._stall[c[st]])
            self._rho[c] = np.clip(self._rho[c], 0.3, 3.0)
        r = kind == 2
        if r.any():  # the RESET threshold offset that makes the datasheet law predict the measured step
            c, v, gr0 = cells[r], self._req[cells[r]], g0[r]
            step = gr0 - g_us[r]
            lo_d, hi_d = np.full(c.size, -0.5), np.full(c.size, 0.5)
            for _ in range(20):
                mid = 0.5 * (lo_d + hi_d)
                big = self._reset_step_us(v - mid, gr0) > step  # predicts too much: the offset is larger
                lo_d = np.where(big, mid, lo_d)
                hi_d = np.where(big, hi_d, mid)
            fit = 0.5 * (lo_d + hi_d)
            moved = step > 2 * noise  # a step lost in the noise says only "not enough": raise the offset a little
            new = np.where(moved, 0.5 * (self._dv[c] + fit), self._dv[c] + 0.01)
            self._dv[c] = np.clip(new, self._dv[c] - 0.05, self._dv[c] + 0.05)
        self._kind[cells] = 0

    def next_pulses(self, cells: np.ndarray, g_us: np.ndarray, ctx: SchemeContext) -> list[PulseBatch]:
        self._learn(cells, g_us, ctx)
        target = ctx.targets_us[cells]
        self._g0[cells] = g_us
        unformed = g_us < self._unformed
        low = (g_us < target) | unformed
        batches = []
        up = cells[low]
        if up.size:
            need = target[low] - g_us[low]
            aim = np.where(unformed[low], 0.97 * target[low],
                           np.where(need > self._fine, g_us[low] + self.approach * need, target[low]))
            self._req[up] = aim
            self._kind[up] = np.where(unformed[low], 3, 1)
            gate = ctx.gate_for_ceiling_v(aim / self._rho[up])
            v = np.where(unformed[low], self._v_form, self.v_set_v)
            batches.append(PulseBatch(up, True, ctx.clip_set_v(v), self._width, gate))
        high = ~low
        down = cells[high]
        if down.size:
            g0 = g_us[high]
            over = g0 - target[high]
            want = over + self._margin + self.reset_margin_rel * over
            lo_v = np.full(down.size, self._v_reset_th)
            hi_v = np.full(down.size, float(ctx.spec.tile.programming.v_reset_range_v[1]))
            dv = self._dv[down]
            for _ in range(24):  # bisection: the smallest amplitude whose predicted step reaches *want*
                mid = 0.5 * (lo_v + hi_v)
                short = self._reset_step_us(mid - dv, g0) < want
                lo_v = np.where(short, mid, lo_v)
                hi_v = np.where(short, hi_v, mid)
            v = ctx.clip_reset_v(hi_v)
            self._req[down] = v
            self._kind[down] = 2
            batches.append(PulseBatch(down, False, v, self._width, ctx.v_gate_max_v))
        if self.denoise_pulses:
            if getattr(ctx, "round", 0) >= 1 or self.denoise_within_us is None:
                calm = cells
            else:
                calm = cells[np.abs(g_us - target) <= self.denoise_within_us]
            if calm.size:
                batches += self.settle_batches(calm, ctx)
        return batches

    def settle_batches(self, cells: np.ndarray, ctx: SchemeContext) -> list[PulseBatch]:
        """Denoising: sub-threshold RESET pulses that do not switch the cell but calm its fluctuation."""
        return [PulseBatch(cells, False, self._denoise_v, self._width, ctx.v_gate_max_v, counts=False)
                for _ in range(self.denoise_pulses)]


# ----------------------------------------------------------------------------------------------------
class FunctionScheme:
    """A scheme from a plain function: ``fn(g_us, targets_us) -> (is_set, v_pulse_v)`` for the pending
    cells, with one pulse width and gate voltage for all. The quickest way to try an idea."""

    def __init__(self, fn: Callable[[np.ndarray, np.ndarray], tuple[Any, Any]], name: str = "custom",
                 width_ps: int = 1_000_000, v_gate_v: float | None = None) -> None:
        self.fn = fn
        self.name = name
        self.width_ps = width_ps
        self.v_gate_v = v_gate_v

    def start(self, ctx: SchemeContext) -> None:
        self._width = ctx.clip_width_ps(self.width_ps)
        gate = ctx.v_gate_max_v if self.v_gate_v is None else self.v_gate_v
        self._gate = float(ctx.clip_gate_v(np.array(gate)))

    def next_pulses(self, cells: np.ndarray, g_us: np.ndarray, ctx: SchemeContext) -> list[PulseBatch]:
        is_set, v = self.fn(g_us, ctx.targets_us[cells])
        is_set = np.broadcast_to(np.asarray(is_set, dtype=bool), cells.shape)
        v = np.broadcast_to(np.asarray(v, dtype=np.float64), cells.shape)
        v = np.where(is_set, ctx.clip_set_v(v), ctx.clip_reset_v(v))
        return [PulseBatch(cells, is_set, v, self._width, self._gate)]


SCHEMES: dict[str, Callable[..., Any]] = {
    "incremental": IncrementalStep,
    "reset_voltage": ResetVoltage,
    "feedforward": Feedforward,
    "gate_set": GateSet,
}
"""Schemes by name (``memtwin program --scheme NAME``)."""


def make_scheme(name: str, **options: Any) -> PulseScheme:
    """The scheme called *name* with *options*; ValueError naming the known schemes otherwise."""
    if name not in SCHEMES:
        raise ValueError(f"unknown pulse scheme {name!r}; known: {', '.join(repr(k) for k in SCHEMES)}")
    return SCHEMES[name](**options)
