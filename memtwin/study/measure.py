"""Run one task and turn its chip's ledger into one results row (the same row on any worker).

Row columns (units in the names; ``docs/studies.md`` lists them all): identification (study, point,
key, workload, seed, every swept field), ``status`` and ``error``, the phase metrics (energy by
component, latency percentiles, throughput, TOPS/W, TOPS/mm²), session totals, area, the
workload's own metrics, ``wall_s``, ``memtwin_version`` and ``spec_hash``.
"""

from __future__ import annotations

import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np

import twin
from firmware.driver import open_chip
from memtwin.study.points import Task
from memtwin.study.variants import spec_hash, spec_variant
from memtwin.study.workloads import PointContext, get_workload
from twin.area import chip_area
from twin.ledger import COMPONENTS

ID_COLUMNS = ("study", "point", "key", "workload", "kind", "seed", "status", "error")
"""Columns every row starts with."""


def phase_metrics(chip: Any, ctx: PointContext) -> dict[str, float]:
    """Energy, latency and throughput of the measured phase (ledger rows from ``ctx.measure_from``)."""
    c = chip.ledger.columns()
    sel = np.arange(len(c["kind"])) >= ctx.measure_from
    if ctx.measure_kinds:
        sel &= np.isin(c["kind"].astype(str), ctx.measure_kinds)
    out: dict[str, float] = {"phase_commands": int(sel.sum())}
    if not sel.any():
        return out
    energy = {comp: float(c[f"{comp}_pj"][sel].sum()) for comp in COMPONENTS}
    total = sum(energy.values())
    out["phase_energy_pj"] = total
    for comp, e in energy.items():
        out[f"energy_{comp}_pj"] = e
    lat_ns = (c["end_ps"][sel] - c["start_ps"][sel]) / 1000.0
    for p in (50, 90, 99):
        out[f"latency_p{p}_ns"] = float(np.percentile(lat_ns, p))
    span_ps = int(c["end_ps"][sel].max() - c["start_ps"][sel].min())
    out["phase_time_ns"] = span_ps / 1000.0
    vectors = int(c["vectors"][sel].sum())
    macs = int(c["macs"][sel].sum())
    if vectors:
        out["mvm_vectors"] = vectors
        out["macs"] = macs
        out["energy_per_mvm_pj"] = total / vectors
        for comp, e in energy.items():
            out[f"energy_{comp}_per_mvm_pj"] = e / vectors
        out["time_per_mvm_ns"] = span_ps / 1000.0 / vectors
        out["mvm_per_s"] = vectors / (span_ps * 1e-12) if span_ps else float("nan")
        out["tops"] = 2 * macs / (span_ps * 1e-12) / 1e12 if span_ps else float("nan")
        out["tops_per_w"] = 2 * macs / total if total else float("nan")  # 1 TOPS/W = 1 operation per pJ
        conv = int(c["adc_conversions"][sel].sum())
        out["adc_saturated_frac"] = float(c["adc_saturated"][sel].sum()) / conv if conv else 0.0
    return out


def run_task(task: Task) -> dict[str, Any]:
    """Run *task* and return its row; an exception becomes ``status: error`` with its message."""
    wall = time.perf_counter()
    row: dict[str, Any] = {"study": task.study, "point": task.point, "key": task.key, "workload": task.workload.label,
                           "kind": task.workload.kind, "seed": task.seed, "status": "ok", "error": ""}
    for k, v in task.values.items():
        row[k] = v
    row["memtwin_version"] = twin.__version__
    try:
        spec = spec_variant(task.base, task.changes)
        row["spec_hash"] = spec_hash(spec)
        area = chip_area(spec, task.area)
        row["area_chip_mm2"] = area.chip_mm2
        row["area_tile_mm2"] = area.tile_um2 * 1e-6
        for comp, a in area.by_component().items():
            row[f"area_{comp}_mm2"] = a * 1e-6
        chip = open_chip(spec, seed=task.seed)
        ctx = PointContext(Path(task.folder))
        metrics = get_workload(task.workload.kind).run(chip, task.seed, dict(task.workload.options), ctx)
        phase = phase_metrics(chip, ctx)
        if "tops" in phase:
            phase["tops_per_mm2"] = phase["tops"] / area.tiles_mm2(ctx.tiles_used)
        row.update(phase)
        row["sim_time_ns"] = chip.now_ps / 1000.0
        row["session_commands"] = len(chip.ledger)
        row["session_energy_pj"] = float(sum(chip.ledger.by_component(until_ps=chip.now_ps).values()))
        row.update(metrics)
    except Exception as exc:  # recorded per point; the study goes on
        row["status"] = "error"
        row["error"] = f"{type(exc).__name__}: {exc}"
        if not isinstance(exc, (twin.TwinError, ValueError, KeyError)):
            row["error"] += " | " + traceback.format_exc(limit=-3).replace("\n", " ")[-600:]
    row["wall_s"] = time.perf_counter() - wall
    return row


__all__ = ["ID_COLUMNS", "phase_metrics", "run_task"]
