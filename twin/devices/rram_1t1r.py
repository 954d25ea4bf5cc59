"""The ``rram_1t1r`` device model: a filamentary RRAM cell in series with an access transistor.

Physics (equations, parameters, statistics: ``docs/physics/device.md``):

- SET limited by the access transistor (compliance ceiling rising with the gate voltage), RESET
  towards an amplitude-dependent floor, soft bounds, switching thresholds, cycle-to-cycle noise;
- device-to-device variation of g_min, g_max, thresholds and switching rates, stuck-at-low and
  stuck-at-high cells, forming;
- random telegraph noise with a per-cell amplitude multiplier that sub-threshold pulses reduce
  (denoising, Rao et al., Nature 2023) and programming re-randomizes;
- relaxation after programming, applied lazily (NeuRRAM, Wan et al., Nature 2022);
- white, state-dependent read noise and a sinh I–V non-linearity.

Kernels: :mod:`twin.physics.device`, :mod:`twin.physics.read`, :mod:`twin.physics.relaxation`.
This class owns the random generators and draws in a fixed order: at construction variation,
stuck, telegraph; per ``apply_pulses`` call one c2c normal, one relaxation normal and one telegraph
uniform per pulse (each only if its effect is on); per ``telegraph_us`` call one uniform per cell.

Per-cell state is 64 bytes: g cache f64, g_prog f32, relax f32, t_prog i64, t_rtn i64,
rtn_level f32, rtn_tau f32 and six f32 per-cell parameters.
"""

from __future__ import annotations

from dataclasses import dataclass

import math

import numpy as np

from twin.devices.base import DeviceModel, check_conductance_bounds, register_device_model
from twin.physics import device as device_kernels
from twin.physics import read as read_kernels
from twin.physics import relaxation as relaxation_kernels
from twin.spec.fields import spec_field

_EMPTY = np.empty(0, dtype=np.float64)
_FAR_PAST_PS = -(2**62)


def _as_1d(x, dtype: np.dtype, n: int | None) -> np.ndarray:
    """*x* as a contiguous 1-D array of *dtype* (a scalar is repeated *n* times)."""
    if type(x) is np.ndarray and x.dtype is dtype and x.ndim == 1 and x.flags.c_contiguous:
        return x  # the common case, kept cheap: apply_pulses is called once per row of a write
    a = np.asarray(x, dtype=dtype)
    if a.ndim == 0 and n is not None:
        return np.full(n, a, dtype=dtype)
    return np.ascontiguousarray(a.reshape(-1))


_I64, _F64, _BOOL = np.dtype(np.int64), np.dtype(np.float64), np.dtype(np.bool_)


@dataclass(frozen=True, slots=True)
class Rram1T1RParams:
    """Parameters of the 1T1R RRAM cell (defaults: NeuRRAM-like HfOx/TaOx, 1–40 µS)."""

    # --- bounds and initial state --------------------------------------------------------------
    g_min_us: float = spec_field(1.0, lo=0, lo_open=True, hi=1e6)
    """Nominal lowest conductance (deepest RESET) of a formed cell."""
    g_max_us: float = spec_field(40.0, lo=0, lo_open=True, hi=1e6)
    """Nominal highest conductance (strongest SET) of a formed cell."""
    g_init_us: float = spec_field(1.0, lo=0, hi=1e6)
    """Conductance of a fresh, formed cell (clipped to the cell's own bounds)."""
    # --- SET: threshold, kinetics, compliance --------------------------------------------------
    v_set_threshold_v: float = spec_field(1.0, lo=0, lo_open=True, hi=10)
    """SET pulses at or below this amplitude do not switch; also the cell voltage during a compliance-limited SET."""
    v_set_slope_v: float = spec_field(0.1, lo=0, lo_open=True, hi=10)
    """Voltage scale of the exponential SET kinetics: every v_set_slope_v above threshold multiplies the rate by e."""
    t_set_ps: int = spec_field(40_000_000, lo=1)
    """SET time constant: a pulse this long at v_set_slope_v·ln 2 above threshold covers 63 % of the way to the ceiling (YAML: ``t_set_ns``)."""
    v_gate_threshold_v: float = spec_field(0.5, lo=0, hi=10)
    """Threshold voltage of the access transistor."""
    k_access_ua_per_v2: float = spec_field(100.0, lo=0, lo_open=True, hi=1e7)
    """Transistor gain: compliance current ``½·k·(v_gate − v_t)²``; ceiling ``i_cc / v_set_threshold_v``."""
    # --- RESET ----------------------------------------------------------------------------------
    v_reset_threshold_v: float = spec_field(1.2, lo=0, lo_open=True, hi=10)
    """RESET pulses at or below this amplitude do not switch."""
    v_reset_slope_v: float = spec_field(0.1, lo=0, lo_open=True, hi=10)
    """Voltage scale of the exponential RESET kinetics."""
    t_reset_ps: int = spec_field(40_000_000, lo=1)
    """RESET time constant, as t_set_ps (YAML: ``t_reset_ns``)."""
    v_reset_depth_v: float = spec_field(0.5, lo=0, lo_open=True, hi=10)
    """RESET floor ``g_min + (g_max − g_min)·exp(−(v − v_reset_threshold_v)/v_reset_depth_v)``: larger amplitude, deeper RESET."""
    # --- forming --------------------------------------------------------------------------------
    needs_forming: bool = False
    """Fresh cells are unformed and must be formed by a SET at >= v_forming_v."""
    v_forming_v: float = spec_field(3.0, lo=0, lo_open=True, hi=20)
    """Smallest SET amplitude that forms a fresh cell (it then jumps to its compliance ceiling)."""
    g_unformed_us: float = spec_field(0.01, lo=0, hi=1e6)
    """Conductance of an unformed cell."""
    # --- cycle-to-cycle noise --------------------------------------------------------------------
    c2c_rel: float = spec_field(0.3, lo=0, hi=10)
    """Standard deviation of every switching step relative to the step (dimensionless)."""
    c2c_abs_us: float = spec_field(0.3, lo=0, hi=1e6)
    """Absolute standard deviation added (in quadrature) to every switching step."""
    # --- device-to-device variation, stuck cells ------------------------------------------------
    var_g_rel: float = spec_field(0.05, lo=0, hi=1)
    """Log-normal spread (σ of ln) of each cell's g_min and g_max."""
    var_v_threshold_v: float = spec_field(0.03, lo=0, hi=1)
    """Standard deviation of each cell's SET and RESET thresholds."""
    var_rate_log: float = spec_field(0.3, lo=0, hi=5)
    """Log-normal spread (σ of ln) of each cell's SET and RESET rate multipliers."""
    p_stuck_low: float = spec_field(0.001, lo=0, hi=1)
    """Fraction of cells stuck at their g_min."""
    p_stuck_high: float = spec_field(0.001, lo=0, hi=1)
    """Fraction of cells stuck at their g_max."""
    # --- relaxation ---------------------------------------------------------------------------
    relax_sigma_peak_us: float = spec_field(4.0, lo=0, hi=1e6)
    """Largest standard deviation of the relaxation offset Δ (reached at relax_g_peak_us)."""
    relax_g_peak_us: float = spec_field(12.0, lo=0, lo_open=True, hi=1e6)
    """Conductance of the largest relaxation: ``σ(g) = σ_peak·(g/g_peak)·exp(1 − g/g_peak)``."""
    tau_relax_ps: int = spec_field(200_000_000_000, lo=1)
    """Relaxation time constant (YAML: ``tau_relax_ns``); settled after 20·τ."""
    # --- telegraph noise and denoising --------------------------------------------------------
    rtn_amp_us: float = spec_field(1.0, lo=0, hi=1e6)
    """Peak-to-peak telegraph amplitude at g = g_max_us and multiplier 1."""
    rtn_exponent: float = spec_field(0.5, lo=0, hi=3)
    """Amplitude scaling with the state: ``A(g) = rtn_amp_us·(g/g_max_us)**rtn_exponent``."""
    rtn_spread: float = spec_field(0.5, lo=0, hi=1)
    """Programming draws the multiplier uniform in [1 − rtn_spread, 1 + rtn_spread]."""
    rtn_tau_ps: int = spec_field(10_000_000_000, lo=1)
    """Median mean dwell time of a cell's fluctuator (YAML: ``rtn_tau_ns``)."""
    rtn_tau_log_sigma: float = spec_field(1.0, lo=0, hi=10)
    """Log-normal spread (σ of ln) of the per-cell dwell time."""
    denoise_window_v: float = spec_field(0.3, lo=0, hi=10)
    """Pulses within this margin below their threshold (either polarity) denoise without switching."""
    denoise_rate: float = spec_field(0.3, lo=0, hi=1)
    """Fraction of the multiplier's excess over the floor removed by each denoising pulse."""
    denoise_floor: float = spec_field(0.1, lo=0, hi=1)
    """Telegraph multiplier after complete denoising."""
    # --- read -----------------------------------------------------------------------------------
    read_noise_abs_us: float = spec_field(0.05, lo=0, hi=1e6)
    """State-independent part of the read-noise standard deviation."""
    read_noise_rel: float = spec_field(0.005, lo=0, hi=1)
    """Read-noise standard deviation per µS of conductance."""
    iv_nonlinearity_per_v: float = spec_field(0.5, lo=0, hi=20)
    """a in the read I–V curve ``i = g·v·sinh(a·v)/(a·v)``."""

    def check(self) -> list[tuple[str, str]]:
        """Cross-field rules: a list of (field, message) for every violation."""
        problems = check_conductance_bounds(self)
        if self.p_stuck_low + self.p_stuck_high > 1.0:
            problems.append(("p_stuck_high", f"must be <= 1 - p_stuck_low ({1.0 - self.p_stuck_low:g}), not {self.p_stuck_high:g}"))
        if self.needs_forming and self.v_forming_v < self.v_set_threshold_v:
            problems.append(("v_forming_v", f"must be >= v_set_threshold_v ({self.v_set_threshold_v:g}), not {self.v_forming_v:g}"))
        if self.g_unformed_us > self.g_min_us:
            problems.append(("g_unformed_us", f"must be <= g_min_us ({self.g_min_us:g}), not {self.g_unformed_us:g}"))
        return problems


_NO_CELLS = np.empty(0, dtype=np.int64)

_CHANGE_HISTORY = 8
"""Versions whose changed cells are remembered (see Rram1T1R.changed_since)."""

_THINNING_MAX_P = 0.25
"""Above this bound on the flip probability, whole-array telegraph updates draw one uniform per cell."""


def _bernoulli_positions(rng: np.random.Generator, n: int, p: float) -> np.ndarray:
    """Indices in [0, n) each chosen independently with probability *p*, by geometric gaps (cost ~ n·p)."""
    if p <= 0.0 or n == 0:
        return np.empty(0, dtype=np.int64)
    chunks = []
    last = -1
    expected = int(n * p + 6.0 * math.sqrt(n * p) + 16)
    while True:
        positions = last + np.cumsum(rng.geometric(p, expected))
        inside = positions[positions < n]
        chunks.append(inside)
        if inside.size < positions.size:
            return np.concatenate(chunks).astype(np.int64)
        last = int(positions[-1])


@register_device_model("rram_1t1r")
class Rram1T1R(DeviceModel):
    """Filamentary RRAM in a 1T1R cell: compliance, soft bounds, noise, denoising, relaxation."""

    Params = Rram1T1RParams

    def __init__(self, params, rows, cols, effects, rng) -> None:
        super().__init__(params, rows, cols, effects, rng)
        p = params
        n = rows * cols
        f32 = np.float32
        # -- per-cell parameters (device-to-device variation), drawn once --------------------------
        if effects.variation:
            z = rng["variation"].standard_normal((6, n))
            g_min = p.g_min_us * np.exp(p.var_g_rel * z[0])
            g_max = np.maximum(p.g_max_us * np.exp(p.var_g_rel * z[1]), g_min * 1.001)
            v_set = np.maximum(p.v_set_threshold_v + p.var_v_threshold_v * z[2], 0.0)
            v_reset = np.maximum(p.v_reset_threshold_v + p.var_v_threshold_v * z[3], 0.0)
            set_rate = np.exp(p.var_rate_log * z[4])
            reset_rate = np.exp(p.var_rate_log * z[5])
        else:
            g_min, g_max = np.full(n, p.g_min_us), np.full(n, p.g_max_us)
            v_set, v_reset = np.full(n, p.v_set_threshold_v), np.full(n, p.v_reset_threshold_v)
            set_rate = reset_rate = np.ones(n)
        self.g_min_us = g_min.astype(f32)
        """Per-cell lowest conductance (f32)."""
        self.g_max_us = g_max.astype(f32)
        """Per-cell highest conductance (f32)."""
        self.v_set_th_v = v_set.astype(f32)
        """Per-cell SET threshold (f32)."""
        self.v_reset_th_v = v_reset.astype(f32)
        """Per-cell RESET threshold (f32)."""
        self.set_rate = set_rate.astype(f32)
        """Per-cell SET rate multiplier (f32)."""
        self.reset_rate = reset_rate.astype(f32)
        """Per-cell RESET rate multiplier (f32)."""
        # -- programmed state ---------------------------------------------------------------------
        self.g_prog_us = np.clip(np.float32(p.g_init_us), self.g_min_us, self.g_max_us).astype(f32)
        """Conductance right after the last switching pulse (f32)."""
        self.relax_us = np.zeros(n, dtype=f32)
        """Relaxation offset Δ drawn at the last switching pulse (f32)."""
        self.t_prog_ps = np.zeros(n, dtype=np.int64)
        """Time of the last switching pulse, or a status code < 0 (unformed, stuck)."""
        if effects.stuck_cells and (p.p_stuck_low > 0 or p.p_stuck_high > 0):
            u = rng["stuck"].random(n)
            low = u < p.p_stuck_low
            high = ~low & (u < p.p_stuck_low + p.p_stuck_high)
        else:
            low = high = np.zeros(n, dtype=bool)
        if p.needs_forming:
            unformed = ~low & ~high
            self.t_prog_ps[unformed] = device_kernels.UNFORMED
            self.g_prog_us[unformed] = f32(p.g_unformed_us)
        self.t_prog_ps[low] = device_kernels.STUCK_LOW
        self.g_prog_us[low] = self.g_min_us[low]
        self.t_prog_ps[high] = device_kernels.STUCK_HIGH
        self.g_prog_us[high] = self.g_max_us[high]
        # -- telegraph noise ------------------------------------------------------------------------
        self.rtn_level = np.zeros(n, dtype=f32)
        """Signed telegraph multiplier: the sign is the fluctuator's state, the magnitude the defect multiplier."""
        self.rtn_tau_ps = np.full(n, float(p.rtn_tau_ps), dtype=f32)
        """Per-cell mean dwell time of the fluctuator, ps (f32)."""
        self.t_rtn_ps = np.zeros(n, dtype=np.int64)
        """Time of each cell's last telegraph evaluation."""
        if effects.telegraph_noise:
            r = rng["rtn"]
            self.rtn_tau_ps[:] = p.rtn_tau_ps * np.exp(p.rtn_tau_log_sigma * r.standard_normal(n))
            m = 1.0 + p.rtn_spread * (2.0 * r.random(n) - 1.0)
            sign = np.where(r.random(n) < 0.5, -1.0, 1.0)
            live = self.t_prog_ps >= 0
            self.rtn_level[live] = (sign * m)[live]
        # Whole-array updates advance the few fastest fluctuators exactly and thin the rest (see
        # _telegraph_all_us); the split is the dwell time of the fastest 2 % of cells.
        self._rtn_tau_split_ps = float(np.quantile(self.rtn_tau_ps, 0.02)) if n else 1.0
        self._rtn_fast_cells: np.ndarray | None = None
        """Flat indices of those fast cells, ascending (made at the first whole-array update: an MVM cache)."""
        self._rtn_all_ps = 0
        """Every fluctuator has been evaluated at or after this time."""
        self._rtn_offsets: np.ndarray | None = None
        self._g_rtn_us: np.ndarray | None = None
        self._rtn_offsets_key: int | None = None
        self._rtn_stamp = 0
        self._rtn_log: list[tuple[int, np.ndarray | None]] = []
        """(stamp, cells whose telegraph-cache entry was rewritten, None = all) for incremental MVM caches."""
        # -- conductance cache ----------------------------------------------------------------------
        self.g_us = self.g_prog_us.astype(np.float64)
        """Cache of the conductance (f64), exact as of the last evaluation; returned as (rows, cols)."""
        self._settle_ps = 20 * p.tau_relax_ps
        self._t_eval_ps = _FAR_PAST_PS
        self._t_last_prog_ps = _FAR_PAST_PS
        self._relaxing = False
        self._pulsed_since_eval = False
        self._version = 0
        self._changes: list[tuple[int, np.ndarray]] = []
        """(version, cells changed in it) for the last few versions, for incremental caches."""
        # Generators used per pulse, looked up once (creating one does not advance any stream).
        self._rng_c2c = rng["c2c"] if effects.cycle_noise else None
        self._rng_relaxation = rng["relaxation"] if effects.relaxation else None
        self._rng_rtn = rng["rtn"] if effects.telegraph_noise else None
        self._prm = device_kernels.pulse_params(
            t_set_ps=p.t_set_ps, v_set_slope_v=p.v_set_slope_v, t_reset_ps=p.t_reset_ps,
            v_reset_slope_v=p.v_reset_slope_v, v_reset_depth_v=p.v_reset_depth_v,
            v_gate_threshold_v=p.v_gate_threshold_v, k_access_ua_per_v2=p.k_access_ua_per_v2,
            c2c_rel=p.c2c_rel, c2c_abs_us=p.c2c_abs_us, v_forming_v=p.v_forming_v,
            tau_relax_ps=p.tau_relax_ps, settle_ps=self._settle_ps,
            relax_sigma_peak_us=p.relax_sigma_peak_us, relax_g_peak_us=p.relax_g_peak_us,
            denoise_window_v=p.denoise_window_v, denoise_rate=p.denoise_rate,
            denoise_floor=p.denoise_floor, rtn_spread=p.rtn_spread)

    def nbytes(self) -> int:
        """Per-cell state bytes (the telegraph caches of whole-array MVMs, about 16.2 B per cell, are not cell
        state: they exist only on tiles that run MVMs with telegraph noise on)."""
        caches = ("_rtn_offsets", "_g_rtn_us", "_rtn_fast_cells")
        return sum(v.nbytes for k, v in vars(self).items() if isinstance(v, np.ndarray) and k not in caches)

    # --- state -----------------------------------------------------------------------------------
    def conductance_us(self, now_ps: int) -> np.ndarray:
        now_ps = int(now_ps)
        if (self._relaxing and (now_ps != self._t_eval_ps or self._pulsed_since_eval)) or now_ps < self._t_eval_ps:
            since = self._t_eval_ps if now_ps >= self._t_eval_ps else _FAR_PAST_PS
            p = self.params
            changed = np.empty(self.g_us.size, dtype=np.int64)
            n = relaxation_kernels.relaxed_conductance_us(self.g_prog_us, self.relax_us, self.t_prog_ps, now_ps,
                                                          float(p.tau_relax_ps), self._settle_ps, since, self.g_us,
                                                          changed)
            self._t_eval_ps = now_ps
            self._pulsed_since_eval = False
            self._relaxing = now_ps - self._t_last_prog_ps < self._settle_ps
            self._bump_version(changed[:n])
        return self.g_us.reshape(self.rows, self.cols)

    @property
    def version(self) -> int:
        """Bumped by every ``apply_pulses`` call and by every ``conductance_us`` call that moved relaxing cells."""
        return self._version

    def _bump_version(self, changed: np.ndarray) -> None:
        """A new version in which the cells *changed* (flat indices) may have a new conductance."""
        self._version += 1
        history = self._changes
        history.append((self._version, changed))
        while len(history) > _CHANGE_HISTORY:
            history.pop(0)

    def changed_since(self, version: int) -> np.ndarray | None:
        """Flat indices of the cells whose conductance may have changed after *version* (with repeats),
        or None when that is no longer known or is most of the array (recompute everything)."""
        if version == self._version:
            return np.empty(0, dtype=np.int64)
        parts = [idx for v, idx in self._changes if v > version]
        if not self._changes or self._changes[0][0] > version + 1 or not parts:
            return None
        total = sum(p.size for p in parts)
        if total > self.g_us.size // 4:
            return None
        return np.concatenate(parts) if len(parts) > 1 else parts[0]

    @property
    def formed(self) -> np.ndarray:
        """(rows, cols) bool: cells that are formed (or stuck) rather than waiting for forming."""
        return (self.t_prog_ps != device_kernels.UNFORMED).reshape(self.rows, self.cols)

    @property
    def stuck(self) -> np.ndarray:
        """(rows, cols) int8: 0 working, -1 stuck at g_min, +1 stuck at g_max."""
        out = np.zeros(self.rows * self.cols, dtype=np.int8)
        out[self.t_prog_ps == device_kernels.STUCK_LOW] = -1
        out[self.t_prog_ps == device_kernels.STUCK_HIGH] = 1
        return out.reshape(self.rows, self.cols)

    # --- programming -----------------------------------------------------------------------------
    def apply_pulses(self, idx, is_set, v_pulse_v, width_ps, v_gate_v, now_ps):
        idx = _as_1d(idx, _I64, None)
        n = idx.size
        is_set = _as_1d(is_set, _BOOL, n)
        v_pulse_v = _as_1d(v_pulse_v, _F64, n)
        width_ps = _as_1d(width_ps, _I64, n)
        v_gate_v = _as_1d(v_gate_v, _F64, n)
        now_ps = int(now_ps)
        effects = self.effects
        z_c2c = self._rng_c2c.standard_normal(n) if effects.cycle_noise else _EMPTY
        z_relax = self._rng_relaxation.standard_normal(n) if effects.relaxation else _EMPTY
        u_rtn = self._rng_rtn.random(n) if effects.telegraph_noise else _EMPTY
        energy_pj = np.empty(n, dtype=np.float64)
        kernel = device_kernels.pulse_response_g_us if n >= device_kernels.PARALLEL_MIN_CELLS \
            else device_kernels.pulse_response_g_us_serial
        kernel(
            idx, is_set, v_pulse_v, width_ps, v_gate_v, now_ps,
            self.g_prog_us, self.relax_us, self.t_prog_ps, self.rtn_level, self.g_us,
            self.g_min_us, self.g_max_us, self.v_set_th_v, self.v_reset_th_v, self.set_rate, self.reset_rate,
            z_c2c, z_relax, u_rtn, self._prm, energy_pj)
        if effects.relaxation and n:
            self._relaxing = True
            self._pulsed_since_eval = True
            if now_ps < self._t_eval_ps:  # pulses dated before the last evaluation: recompute everything next time
                self._t_eval_ps = _FAR_PAST_PS
            self._t_last_prog_ps = max(self._t_last_prog_ps, now_ps)
        self._bump_version(idx.copy())
        return energy_pj

    def cell_sequence(self, is_read, idx, is_set, v_pulse_v, width_ps, v_gate_v, t_ps):
        n = idx.size
        effects = self.effects
        pulses = ~is_read
        n_pulses = int(np.count_nonzero(pulses))
        # The same draws, from the same streams, as one command per op would make: c2c and relaxation one
        # per pulse, telegraph one per op (pulses and reads alike).
        z_c2c = z_relax = _EMPTY
        if effects.cycle_noise and n_pulses:
            z_c2c = np.zeros(n)
            z_c2c[pulses] = self._rng_c2c.standard_normal(n_pulses)
        if effects.relaxation and n_pulses:
            z_relax = np.zeros(n)
            z_relax[pulses] = self._rng_relaxation.standard_normal(n_pulses)
        u_rtn = self._rng_rtn.random(n) if effects.telegraph_noise else _EMPTY
        g_read_us = np.zeros(n)
        rtn_read_us = np.zeros(n)
        energy_pj = np.zeros(n)
        p = self.params
        device_kernels.cell_sequence(
            is_read, idx, is_set, v_pulse_v, width_ps, v_gate_v, t_ps,
            self.g_prog_us, self.relax_us, self.t_prog_ps, self.rtn_level, self.g_us,
            self.g_min_us, self.g_max_us, self.v_set_th_v, self.v_reset_th_v, self.set_rate, self.reset_rate,
            z_c2c, z_relax, u_rtn, self._prm, self.t_rtn_ps, self.rtn_tau_ps, self._rtn_all_ps, p.rtn_amp_us,
            p.rtn_exponent, p.g_max_us, g_read_us, rtn_read_us, energy_pj)
        if n_pulses:
            t_pulses = t_ps[pulses]
            if effects.relaxation:
                self._relaxing = True
                self._pulsed_since_eval = True
                if t_pulses.min() < self._t_eval_ps:
                    self._t_eval_ps = _FAR_PAST_PS
                self._t_last_prog_ps = max(self._t_last_prog_ps, int(t_pulses.max()))
        # Pulsed cells changed; read cells' fluctuators may have flipped (whole-array telegraph caches).
        changed = idx if self._rtn_offsets is not None else idx[pulses]
        if changed.size:
            self._bump_version(changed.copy())
        return g_read_us, (rtn_read_us if effects.telegraph_noise else None), energy_pj

    # --- reading ---------------------------------------------------------------------------------
    def read_noise_var_us2(self, g_us, v_read_v):
        g = np.ascontiguousarray(g_us, dtype=np.float64)
        out = np.empty_like(g)
        if not self.effects.read_noise:
            out[...] = 0.0
            return out
        read_kernels.read_noise_var_us2(g.reshape(-1), self.params.read_noise_abs_us, self.params.read_noise_rel,
                                        out.reshape(-1))
        return out

    def telegraph_us(self, idx, now_ps):
        if not self.effects.telegraph_noise:
            return None
        p = self.params
        now_ps = int(now_ps)
        g_all = self.conductance_us(now_ps).reshape(-1)
        if idx is None:
            return self._telegraph_all_us(now_ps, g_all).reshape(self.rows, self.cols)
        idx = np.ascontiguousarray(idx, dtype=np.int64)
        u = self.rng["rtn"].random(idx.size)
        out = np.empty(idx.size)
        read_kernels.telegraph_us(idx, now_ps, self._rtn_all_ps, g_all[idx], self.rtn_level, self.t_rtn_ps,
                                  self.rtn_tau_ps, u, p.rtn_amp_us, p.rtn_exponent, p.g_max_us, out)
        if self._rtn_offsets is not None:  # keep the whole-array caches right for these cells
            read_kernels.telegraph_offsets_at_us(idx, g_all, self.rtn_level, p.rtn_amp_us, p.rtn_exponent,
                                                 p.g_max_us, self._rtn_offsets, self._g_rtn_us)
            self._log_telegraph_cells(idx.copy())
        return out

    def conductance_with_telegraph_us(self, now_ps: int) -> np.ndarray:
        """Conductance plus telegraph offset of every cell at *now_ps*, (rows, cols); cached, do not modify."""
        if not self.effects.telegraph_noise:
            return self.conductance_us(now_ps)
        self._telegraph_all_us(int(now_ps), self.conductance_us(int(now_ps)).reshape(-1))
        return self._g_rtn_us.reshape(self.rows, self.cols)

    def _telegraph_all_us(self, now_ps: int, g_all: np.ndarray) -> np.ndarray:
        """Offsets of every cell at *now_ps* (a cached array: do not modify).

        Soon after the last whole-array evaluation most flip probabilities are small, so instead of one
        uniform draw per cell: the fastest 2 % of fluctuators are advanced exactly, and the others by
        thinning — candidates are picked with the largest flip probability any of them can have
        (geometric gaps between picks) and each candidate flips with its own probability relative to
        that bound. Each cell still flips with exactly its Markov probability.
        """
        p = self.params
        n = g_all.size
        r = self.rng["rtn"]
        dt_max = max(now_ps - self._rtn_all_ps, 0)  # every fluctuator was evaluated at or after _rtn_all_ps
        p_bound = 0.5 * (1.0 - math.exp(-2.0 * dt_max / self._rtn_tau_split_ps))
        valid = self._rtn_offsets_key == self._version
        moved = _NO_CELLS
        if p_bound > _THINNING_MAX_P or self._rtn_offsets is None:
            out = np.empty(n)
            u = r.random(n)
            read_kernels.telegraph_all_us(now_ps, self._rtn_all_ps, g_all, self.rtn_level, self.t_rtn_ps,
                                          self.rtn_tau_ps, u, p.rtn_amp_us, p.rtn_exponent, p.g_max_us, out)
            self._rtn_offsets = out
            self._g_rtn_us = g_all + out
            self._log_telegraph_cells(None)
        elif dt_max > 0:
            candidates = _bernoulli_positions(r, n, p_bound)
            u_candidates = r.random(candidates.size)
            if self._rtn_fast_cells is None:  # the kernel's test, in float64
                self._rtn_fast_cells = np.flatnonzero(self.rtn_tau_ps.astype(np.float64) < self._rtn_tau_split_ps)
            fast_cells = self._rtn_fast_cells
            u_fast = r.random(fast_cells.size)
            flipped = np.empty(fast_cells.size + candidates.size, dtype=np.int64)
            n_flipped = read_kernels.telegraph_step_all(now_ps, self._rtn_all_ps, self._rtn_tau_split_ps, p_bound,
                                                        fast_cells, candidates, u_candidates, u_fast, self.rtn_level,
                                                        self.t_rtn_ps, self.rtn_tau_ps, flipped)
            moved = flipped[:n_flipped]
            if valid:
                self._rtn_offsets[moved] *= -1.0
                self._g_rtn_us[moved] = g_all[moved] + self._rtn_offsets[moved]
                if moved.size:
                    self._log_telegraph_cells(moved)
        if not valid and self._rtn_offsets is not None and p_bound <= _THINNING_MAX_P:
            changed = None if self._rtn_offsets_key is None else self.changed_since(self._rtn_offsets_key)
            if changed is None:
                read_kernels.telegraph_offsets_us(g_all, self.rtn_level, p.rtn_amp_us, p.rtn_exponent, p.g_max_us,
                                                  self._rtn_offsets)
                np.add(g_all, self._rtn_offsets, out=self._g_rtn_us)
                self._log_telegraph_cells(None)
            else:  # only the cells whose conductance changed or whose fluctuator flipped since the caches were made
                cells = np.concatenate((changed, moved))
                read_kernels.telegraph_offsets_at_us(cells, g_all, self.rtn_level, p.rtn_amp_us, p.rtn_exponent,
                                                     p.g_max_us, self._rtn_offsets, self._g_rtn_us)
                self._log_telegraph_cells(cells)
        self._rtn_all_ps = now_ps
        self._rtn_offsets_key = self._version
        return self._rtn_offsets

    def _log_telegraph_cells(self, cells: np.ndarray | None) -> None:
        """Record that the telegraph caches were rewritten at flat *cells* (None: possibly everywhere)."""
        self._rtn_stamp += 1
        log = self._rtn_log
        log.append((self._rtn_stamp, cells))
        while len(log) > _CHANGE_HISTORY:
            log.pop(0)

    @property
    def telegraph_stamp(self) -> int:
        """Bumped whenever telegraph updates rewrite entries of ``conductance_with_telegraph_us``."""
        return self._rtn_stamp

    def telegraph_changed_since(self, stamp: int) -> np.ndarray | None:
        """Flat indices of the cells whose ``conductance_with_telegraph_us`` entry telegraph updates rewrote
        after *stamp* (with repeats; cells whose conductance changed are in ``changed_since``), or None when
        that is no longer known or is most of the array (for incremental caches of MVM operands)."""
        if stamp == self._rtn_stamp:
            return _NO_CELLS
        log = self._rtn_log
        if stamp == self._rtn_stamp - 1:  # the common case: one update since (the log's last entry)
            return log[-1][1]
        if not log or log[0][0] > stamp + 1 or stamp > self._rtn_stamp:
            return None
        parts = [cells for s, cells in log if s > stamp]
        if any(cells is None for cells in parts) or sum(c.size for c in parts) > self.g_us.size // 4:
            return None
        return np.concatenate(parts) if len(parts) > 1 else parts[0]

    def iv_nonlinearity_per_v(self) -> float:
        return float(self.params.iv_nonlinearity_per_v)
