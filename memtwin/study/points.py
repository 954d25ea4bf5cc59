"""A study's points (grid, zip or seeded sample of its axes) and its tasks (point × workload × seed).

Every task carries everything a worker process needs (the base spec's text, the changes, the
workload and its options, the seed, the area parameters), so that it runs the same anywhere, and a
content hash (:attr:`Task.key`) of exactly those inputs, by which a re-run skips finished tasks.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import twin
from memtwin.study.studyfile import WORKLOAD_PREFIX, Axis, Study
from memtwin.study.variants import SPEC_AXIS, BaseSpec
from memtwin.study.workloads import WorkloadSpec
from twin.area import AreaTech


@dataclass(frozen=True)
class Point:
    """One combination of axis values."""

    index: int
    """Position in the study's expansion (0, 1, ...)."""
    values: dict
    """Axis field → value (``spec`` for a spec axis)."""


@dataclass(frozen=True)
class Task:
    """One point × workload × seed: the unit of work and of the results table (one row)."""

    study: str
    point: int
    values: dict
    base: BaseSpec
    changes: dict
    workload: WorkloadSpec
    seed: int
    folder: str
    area: AreaTech
    key: str


def _sample(axis: Axis, rng: np.random.Generator) -> Any:
    if axis.between is None:
        return axis.values[int(rng.integers(len(axis.values)))]
    lo, hi = axis.between
    if axis.log:
        v = float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
    else:
        v = float(rng.uniform(lo, hi))
    return int(round(v)) if axis.integer else v


def expand(study: Study) -> list[Point]:
    """The study's points, in a fixed order (grid: the first axis varies slowest)."""
    axes = study.axes
    if not axes:
        return [Point(0, {})]
    if study.combine == "grid":
        combos = itertools.product(*(a.values for a in axes))
    elif study.combine == "zip":
        combos = zip(*(a.values for a in axes))
    else:
        rng = np.random.default_rng(study.sample_seed)
        combos = [tuple(_sample(a, rng) for a in axes) for _ in range(study.samples)]
    points = []
    for i, combo in enumerate(combos):
        values: dict = {}
        for a, v in zip(axes, combo):
            values.update(zip(a.fields, v) if a.fields else {a.field: v})
        points.append(Point(i, values))
    return points


def task_key(base: BaseSpec, changes: dict, workload: WorkloadSpec, seed: int, area: AreaTech) -> str:
    """Content hash of a task's inputs (and the memtwin version): equal keys give equal rows."""
    blob = json.dumps({"base": base.sha256, "changes": sorted(changes.items()), "kind": workload.kind,
                       "label": workload.label, "options": sorted(workload.options.items()), "seed": seed,
                       "area": dataclasses.asdict(area), "version": twin.__version__}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def tasks(study: Study) -> list[Task]:
    """Every point × workload × seed, in order."""
    out = []
    for p in expand(study):
        base = study.bases.get(p.values[SPEC_AXIS], study.base) if SPEC_AXIS in p.values else study.base
        changes = {**study.fixed, **{k: v for k, v in p.values.items()
                                     if k != SPEC_AXIS and not k.startswith(WORKLOAD_PREFIX)}}
        swept = {k[len(WORKLOAD_PREFIX):]: v for k, v in p.values.items() if k.startswith(WORKLOAD_PREFIX)}
        for wl in study.workloads:
            own = {k: v for k, v in swept.items() if k in wl.options}
            if own:
                wl = dataclasses.replace(wl, options={**wl.options, **own})
            for seed in study.seeds:
                out.append(Task(study.name, p.index, p.values, base, changes, wl, seed, str(study.folder), study.area,
                                task_key(base, changes, wl, seed, study.area)))
    return out


__all__ = ["Point", "Task", "expand", "tasks", "task_key"]
