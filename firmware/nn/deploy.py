"""A model on a chip: program its plan, calibrate, run inference, let time pass.

:class:`Deployment` is a firmware program: it talks to the chip only through the firmware API
(``write_verify``, ``TileHandle.mvm_proc``/``configure_proc``) and does the digital work on the host:
input scaling to the DAC range, partial sums over row blocks, pair and reference subtraction,
shift-add over bit slices, rescaling, bias, per-column correction, activations. The chip's time and
energy come from its ledger; the host's digital work is reported apart as measured wall time on the
machine that runs the twin (``host_wall_s``), never added to the chip's figures.

Where work happens is the plan's placement: a block's MVM is issued on its tile, and everything after
the ADC is done by :meth:`Deployment._combine` on the host. A chip with digital units would run the
same combine step on chip; only the placement of that step changes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import structlog
from tqdm import tqdm

from firmware.nn.concurrent import ProgramJob, write_verify_tiles
from firmware.nn.layers import Model, is_matrix_layer
from firmware.nn.mapping import Block, LayerPlan, MappingConfig, Plan, plan as make_plan
from firmware.nn.metering import Meter, PhaseCost
from firmware.programming import CONVERGED

log = structlog.get_logger(__name__)


def dac_quantize(x: np.ndarray, bits: int) -> np.ndarray:
    """What the DAC makes of inputs *x* in [−1, 1]: ``code / code_max`` (round half away from zero, clipped)."""
    cm = 2 ** (bits - 1) - 1
    return np.sign(x) * np.minimum(np.floor(np.abs(x) * cm + 0.5), cm) / cm


@dataclass
class LayerProgramReport:
    """Programming outcome of one layer's cells."""

    layer: str
    n_cells: int
    rmse_us: float
    rmse_pct_of_range: float
    convergence_rate: float
    mean_pulses: float
    time_ps: int
    """Span of programming on the layer's tiles (the longest)."""
    energy_pj: float
    """Energy of its tiles' commands, shared among layers on one tile by cell count."""


@dataclass
class ProgramReport:
    """Programming of a whole model: per layer, and the whole run (tiles concurrently)."""

    layers: list[LayerProgramReport]
    cost: PhaseCost
    reports: dict[int, object]
    """The :class:`~firmware.programming.WriteVerifyReport` of every tile."""
    wall_s: float

    def to_text(self) -> str:
        lines = [f"programmed {sum(lr.n_cells for lr in self.layers):,} cells on {len(self.reports)} tile(s) "
                 f"concurrently: {self.cost.to_text()}; wall {self.wall_s:.2f} s"]
        for lr in self.layers:
            lines.append(f"  {lr.layer}: {lr.n_cells:,} cells, RMSE {lr.rmse_us:.3f} uS ({lr.rmse_pct_of_range:.2f} % "
                         f"of range), converged {lr.convergence_rate:.1%}, {lr.mean_pulses:.2f} pulses/cell, "
                         f"{lr.time_ps / 1e6:,.1f} us, {lr.energy_pj / 1e6:,.3f} uJ")
        return "\n".join(lines)


@dataclass
class LayerCalibration:
    """Input scale and ADC ranges of one matrix layer."""

    input_scale: float
    """Inputs are divided by this before the DAC (the |x| percentile of the calibration batch)."""
    adc_range_ua: dict[int, tuple[float, float]] = field(default_factory=dict)
    """Per block index (into the layer's blocks): the ADC MVM range, µA."""
    gain: np.ndarray | None = None
    """Per-output correction: corrected = (raw − offset) / gain (None: no correction)."""
    offset: np.ndarray | None = None
    n_saturated: int = 0
    """ADC saturations on the calibration batch with the final ranges."""
    n_widenings: int = 0


@dataclass
class CalibrationReport:
    layers: dict[str, LayerCalibration]
    cost: PhaseCost
    n_vectors: int

    def to_text(self) -> str:
        lines = [f"calibrated on {self.n_vectors} vectors: {self.cost.to_text()}"]
        for name, lc in self.layers.items():
            ranges = sorted({(round(lo, 3), round(hi, 3)) for lo, hi in lc.adc_range_ua.values()})
            shown = "; ".join(f"[{lo:g}, {hi:g}]" for lo, hi in ranges[:4]) + (" ..." if len(ranges) > 4 else "")
            lines.append(f"  {name}: input scale {lc.input_scale:.4g}, ADC range(s) {shown} uA, "
                         f"{lc.n_saturated} saturations, column correction {'on' if lc.gain is not None else 'off'}")
        return "\n".join(lines)


@dataclass
class InferenceReport:
    """Cost of one :meth:`Deployment.predict` call."""

    n: int
    cost: PhaseCost
    """The chip: simulated time and energy of the whole call."""
    host_wall_s: float
    """Host digital work (partial sums, shift-add, bias, activations, im2col), measured wall time."""
    wall_s: float
    """Wall time of the whole call (the twin's simulation included)."""
    n_inputs_clipped: int
    n_adc_saturated: int

    @property
    def per_inference(self) -> PhaseCost:
        return self.cost.per(self.n)

    def to_text(self) -> str:
        p = self.per_inference
        by = ", ".join(f"{k} {v:,.1f}" for k, v in p.energy_by_component_pj.items() if v)
        return (f"{self.n} inferences: chip {p.time_ps / 1e6:,.3f} us and {p.energy_pj / 1e3:,.3f} nJ per inference "
                f"({by} pJ); host digital work {self.host_wall_s / self.n * 1e6:,.1f} us per inference (wall, "
                f"not in the chip's figures); {self.n_inputs_clipped} inputs clipped, {self.n_adc_saturated} ADC "
                f"saturations; wall {self.wall_s:.2f} s")


@dataclass
class Prediction:
    outputs: np.ndarray
    report: InferenceReport

    @property
    def classes(self) -> np.ndarray:
        return np.argmax(self.outputs, axis=1)


class Deployment:
    """A model mapped onto a chip: ``program()``, ``calibrate(x)``, ``predict(x)``, ``wait(seconds)``.

    Nothing is sent to the chip on construction: the plan is checked first (:func:`deploy`).
    """

    def __init__(self, chip, model: Model, plan: Plan) -> None:
        self.chip = chip
        self.model = model
        self.plan = plan
        spec = chip.spec
        self.dac_bits = int(spec.tile.dac.bits)
        self.input_mode = spec.tile.dac.input_mode
        self.differential = spec.tile.adc.differential
        self.adc_bits = int(spec.tile.adc.bits)
        self.v_read_v = float(spec.tile.read.v_read_v)
        a = float(getattr(spec.tile.device.params, "iv_nonlinearity_per_v", 0.0) or 0.0)
        self.iv_factor = float(np.sinh(a * self.v_read_v) / (a * self.v_read_v)) if a > 0 else 1.0
        self.calibration: dict[str, LayerCalibration] = {}
        self.programmed = False
        self._tile_range: dict[int, tuple[float, float]] = {}
        self.program_report: ProgramReport | None = None

    # ---- programming -------------------------------------------------------------------------
    def program(self, scheme="incremental", *, tolerance_us: float | None = None, max_pulses: int = 100,
                progress: bool = False, **options) -> ProgramReport:
        """Program every block with ``write_verify`` (*scheme*, *options*), all tiles concurrently.

        Default tolerance: a quarter of the level step, at most 1 µS.
        """
        tol = min(self.plan.step_us / 4, 1.0) if tolerance_us is None else float(tolerance_us)
        by_tile: dict[int, list[tuple[int, Block]]] = {}
        for i, b in enumerate(self.plan.blocks):
            by_tile.setdefault(b.tile, []).append((i, b))
        jobs, owners = [], []
        for t, blocks in sorted(by_tile.items()):
            rows = np.concatenate([np.repeat(np.arange(b.n_rows), b.n_cols) for _, b in blocks])
            cols = np.concatenate([np.tile(np.arange(b.col0, b.col0 + b.n_cols), b.n_rows) for _, b in blocks])
            targets = np.concatenate([b.targets_us.ravel() for _, b in blocks])
            opts = dict(scheme=scheme, tolerance_us=tol, max_pulses=max_pulses, **options)
            jobs.append(ProgramJob(t, rows, cols, targets, opts))
            owners.append(np.concatenate([np.full(b.n_cells, i) for i, b in blocks]))
        wall = time.perf_counter()
        meter = Meter(self.chip)
        bar = tqdm(total=1, desc=f"programming {len(jobs)} tile(s)", disable=not progress, leave=False)
        reports = write_verify_tiles(self.chip, jobs)
        bar.update(1)
        bar.close()
        cost = meter.cost()
        block_layer = [b.layer for b in self.plan.blocks]
        g_range = float(self.chip.spec.tile.device.params.g_max_us - self.chip.spec.tile.device.params.g_min_us)
        layer_reports = []
        for lp in self.plan.layers:
            err, pulses, conv, energy, span = [], [], [], 0.0, 0
            for job, rep, owner in zip(jobs, reports, owners):
                mine = np.isin(owner, [i for i, name in enumerate(block_layer) if name == lp.name])
                if not mine.any():
                    continue
                err.append(rep.error_us[mine])
                pulses.append(rep.n_pulses[mine])
                conv.append(rep.status[mine] == CONVERGED)
                energy += cost.energy_by_tile_pj.get(job.tile, 0.0) * mine.mean()
                span = max(span, cost.busy_by_tile_ps.get(job.tile, 0))
            e = np.concatenate(err)
            rmse = float(np.sqrt(np.mean(e ** 2)))
            layer_reports.append(LayerProgramReport(lp.name, int(e.size), rmse, 100 * rmse / g_range,
                                                    float(np.concatenate(conv).mean()),
                                                    float(np.concatenate(pulses).mean()), span, energy))
        self.programmed = True
        self.program_report = ProgramReport(layer_reports, cost, {j.tile: r for j, r in zip(jobs, reports)},
                                            time.perf_counter() - wall)
        log.info("nn.programmed", tiles=len(jobs), time_ps=cost.time_ps, energy_pj=cost.energy_pj)
        return self.program_report

    def wait(self, delay_s: float) -> None:
        """Let *delay_s* seconds of simulated time pass with the chip idle (cells relax meanwhile)."""
        if not (np.isfinite(delay_s) and delay_s >= 0):
            raise ValueError(f"delay_s must be a number >= 0, not {delay_s!r}")
        self.chip.wait(int(round(delay_s * 1e12)))

    # ---- the chip's part: MVMs of a layer's blocks ---------------------------------------------
    def _mvms(self, lp: LayerPlan, x_dac: np.ndarray, ranges: dict[int, tuple[float, float]], mvm_batch: int
              ) -> tuple[list[np.ndarray], list[int]]:
        """Issue every block's MVMs (tiles in parallel, a tile's blocks in turn); values and saturations per block."""
        values: list[list[np.ndarray]] = [[] for _ in lp.blocks]
        saturated = [0] * len(lp.blocks)
        by_tile: dict[int, list[int]] = {}
        for i, b in enumerate(lp.blocks):
            by_tile.setdefault(b.tile, []).append(i)
        n = x_dac.shape[0]

        def run_tile(tile_index: int, block_ids: list[int]):
            tile = self.chip.tile(tile_index)
            for i in block_ids:
                b = lp.blocks[i]
                want = ranges[i]
                if self._tile_range.get(tile_index) != want:
                    yield from tile.configure_proc(adc_mvm_range_ua=want)
                    self._tile_range[tile_index] = want
                xb = x_dac[:, b.rows[0]:b.rows[1]]
                for s in range(0, n, mvm_batch):
                    r = yield from tile.mvm_proc(xb[s:s + mvm_batch], b.row_window, b.col_window)
                    values[i].append(r.values)
                    saturated[i] += int(r.info.get("adc_saturated", 0))

        for t, ids in sorted(by_tile.items()):
            self.chip.process(run_tile(t, ids))
        self.chip.run()
        return [np.concatenate(v, axis=0) for v in values], saturated

    # ---- the host's part: from ADC outputs to the layer's dot products --------------------------
    def _block_dots(self, lp: LayerPlan, b: Block, y: np.ndarray) -> np.ndarray:
        """Integer-weight dot products (in DAC input units) of block *b* from its MVM values *y*."""
        k, n = int(self.plan.config.cells_per_weight), int(self.plan.config.levels)
        n_out = b.outputs[1] - b.outputs[0]
        if b.part == "pairs":
            if self.differential == "none":
                y = y[:, 0::2] - y[:, 1::2]
            diff = y.reshape(-1, n_out, k)
        elif b.part == "offset":
            diff = y[:, :n_out * k].reshape(-1, n_out, k) - y[:, None, n_out * k:]
        else:
            diff = y.reshape(-1, n_out, k) * (1.0 if b.part == "plus" else -1.0)
        powers = float(n) ** np.arange(k)
        return (diff @ powers) / (self.v_read_v * self.iv_factor * self.plan.step_us)

    def _combine(self, lp: LayerPlan, values: list[np.ndarray], n: int) -> np.ndarray:
        """Partial sums over row blocks, outputs side by side: (n, outputs) integer-weight dot products."""
        out = np.zeros((n, lp.shape[1]))
        for b, y in zip(lp.blocks, values):
            out[:, b.outputs[0]:b.outputs[1]] += self._block_dots(lp, b, y)
        return out

    def _estimate_currents(self, b: Block, x_dac: np.ndarray) -> np.ndarray:
        """Per-conversion currents (µA) the ADC would see for *x_dac* on the block's target conductances."""
        cm = 2 ** (self.dac_bits - 1) - 1
        xb = x_dac[:, b.rows[0]:b.rows[1]]
        code = np.sign(xb) * np.minimum(np.floor(np.abs(xb) * cm + 0.5), cm)
        g = b.targets_us
        v = self.v_read_v * self.iv_factor
        if self.input_mode == "bit_serial":
            mag, sgn = np.abs(code).astype(np.int64), np.sign(code)
            drives = [sgn * ((mag >> p) & 1) * v for p in range(self.dac_bits - 1)]
        elif self.input_mode == "pwm":
            drives = [code / cm * v]
        else:
            drives = [code / cm * v]
        currents = []
        for u in drives:
            i = u @ g
            if self.differential == "analog" and b.part == "pairs":
                i = i[:, 0::2] - i[:, 1::2]
            currents.append(i)
        return np.concatenate(currents, axis=0)

    def _layer_inputs(self, layer, h: np.ndarray, lc: LayerCalibration) -> tuple[np.ndarray, tuple, int]:
        rows, ctx = layer.rows_of(h)
        x = rows / lc.input_scale
        clipped = int((np.abs(x) > 1.0).sum())
        return np.clip(x, -1.0, 1.0), ctx, clipped

    def _finish(self, layer, lp: LayerPlan, lc: LayerCalibration, dots: np.ndarray, n: int, ctx: tuple) -> np.ndarray:
        if lc.gain is not None:
            dots = (dots - lc.offset) / lc.gain
        y = dots * (lc.input_scale * lp.quantized.scale) + layer.b
        return layer.assemble(y, n, ctx)

    # ---- calibration -------------------------------------------------------------------------
    def calibrate(self, x, *, input_percentile: float = 100.0, headroom: float = 0.1, column_correction: bool = False,
                  adc_range_ua: tuple[float, float] | None = None, max_vectors: int = 4096,
                  mvm_batch: int = 1024) -> CalibrationReport:
        """Set each layer's input scale and each block's ADC range from the calibration batch *x*.

        Layer by layer through the chip: the input scale is the *input_percentile* of |inputs|; a block's
        ADC range covers the currents its target conductances give on the batch (every bit plane), widened
        by *headroom* of the span; the batch is then run and any block that saturated is widened ×1.5
        and run again, until none does. *adc_range_ua* fixes every range instead. With
        *column_correction*, a gain and offset per output are fitted (least squares) between the chip's
        dot products and those of the quantized weights on the same inputs.
        """
        if not self.programmed:
            raise ValueError("calibrate: program() the model first")
        if not (0 < input_percentile <= 100):
            raise ValueError(f"calibrate: input_percentile must be in (0, 100], not {input_percentile!r}")
        h = self.model.check_inputs(x)
        meter = Meter(self.chip)
        out: dict[str, LayerCalibration] = {}
        n_vectors = 0
        for layer in self.model.layers:
            if not is_matrix_layer(layer):
                h = layer.forward(h)
                continue
            lp = self.plan.layer(layer.name)
            rows, ctx = layer.rows_of(h)
            if rows.shape[0] > max_vectors:  # conv: many positions per image; a spread subset is enough
                pick = np.linspace(0, rows.shape[0] - 1, max_vectors).round().astype(int)
            else:
                pick = slice(None)
            scale = float(np.percentile(np.abs(rows), input_percentile))
            lc = LayerCalibration(scale if scale > 0 else 1.0)
            x_dac = np.clip(rows / lc.input_scale, -1, 1)
            xs = x_dac[pick]
            n_vectors += xs.shape[0]
            for i, b in enumerate(lp.blocks):
                if adc_range_ua is not None:
                    lc.adc_range_ua[i] = (float(adc_range_ua[0]), float(adc_range_ua[1]))
                    continue
                cur = self._estimate_currents(b, xs)
                lo, hi = min(float(cur.min()), 0.0), max(float(cur.max()), 0.0)
                span = max(hi - lo, 1e-6)
                lc.adc_range_ua[i] = (lo - headroom * span, hi + headroom * span)
            for _ in range(12):
                values, sat = self._mvms(lp, xs, lc.adc_range_ua, mvm_batch)
                lc.n_saturated = int(sum(sat))
                if lc.n_saturated == 0 or adc_range_ua is not None:
                    break
                lc.n_widenings += 1
                for i, s in enumerate(sat):
                    if s:
                        lo, hi = lc.adc_range_ua[i]
                        mid, half = (lo + hi) / 2, (hi - lo) / 2 * 1.5
                        lc.adc_range_ua[i] = (mid - half, mid + half)
            if column_correction:
                chip_dots = self._combine(lp, values, xs.shape[0])
                ref = (dac_quantize(xs, self.dac_bits) @ lp.quantized.w_int)
                gain, offset = np.ones(lp.shape[1]), np.zeros(lp.shape[1])
                for j in range(lp.shape[1]):
                    A = np.stack([ref[:, j], np.ones(ref.shape[0])], axis=1)
                    if np.ptp(ref[:, j]) > 0:
                        (g_j, c_j), *_ = np.linalg.lstsq(A, chip_dots[:, j], rcond=None)
                        if g_j > 0.05:
                            gain[j], offset[j] = g_j, c_j
                lc.gain, lc.offset = gain, offset
            self.calibration[layer.name] = lc
            out[layer.name] = lc
            # the next layer's calibration inputs: this layer as the chip computes it (all vectors)
            h = self._forward_layer(layer, lp, lc, h, mvm_batch)[0]
        report = CalibrationReport(out, meter.cost(), n_vectors)
        log.info("nn.calibrated", vectors=n_vectors, time_ps=report.cost.time_ps)
        return report

    def _forward_layer(self, layer, lp: LayerPlan, lc: LayerCalibration, h: np.ndarray, mvm_batch: int
                       ) -> tuple[np.ndarray, int, int, float]:
        t0 = time.perf_counter()
        x_dac, ctx, clipped = self._layer_inputs(layer, h, lc)
        host = time.perf_counter() - t0
        values, sat = self._mvms(lp, x_dac, lc.adc_range_ua, mvm_batch)
        t0 = time.perf_counter()
        y = self._finish(layer, lp, lc, self._combine(lp, values, x_dac.shape[0]), h.shape[0], ctx)
        host += time.perf_counter() - t0
        return y, clipped, int(sum(sat)), host

    # ---- inference ---------------------------------------------------------------------------
    def predict(self, x, batch: int = 512, *, mvm_batch: int = 4096, progress: bool = False) -> Prediction:
        """Outputs of the model for inputs *x* run on the chip, and the time and energy per inference.

        Images go through in batches of *batch*; within a batch, layers run in sequence and a layer's
        tiles in parallel (MVMs of at most *mvm_batch* vectors).
        """
        if not self.calibration:
            raise ValueError("predict: calibrate(x_calibration) the deployment first")
        if isinstance(batch, bool) or not isinstance(batch, (int, np.integer)) or batch < 1:
            raise ValueError(f"predict: batch must be an integer >= 1, not {batch!r}")
        x = self.model.check_inputs(x)
        wall = time.perf_counter()
        meter = Meter(self.chip)
        outs, host, clipped, saturated = [], 0.0, 0, 0
        for s in tqdm(range(0, x.shape[0], batch), desc="inference", disable=not progress, leave=False):
            h = x[s:s + batch]
            for layer in self.model.layers:
                if is_matrix_layer(layer):
                    h, c, sat, dt = self._forward_layer(layer, self.plan.layer(layer.name),
                                                        self.calibration[layer.name], h, mvm_batch)
                    clipped, saturated, host = clipped + c, saturated + sat, host + dt
                else:
                    t0 = time.perf_counter()
                    h = layer.forward(h)
                    host += time.perf_counter() - t0
            outs.append(h)
        report = InferenceReport(x.shape[0], meter.cost(), host, time.perf_counter() - wall, clipped, saturated)
        return Prediction(np.concatenate(outs, axis=0), report)

    def reference(self, x, dac: bool = True) -> np.ndarray:
        """The float model of the deployed (quantized) weights; with *dac*, each layer's inputs are scaled
        and quantized as the DAC does (needs :meth:`calibrate`)."""
        h = self.model.check_inputs(x)
        for layer in self.model.layers:
            if not is_matrix_layer(layer):
                h = layer.forward(h)
                continue
            lp = self.plan.layer(layer.name)
            rows, ctx = layer.rows_of(h)
            if dac:
                s = self.calibration[layer.name].input_scale
                rows = dac_quantize(np.clip(rows / s, -1, 1), self.dac_bits) * s
            h = layer.assemble(rows @ lp.quantized.weights + layer.b, h.shape[0], ctx)
        return h

    def quantized_weights(self) -> dict[str, np.ndarray]:
        """Each matrix layer's quantized weights (for ``model.forward(x, weights=...)``)."""
        return {lp.name: lp.quantized.weights for lp in self.plan.layers}


def deploy(chip, model: Model, config: MappingConfig | None = None, **options) -> Deployment:
    """Plan *model* on *chip* (ValueError before any command if it cannot be mapped); returns the
    :class:`Deployment`, not yet programmed."""
    return Deployment(chip, model, make_plan(model, chip.spec, config, **options))
