"""Write-verify: program any set of cells to target conductances with Read and Pulse commands only.

``write_verify(tile, rows, cols, targets_us, scheme=...)`` runs the closed loop a programming
firmware runs on silicon: read every pending cell (one Read command), let the pulse scheme choose
each cell's next pulse (:mod:`firmware.pulse_schemes`), apply them (one Pulse command per polarity,
per-cell amplitudes; the spec's ``programming`` block decides how many go in parallel and what that
costs in time), and repeat until every cell is inside ``targets_us ± tolerance_us``, was abandoned by
the scheme, ran out of pulses, or did not respond. It never loops forever, and it never raises for
a cell that does not converge: such cells are reported. Bad arguments (shapes, NaN, targets outside
the device's range) raise ValueError before any command is sent.

The returned :class:`WriteVerifyReport` holds per-cell arrays (pulses, status, final read, error) and
a :class:`WriteVerifySummary` (RMSE as % of the range, pulses-per-cell histogram, convergence rate,
simulated time and energy from the chip's ledger).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import structlog
from tqdm import tqdm

from firmware.pulse_schemes import PulseBatch, PulseScheme, SchemeContext, make_scheme

log = structlog.get_logger(__name__)

STATUS = ("pending", "converged", "gave_up", "max_pulses", "unresponsive", "left_window")
"""Per-cell outcome codes (``report.status`` holds indices into this tuple).

converged: inside the window at the last verify; gave_up: the scheme abandoned it (e.g. NeuRRAM's
30 polarity reversals); max_pulses: pulse budget spent; unresponsive: more than 3 tolerances off and
*unresponsive_pulses* pulses brought it no closer by more than the tolerance (a stuck cell); left_window: converged, then was
outside the window when verified again after the scheme's settling pulses (denoising), in the last
round."""
CONVERGED, GAVE_UP, MAX_PULSES, UNRESPONSIVE, LEFT_WINDOW = 1, 2, 3, 4, 5


@dataclass
class CellReport:
    """One cell's outcome."""

    row: int
    col: int
    target_us: float
    final_us: float
    """Conductance at its last verify read, µS."""
    error_us: float
    """final_us − target_us."""
    n_pulses: int
    converged: bool
    status: str


@dataclass
class WriteVerifySummary:
    """Totals of one write-verify run."""

    scheme: str
    n_cells: int
    n_converged: int
    convergence_rate: float
    tolerance_us: float
    range_us: float
    """Conductance range the RMSE is expressed against (the device's nominal g_max − g_min unless given)."""
    rmse_us: float
    """Root-mean-square of the final errors over all cells, µS."""
    rmse_pct_of_range: float
    rmse_converged_us: float
    """Same, over the converged cells only."""
    mean_pulses: float
    pulses_histogram: np.ndarray
    """``pulses_histogram[k]`` = number of cells that used k pulses."""
    n_status: dict[str, int]
    n_iterations: int
    n_commands: int
    cell_pulses: int
    """Pulses applied, counted per cell (denoising pulses included)."""
    time_ps: int
    """Simulated time of the run."""
    energy_pj: float
    energy_by_component_pj: dict[str, float]
    """Energy of the run's commands by component, from the ledger (chip static power over the run in ``static``)."""

    @property
    def time_per_cell_ps(self) -> float:
        return self.time_ps / max(self.n_cells, 1)

    def to_text(self) -> str:
        """A readable summary."""
        hist = self.pulses_histogram
        nz = np.flatnonzero(hist)
        hist_text = " ".join(f"{k}:{hist[k]}" for k in nz[:40]) + (" ..." if nz.size > 40 else "")
        status = ", ".join(f"{k} {v}" for k, v in self.n_status.items() if v)
        by = ", ".join(f"{k} {v / 1e6:,.3f}" for k, v in self.energy_by_component_pj.items() if v)
        return "\n".join([
            f"scheme {self.scheme}: {self.n_cells:,} cells, tolerance +-{self.tolerance_us:g} uS",
            f"converged: {self.n_converged:,} ({self.convergence_rate:.2%}); {status}",
            f"RMSE: {self.rmse_us:.4g} uS = {self.rmse_pct_of_range:.3f} % of the {self.range_us:g} uS range "
            f"(converged cells: {self.rmse_converged_us:.4g} uS)",
            f"pulses per cell: mean {self.mean_pulses:.2f}; histogram (pulses:cells) {hist_text}",
            f"iterations {self.n_iterations}, commands {self.n_commands:,}, cell-pulses {self.cell_pulses:,}",
            f"simulated time {self.time_ps / 1e6:,.1f} us ({self.time_per_cell_ps / 1e6:,.3f} us per cell); "
            f"energy {self.energy_pj / 1e6:,.4f} uJ ({by} uJ)",
        ])


@dataclass
class WriteVerifyReport:
    """Per-cell results (flat arrays, in the order of the broadcast cell addresses) and the summary."""

    rows: np.ndarray
    cols: np.ndarray
    targets_us: np.ndarray
    final_us: np.ndarray
    n_pulses: np.ndarray
    status: np.ndarray
    """Indices into :data:`STATUS`."""
    summary: WriteVerifySummary
    shape: tuple[int, ...] = field(default=())
    """Broadcast shape of the cell addresses (reshape per-cell arrays with it)."""

    @property
    def converged(self) -> np.ndarray:
        return self.status == CONVERGED

    @property
    def error_us(self) -> np.ndarray:
        return self.final_us - self.targets_us

    def cell(self, i: int) -> CellReport:
        """The report of cell *i* (flat index)."""
        return CellReport(int(self.rows[i]), int(self.cols[i]), float(self.targets_us[i]), float(self.final_us[i]),
                          float(self.final_us[i] - self.targets_us[i]), int(self.n_pulses[i]),
                          bool(self.status[i] == CONVERGED), STATUS[int(self.status[i])])

    def failed(self) -> list[CellReport]:
        """Reports of every cell that did not converge."""
        return [self.cell(i) for i in np.flatnonzero(self.status != CONVERGED)]


def _cells(tile, rows: Any, cols: Any, targets_us: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple]:
    """Validate addresses and targets; flat int rows, cols, float targets and the cell shape."""
    n_rows, n_cols = tile.shape
    r, c = np.asarray(rows), np.asarray(cols)
    for name, a in (("rows", r), ("cols", c)):
        if a.size and not np.issubdtype(a.dtype, np.integer):
            raise ValueError(f"{name} must be integers, not {a.dtype}")
    try:
        r, c = np.broadcast_arrays(r, c)
    except ValueError:
        raise ValueError(f"rows {r.shape} and cols {c.shape} do not broadcast to one cell set") from None
    shape = r.shape
    r, c = r.ravel().astype(np.int64), c.ravel().astype(np.int64)
    if r.size == 0:
        raise ValueError("no cells given: rows and cols are empty")
    for name, a, n in (("row", r, n_rows), ("col", c, n_cols)):
        bad = np.flatnonzero((a < 0) | (a >= n))
        if bad.size:
            raise ValueError(f"{name} must be in [0, {n - 1}] on this {n_rows}x{n_cols} tile, not {a[bad[0]]}")
    flat = r * n_cols + c
    if np.unique(flat).size != flat.size:
        _, first, counts = np.unique(flat, return_index=True, return_counts=True)
        k = first[np.flatnonzero(counts > 1)[0]]
        raise ValueError(f"each cell may appear only once; row {r[k]} col {c[k]} appears more than once")
    t = np.asarray(targets_us, dtype=np.float64)
    if t.shape != shape and t.ndim != 0:
        raise ValueError(f"targets_us must have the cells' shape {shape} (or be one number), not {t.shape}")
    t = np.broadcast_to(t, shape).ravel().copy()
    if not np.all(np.isfinite(t)):
        k = int(np.flatnonzero(~np.isfinite(t))[0])
        raise ValueError(f"targets_us must be finite numbers, not {t[k]} (cell row {r[k]} col {c[k]})")
    return r, c, t, shape


def write_verify(tile, rows: Any, cols: Any, targets_us: Any, scheme: str | PulseScheme = "incremental", *,
                 tolerance_us: float = 1.0, max_pulses: int = 100, n_reads: int = 1,
                 unresponsive_pulses: int | None = 20, unresponsive_spread_us: float | None = None,
                 range_us: float | None = None,
                 check_range: bool = True, chunk_cells: int | None = None, progress: bool = False,
                 scheme_options: dict | None = None) -> WriteVerifyReport:
    """Program cells (*rows*, *cols*, numpy broadcasting) of *tile* to ``targets_us ± tolerance_us``.

    *scheme* is a :class:`~firmware.pulse_schemes.PulseScheme` or a name from
    :data:`~firmware.pulse_schemes.SCHEMES` (with *scheme_options*). Each iteration issues one Read of
    all pending cells (the mean of *n_reads* Reads if more) and one Pulse command per polarity the
    scheme asks for. A cell stops after *max_pulses* pulses, when the scheme gives it up, or when it is
    more than 3 tolerances off and *unresponsive_pulses* pulses brought it no closer to its target by
    more than the tolerance (a stuck cell; None disables that check). With *unresponsive_spread_us*,
    such a cell counts as unresponsive only if, in addition, every read over those pulses stayed within
    that distance of the window's first read: a stuck cell does not move, whereas a working cell that
    keeps stepping over its window does (it goes on until *max_pulses*). Targets must lie inside the device's nominal range (``check_range``).
    *chunk_cells* programs the cells in consecutive chunks of that many, each to completion (for
    hardware that pulses one cell at a time, so that a cell is verified soon after its pulse rather
    than after a pass over the whole set; None: all cells at once). *progress* shows a tqdm bar on stderr.
    """
    spec = tile.chip.spec
    r, c, t, shape = _cells(tile, rows, cols, targets_us)
    if not (isinstance(tolerance_us, (int, float, np.floating)) and np.isfinite(tolerance_us) and tolerance_us > 0):
        raise ValueError(f"tolerance_us must be a positive number, not {tolerance_us!r}")
    if isinstance(max_pulses, bool) or not isinstance(max_pulses, (int, np.integer)) or max_pulses < 1:
        raise ValueError(f"max_pulses must be an integer >= 1, not {max_pulses!r}")
    if chunk_cells is not None and (isinstance(chunk_cells, bool) or not isinstance(chunk_cells, (int, np.integer))
                                    or chunk_cells < 1):
        raise ValueError(f"chunk_cells must be None or an integer >= 1, not {chunk_cells!r}")
    if isinstance(n_reads, bool) or not isinstance(n_reads, (int, np.integer)) or n_reads < 1:
        raise ValueError(f"n_reads must be an integer >= 1, not {n_reads!r}")
    params = spec.tile.device.params
    g_lo, g_hi = float(params.g_min_us), float(params.g_max_us)
    if check_range:
        bad = np.flatnonzero((t < g_lo) | (t > g_hi))
        if bad.size:
            k = bad[0]
            raise ValueError(f"targets_us must be inside the device's range [{g_lo:g}, {g_hi:g}] uS, not {t[k]:g} "
                             f"(cell row {r[k]} col {c[k]}; {bad.size} targets outside)")
    if isinstance(scheme, str):
        scheme = make_scheme(scheme, **(scheme_options or {}))
    elif scheme_options:
        raise ValueError("scheme_options apply only when the scheme is given by name")
    if not (hasattr(scheme, "start") and hasattr(scheme, "next_pulses")):
        raise ValueError(f"scheme must have start() and next_pulses() (see firmware.pulse_schemes), not {scheme!r}")

    n = t.size
    ctx = SchemeContext(spec, t, float(tolerance_us))
    scheme.start(ctx)
    chip = tile.chip
    first_cmd = len(chip.ledger)
    start_ps = chip.now_ps
    n_pulses = np.zeros(n, np.int64)
    cell_pulses = 0
    status = np.zeros(n, np.int8)
    final = np.full(n, np.nan)
    ref_g = np.full(n, np.nan)  # read at the start of the cell's current stall window
    ref_n = np.zeros(n, np.int64)  # its pulse count then
    moved = np.zeros(n, bool)  # a read in the current stall window left ref_g by more than unresponsive_spread_us
    settle = getattr(scheme, "settle_batches", None)
    rounds = max(int(getattr(scheme, "settle_rounds", 1)), 1) if settle else 1
    iterations = 0
    bar = tqdm(total=n, desc=f"write-verify ({getattr(scheme, 'name', 'custom')})", unit="cell", file=sys.stderr,
               disable=not progress, leave=False)

    def read(cells: np.ndarray) -> np.ndarray:
        g = tile.read(r[cells], c[cells]).values
        for _ in range(n_reads - 1):
            g = g + tile.read(r[cells], c[cells]).values
        return g / n_reads if n_reads > 1 else g

    def apply(batch: PulseBatch, keep: np.ndarray | None = None) -> None:
        nonlocal cell_pulses
        cells = batch.cells
        fields = [np.broadcast_to(np.asarray(getattr(batch, f)), cells.shape)
                  for f in ("is_set", "v_pulse_v", "width_ps", "v_gate_v")]
        if keep is not None:
            m = keep[cells]
            cells, fields = cells[m], [f[m] for f in fields]
        is_set = fields[0].astype(bool)
        for pol, mask in (("set", is_set), ("reset", ~is_set)):
            if not mask.any():
                continue
            sel = cells if mask.all() else cells[mask]
            vals = [f if mask.all() else f[mask] for f in fields[1:]]
            vals = [v[0].item() if v.size and np.all(v == v[0]) else np.ascontiguousarray(v) for v in vals]
            tile.pulse(r[sel], c[sel], pol, vals[0], vals[1], vals[2])
            cell_pulses += sel.size
            if batch.counts:
                n_pulses[sel] += 1

    def _closed_loop(active: np.ndarray) -> None:
        nonlocal iterations
        for round_ in range(rounds):
            ctx.round = round_
            converged_now = []
            while active.size:
                iterations += 1
                g = read(active)
                final[active] = g
                fresh = np.isnan(ref_g[active])
                ref_g[active[fresh]] = g[fresh]
                if unresponsive_spread_us is not None:
                    moved[active] |= np.abs(g - ref_g[active]) > unresponsive_spread_us
                ok = np.abs(g - t[active]) <= tolerance_us
                if ok.any():
                    status[active[ok]] = CONVERGED
                    converged_now.append(active[ok])
                    bar.update(int(ok.sum()))
                    active, g = active[~ok], g[~ok]
                stop = n_pulses[active] >= max_pulses
                status[active[stop]] = MAX_PULSES
                if unresponsive_pulses is not None:
                    due = ~stop & (n_pulses[active] - ref_n[active] >= unresponsive_pulses)
                    if due.any():
                        a, ga, ta = active[due], g[due], t[active[due]]
                        toward = np.abs(ref_g[a] - ta) - np.abs(ga - ta)  # net progress towards the target
                        dead_due = (toward <= tolerance_us) & (np.abs(ga - ta) > 3 * tolerance_us)
                        if unresponsive_spread_us is not None:
                            dead_due &= ~moved[a]
                            moved[a] = False
                        dead = np.zeros(active.size, bool)
                        dead[np.flatnonzero(due)[dead_due]] = True
                        ref_g[a], ref_n[a] = ga, n_pulses[a]
                        status[active[dead]] = UNRESPONSIVE
                        stop |= dead
                if stop.any():
                    bar.update(int(stop.sum()))
                    active, g = active[~stop], g[~stop]
                if not active.size:
                    break
                batches = scheme.next_pulses(active, g, ctx)
                gave = ctx.give_up[active]
                if gave.any():
                    status[active[gave]] = GAVE_UP
                    bar.update(int(gave.sum()))
                    active = active[~gave]
                keep = ~ctx.give_up if ctx.give_up.any() else None
                for batch in batches:
                    apply(batch, keep)
            if settle is None or not converged_now:
                break
            done = np.concatenate(converged_now)
            settle_pulses = settle(done, ctx)
            if not settle_pulses:
                break
            for batch in settle_pulses:
                apply(batch)
            iterations += 1
            g = read(done)
            final[done] = g
            out = np.abs(g - t[done]) > tolerance_us
            if round_ < rounds - 1:
                active = done[out]
                status[active] = 0
                bar.update(-int(out.sum()))
            else:
                status[done[out]] = LEFT_WINDOW

    chunk = n if chunk_cells is None else int(chunk_cells)
    for first in range(0, n, chunk):
        _closed_loop(np.arange(first, min(first + chunk, n)))
    bar.close()


    end_ps = chip.now_ps
    cols_ = chip.ledger.columns()
    sel = slice(first_cmd, None)
    by = {k[:-3]: float(v[sel].sum()) for k, v in cols_.items() if k.endswith("_pj") and k != "energy_pj"}
    by["static"] = by.get("static", 0.0) + chip.ledger.chip_static_pj(end_ps - start_ps)
    err = final - t
    conv = status == CONVERGED
    rng_us = float(range_us) if range_us is not None else g_hi - g_lo
    rmse = float(np.sqrt(np.mean(err ** 2)))
    summary = WriteVerifySummary(
        scheme=getattr(scheme, "name", type(scheme).__name__), n_cells=n, n_converged=int(conv.sum()),
        convergence_rate=float(conv.mean()), tolerance_us=float(tolerance_us), range_us=rng_us, rmse_us=rmse,
        rmse_pct_of_range=100.0 * rmse / rng_us,
        rmse_converged_us=float(np.sqrt(np.mean(err[conv] ** 2))) if conv.any() else float("nan"),
        mean_pulses=float(n_pulses.mean()), pulses_histogram=np.bincount(n_pulses),
        n_status={s: int((status == i).sum()) for i, s in enumerate(STATUS) if i},
        n_iterations=iterations, n_commands=len(chip.ledger) - first_cmd, cell_pulses=int(cell_pulses),
        time_ps=int(end_ps - start_ps), energy_pj=float(sum(by.values())), energy_by_component_pj=by)
    if not conv.all():
        log.info("write_verify.gave_up", n_cells=n, n_failed=int((~conv).sum()),
                 **{f"n_{s}": v for s, v in summary.n_status.items() if v and s != "converged"})
    return WriteVerifyReport(r, c, t, final, n_pulses, status, summary, shape)
