"""The array of one tile: the only owner of cell state, and the place where commands meet physics.

An :class:`Array` holds the tile's device model (every per-cell state array lives there) and its
generators. For each command it draws the random numbers it needs, in a fixed order, calls the
physics kernels once for the whole command, and returns values and the cells' energy:

- Read: each cell's current at the read voltage (I–V non-linearity, telegraph and white read noise)
  through the ADCs at the read range, divided back by the read voltage: measured conductance, µS.
- Pulse: the device model's pulse response; cell energy V·I·t.
- Mvm: inputs through the DACs, column currents (ideal, or through the resistive network when
  ``effects.ir_drop``), read noise exact in distribution, ADCs at the MVM range; values in µA.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from twin.commands import Mvm, Pulse, Read
from twin.controller import Plan
from twin.devices import DEVICE_MODELS
from twin.periphery import AdcBank, DacBank, TileSettings
from twin.physics import converters as converters_physics
from twin.physics import mvm as mvm_physics
from twin.physics.converters import AdcSetting
from twin.physics.crossbar import IrDropSolver
from twin.rng import ChipRng, TileRng
from twin.spec.chipspec import ChipSpec
from twin.units import uw_ps_to_pj

_MVM_OPERAND_WINDOWS = 4
"""Windows whose float32 MVM operands an array keeps."""


@dataclass(slots=True)
class _MvmOperands:
    """The float32 conductances of one MVM window and their row sums, as of a model state."""

    g32_us: np.ndarray
    """The window of conductance plus telegraph offset, float32 (µS)."""
    rowsum_us: np.ndarray
    """Row sums of ``g32_us``, float64 (µS)."""
    version: int
    """The model's ``version`` they are up to date with."""
    telegraph_stamp: int
    """The model's ``telegraph_stamp`` they are up to date with (0 without telegraph noise)."""


class Array:
    """Cells of one tile (state in the device model) plus the tile's converters."""

    def __init__(self, spec: ChipSpec, tile: int, chip_rng: ChipRng) -> None:
        t = spec.tile
        self.spec = spec
        self.tile = tile
        self.rng = TileRng(chip_rng, tile)
        self.effects = t.effects
        self.model = DEVICE_MODELS[t.device.model](t.device.params, t.array.rows, t.array.cols, t.effects, self.rng)
        """The device model: per-cell state and parameters."""
        self.dacs = DacBank(t.dac)
        self.adcs = AdcBank(t.adc, self.rng["adc_noise"])
        self._iv_key: tuple | None = None
        self._iv_value = 1.0
        self._var: np.ndarray | None = None
        self._var_key: tuple | None = None
        self._solver: IrDropSolver | None = None
        self._solver_g: np.ndarray | None = None
        self._mvm_workspace = mvm_physics.MvmWorkspace()
        """Scratch arrays of this array's MVMs (its own: arrays of chips in other threads never share them)."""
        self._g32_windows: dict[tuple, _MvmOperands] = {}
        """Float32 MVM operands of the last few windows used (see _mvm_conductance)."""
        model = self.model
        self._g32_tracked = model.changed_since(model.version) is not None and (
            not self.effects.telegraph_noise or model.telegraph_changed_since(model.telegraph_stamp) is not None)
        """Whether the model says which cells changed (then the MVM operands are kept and updated)."""

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, cols)."""
        return (self.model.rows, self.model.cols)

    def conductance_us(self, now_ps: int) -> np.ndarray:
        """True conductances at *now_ps* (a read-only view for tests and diagnostics, not for firmware)."""
        g = self.model.conductance_us(now_ps).view()
        g.flags.writeable = False
        return g

    def execute(self, cmd: Any, plan: Plan, settings: TileSettings, start_ps: int, end_ps: int
                ) -> tuple[np.ndarray | None, dict[str, float], dict]:
        """Apply *cmd*: returns (values, energy by component in pJ: ``cells``, and for MVMs the data-dependent
        ``dac``; extra counts)."""
        if isinstance(cmd, Read):
            return self._read(cmd, plan, settings, start_ps)
        if isinstance(cmd, Pulse):
            return self._pulse(cmd, end_ps)
        if isinstance(cmd, Mvm):
            return self._mvm(cmd, plan, settings, start_ps)
        raise TypeError(f"the array does not execute {type(cmd).__name__}")

    # --- Read ---------------------------------------------------------------------------------
    def _read(self, cmd: Read, plan: Plan, settings: TileSettings, now_ps: int):
        rows, cols = cmd.cells()
        idx = rows * self.model.cols + cols
        g_true = self.model.conductance_us(now_ps).reshape(-1)[idx]
        rtn = self.model.telegraph_us(idx, now_ps) if self.effects.telegraph_noise else None
        v = settings.v_read_v
        i_ua, u_v = self._read_currents_ua(g_true, rtn, v)
        i_est_ua, n_sat = self.adcs.convert(i_ua, settings.adc_read_range_ua)
        values = (i_est_ua / v).reshape(cmd.shape)
        # V²·G·t, each row driven for the average row time of this read (exact for one-row reads).
        t_row_ps = plan.phases[-1].duration_ps / max(plan.counts["rows_driven"], 1)
        cells_pj = float(uw_ps_to_pj(v * u_v * g_true.sum(), t_row_ps))
        return values, {"cells": cells_pj}, {"adc_saturated": n_sat}

    def _read_currents_ua(self, g_true: np.ndarray, rtn_us: np.ndarray | None, v: float
                          ) -> tuple[np.ndarray, float]:
        """Sensed currents of cells of true conductance *g_true* plus telegraph offsets *rtn_us* at read
        voltage *v*: I–V non-linearity and white read noise (one draw per cell); returns (µA, v·f(v))."""
        g = g_true if rtn_us is None else g_true + rtn_us
        u_v = v * self._iv_factor(v)
        i_ua = g * u_v
        var = self.model.read_noise_var_us2(g_true, v) if self.effects.read_noise else None
        if var is not None:
            i_ua = i_ua + u_v * np.sqrt(var) * self.rng["read_noise"].standard_normal(g_true.size)
        return i_ua, u_v

    def _iv_factor(self, v_v: float) -> float:
        """The cell's I–V factor f(v) at the read voltage (cached per voltage)."""
        key = (v_v, self.model.iv_nonlinearity_per_v())
        if key != self._iv_key:
            self._iv_key, self._iv_value = key, float(mvm_physics.iv_factor_scalar(*key))
        return self._iv_value

    # --- Pulse --------------------------------------------------------------------------------
    def _pulse(self, cmd: Pulse, end_ps: int):
        rows, cols, is_set, v, width, gate = cmd.cells()
        idx = rows * self.model.cols + cols
        energy = self.model.apply_pulses(idx, np.ascontiguousarray(is_set), np.ascontiguousarray(v),
                                         np.ascontiguousarray(width), np.ascontiguousarray(gate), end_ps)
        return None, {"cells": float(np.sum(energy))}, {}

    # --- sequences of single-cell commands -----------------------------------------------------
    def execute_cell_sequence(self, is_read: np.ndarray, idx: np.ndarray, is_set: np.ndarray, v_pulse_v: np.ndarray,
                              width_ps: np.ndarray, v_gate_v: np.ndarray, exec_start_ps: np.ndarray,
                              exec_end_ps: np.ndarray, settings: TileSettings, t_read_ps: int
                              ) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """Single-cell reads and pulses in order, each exactly as its own Read or Pulse command would run.

        Op *k* acts on flat cell ``idx[k]``, executing from ``exec_start_ps[k]`` to ``exec_end_ps[k]``;
        *t_read_ps* is the array phase of a one-cell read. Returns (values: measured conductance of
        each read, µS, NaN for pulses; cells' energy of each op, pJ; ADC saturations of each op), or
        None when the device model has no sequence path.
        """
        t_ps = np.where(is_read, exec_start_ps, exec_end_ps)
        out = self.model.cell_sequence(is_read, idx, is_set, v_pulse_v, width_ps, v_gate_v, t_ps)
        if out is None:
            return None
        g_read_us, rtn_us, cells_pj = out
        values = np.full(idx.size, np.nan)
        saturated = np.zeros(idx.size, dtype=np.int64)
        reads = np.flatnonzero(is_read)
        if reads.size:  # the arithmetic of _read, element by element
            g_true = g_read_us[reads]
            v = settings.v_read_v
            i_ua, u_v = self._read_currents_ua(g_true, None if rtn_us is None else rtn_us[reads], v)
            i_est_ua, sat = self.adcs.convert_each(i_ua, settings.adc_read_range_ua)
            values[reads] = i_est_ua / v
            saturated[reads] = sat
            cells_pj[reads] = uw_ps_to_pj(v * u_v * g_true, float(t_read_ps))
        return values, cells_pj, saturated

    # --- Mvm ----------------------------------------------------------------------------------
    def _mvm(self, cmd: Mvm, plan: Plan, settings: TileSettings, now_ps: int):
        t = self.spec.tile
        (r0, r1), (c0, c1) = cmd.windows(self.spec)
        # Telegraph noise is slow: one sample of every cell holds for the whole command.
        g_full = (self.model.conductance_with_telegraph_us(now_ps) if self.effects.telegraph_noise
                  else self.model.conductance_us(now_ps))
        g = g_full[r0:r1, c0:c1]
        v = settings.v_read_v
        var = self._read_noise_var(now_ps, (r0, r1, c0, c1), v) if self.effects.read_noise else None
        mode, pair = t.dac.input_mode, t.adc.differential
        read_shape, adc_shape = mvm_physics.noise_draw_shapes(mode, t.dac.bits, cmd.batch, c1 - c0, pair)
        zr = self.rng["read_noise"].standard_normal(read_shape) if var is not None else None
        za = self.adcs.noise_draws(adc_shape)
        adc = self.adcs.setting(settings.adc_mvm_range_ua)
        a = self.model.iv_nonlinearity_per_v()
        t_plane_ps = plan.plane_ps
        if self.effects.ir_drop:
            return self._mvm_ir_drop(cmd, g_full, var, zr, za, t_plane_ps, settings, adc)
        # Small batches: float32 conductances + row sums kept between commands (half the memory per vector;
        # see docs/performance.md). Larger batches (BLAS) multiply by the float64 conductances directly.
        rowsum = None
        if cmd.batch <= mvm_physics.SMALL_BATCH_MAX:
            operands = self._mvm_conductance(g_full, (r0, r1, c0, c1))
            if operands is not None:
                g, rowsum = operands
        res = mvm_physics.quantized_mvm(cmd.inputs, g, var, mode=mode, dac_bits=t.dac.bits, v_read_v=v, adc=adc,
                                        iv_nonlinearity_per_v=a, pair_mode=pair, read_noise_draws=zr,
                                        adc_noise_draws=za, g_rowsum_us=rowsum, workspace=self._mvm_workspace)
        cells_pj = float(uw_ps_to_pj(res.cell_power_uw.sum(), t_plane_ps))
        return self._mvm_outcome(cmd, res.y_ua, cells_pj, int(res.n_adc_saturated))

    def _mvm_outcome(self, cmd: Mvm, y_ua: np.ndarray, cells_pj: float, n_saturated: int) -> tuple:
        """An MVM's (values, energy: cells and the DAC energy of its row drives; counts: saturations, row drives)."""
        drives = self.dacs.row_drives(cmd.inputs)
        return y_ua, {"cells": cells_pj, "dac": self.dacs.energy_pj(drives)}, {"adc_saturated": n_saturated,
                                                                             "row_drives": drives}

    def _mvm_conductance(self, g_full: np.ndarray, window: tuple) -> tuple[np.ndarray, np.ndarray] | None:
        """The window of *g_full* (what the MVM multiplies by, already brought to now: conductance plus
        telegraph offset) as float32 plus its row sums, kept between commands (for the last few windows used)
        and updated only for the cells the model says changed — bit for bit what a fresh conversion gives.
        None when the model cannot say which cells changed (the MVM then uses *g_full* as float64). Kept
        lean: it runs on every MVM of up to SMALL_BATCH_MAX vectors."""
        if not self._g32_tracked:
            return None
        model = self.model
        telegraph = self.effects.telegraph_noise
        version = model.version
        stamp = model.telegraph_stamp if telegraph else 0
        windows = self._g32_windows
        entry = windows.get(window)
        if entry is not None and entry.version == version and entry.telegraph_stamp == stamp:
            return entry.g32_us, entry.rowsum_us
        changed = None
        if entry is not None:  # update the cells that changed, if known
            if entry.version != version:
                changed = model.changed_since(entry.version)  # conductance changes
                if changed is not None and entry.telegraph_stamp != stamp:
                    flipped = model.telegraph_changed_since(entry.telegraph_stamp)  # telegraph flips and refreshes
                    changed = None if flipped is None else np.concatenate((changed, flipped))
            else:
                changed = model.telegraph_changed_since(entry.telegraph_stamp)
        r0, r1, c0, c1 = window
        if changed is None:
            g32 = mvm_physics.conductance_f32_us(g_full[r0:r1, c0:c1])
            entry = _MvmOperands(g32, mvm_physics.conductance_rowsum_us(g32), version, stamp)
            if window not in windows and len(windows) >= _MVM_OPERAND_WINDOWS:
                del windows[next(iter(windows))]  # the least recently built
            windows[window] = entry
        else:
            if changed.size:
                mvm_physics.refresh_conductance_f32_us(g_full, changed, entry.g32_us, entry.rowsum_us, (r0, c0))
            entry.version = version
            entry.telegraph_stamp = stamp
        return entry.g32_us, entry.rowsum_us

    def _read_noise_var(self, now_ps: int, window: tuple, v_read_v: float) -> np.ndarray | None:
        """Read-noise variance of the window's cells (float32, ready for the MVM), cached per array state and
        updated only where cells changed when the model can say which."""
        model = self.model
        g_true = model.conductance_us(now_ps)  # first: it may advance the model's version
        key = (model.version, window, v_read_v)
        if key == self._var_key:
            return self._var
        r0, r1, c0, c1 = window
        old = self._var_key
        changed = None
        if old is not None and old[1:] == key[1:] and self._var is not None:
            changed = model.changed_since(old[0])
        if changed is None:
            var = model.read_noise_var_us2(g_true[r0:r1, c0:c1], v_read_v)
            self._var = None if var is None else mvm_physics.noise_variance_f32_us2(var)
        elif changed.size:
            rows, cols = np.divmod(changed, model.cols)
            inside = (rows >= r0) & (rows < r1) & (cols >= c0) & (cols < c1)
            rows, cols = rows[inside], cols[inside]
            self._var[rows - r0, cols - c0] = model.read_noise_var_us2(g_true[rows, cols], v_read_v)
        self._var_key = key
        return self._var

    def _mvm_ir_drop(self, cmd: Mvm, g_full: np.ndarray, var: np.ndarray | None, zr, za, t_plane_ps: int,
                     settings: TileSettings, adc: AdcSetting):
        """MVM through the resistive network: the whole array is solved (rows outside the window are
        driven at 0 V, every column is sensed), then read noise, ADCs and the digital combine."""
        t = self.spec.tile
        (r0, r1), (c0, c1) = cmd.windows(self.spec)
        mode, bits = t.dac.input_mode, t.dac.bits
        codes, _ = converters_physics.dac_encode(cmd.inputs, bits)
        drive_v, _ = mvm_physics.row_drive_v(codes, mode, bits, settings.v_read_v, self.model.iv_nonlinearity_per_v())
        reads, batch = drive_v.shape[0], drive_v.shape[1]
        full_v = np.zeros((reads * batch, self.model.rows))
        full_v[:, r0:r1] = drive_v.reshape(reads * batch, r1 - r0)
        i_full_ua, _, p_cells_uw, _ = self._ir_solver(g_full).solve(full_v)
        i_ua = i_full_ua[:, c0:c1].reshape(reads, batch, c1 - c0)
        if var is not None:
            i_ua = i_ua + np.sqrt((drive_v * drive_v) @ var) * zr
        _, est_ua, n_sat = mvm_physics.pair_convert(i_ua, t.adc.differential, adc, za)
        if mode == "bit_serial":  # digital shift-and-add of the bit planes
            weights = np.array([2.0**p for p in range(reads)]) / converters_physics.dac_code_max(bits)
            y_ua = np.tensordot(weights, est_ua, axes=1)
        else:
            y_ua = est_ua[0]
        cells_pj = float(uw_ps_to_pj(p_cells_uw.sum(), t_plane_ps))
        return self._mvm_outcome(cmd, y_ua, cells_pj, int(n_sat))

    def _ir_solver(self, g_us: np.ndarray) -> IrDropSolver:
        """The IR-drop solver of this array state (its preconditioner is rebuilt only when the state changed)."""
        if self._solver is None or self._solver_g is None or not np.array_equal(self._solver_g, g_us):
            a = self.spec.tile.array
            self._solver = IrDropSolver(g_us, a.r_wire_row_ohm, a.r_wire_col_ohm, a.r_driver_ohm, a.r_sense_ohm,
                                        a.r_access_on_ohm)
            self._solver_g = g_us.copy()
        return self._solver
