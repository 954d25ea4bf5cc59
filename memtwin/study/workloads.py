"""Workloads a study runs at every point: ``mvm``, ``write_verify``, ``replay``, ``program``, and ``nn``
once a ``firmware.nn`` package provides it.

A workload is a :class:`Workload`: a name, its options (type, default, doc) and a function
``run(chip, seed, options, ctx) -> dict`` that drives the chip through the firmware API and returns
its own metrics (numbers, or short strings). The runner adds the metrics every workload has (time,
energy by component, area; ``docs/studies.md``). New workloads register with
:func:`register_workload`; a workload that lives in an optional package is named in
:data:`PLUGIN_WORKLOADS` by import path and loaded the first time a study asks for it.
"""

from __future__ import annotations

import difflib
import importlib
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from firmware.driver import ChipHandle

_MISSING = object()


@dataclass(frozen=True)
class Option:
    """One workload option: type, default, allowed values or range, and what it means."""

    kind: type | tuple
    default: Any = _MISSING
    doc: str = ""
    choices: tuple = ()
    lo: float | None = None
    hi: float | None = None
    nullable: bool = False


@dataclass(frozen=True)
class Workload:
    """A named workload: options and the function that runs it on one chip."""

    name: str
    run: Callable[[ChipHandle, int, dict, "PointContext"], dict]
    options: dict[str, Option]
    doc: str = ""


@dataclass(frozen=True)
class WorkloadSpec:
    """A workload as a study file gives it: kind, checked options, and the label rows carry."""

    kind: str
    options: dict
    label: str


@dataclass
class PointContext:
    """What a workload may need besides the chip: the study folder (for relative paths), and the
    ledger index where the measured phase starts (set by the workload when it has a set-up phase)."""

    folder: Path
    measure_from: int = 0
    measure_kinds: tuple[str, ...] = ()
    """Command kinds the phase metrics count (empty: all)."""
    tiles_used: int = 1


WORKLOADS: dict[str, Workload] = {}
"""Registered workloads by name."""

PLUGIN_WORKLOADS: dict[str, str] = {"nn": "firmware.nn.study:WORKLOAD"}
"""Workloads in optional packages: name → ``module:attribute`` of a :class:`Workload`, imported on first use.
``nn`` comes with the networks package (``firmware.nn``); until that package provides ``study.WORKLOAD``,
a study that asks for ``nn`` is refused with that explanation."""


def register_workload(workload: Workload) -> Workload:
    """Add *workload* to :data:`WORKLOADS` (replacing one of the same name) and return it."""
    WORKLOADS[workload.name] = workload
    return workload


def get_workload(name: str) -> Workload:
    """The registered workload *name*, importing a plug-in if needed; KeyError with a message otherwise."""
    if name in WORKLOADS:
        return WORKLOADS[name]
    if name in PLUGIN_WORKLOADS:
        module, _, attr = PLUGIN_WORKLOADS[name].partition(":")
        try:
            wl = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as exc:
            raise KeyError(f"workload {name!r} needs {PLUGIN_WORKLOADS[name]} (the networks package), "
                           f"which this installation does not provide ({exc})") from None
        return register_workload(wl)
    known = sorted({*WORKLOADS, *PLUGIN_WORKLOADS})
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise KeyError(f"unknown workload {name!r}{hint} (known: {', '.join(known)})")


def _type_ok(opt: Option, v: Any) -> bool:
    if v is None:
        return opt.nullable
    kinds = opt.kind if isinstance(opt.kind, tuple) else (opt.kind,)
    for k in kinds:
        if k is int and isinstance(v, int) and not isinstance(v, bool):
            return True
        if k is float and isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
            return True
        if k in (str, bool, dict, list) and isinstance(v, k):
            return True
    return False


def _kind_text(opt: Option) -> str:
    kinds = opt.kind if isinstance(opt.kind, tuple) else (opt.kind,)
    names = {int: "an integer", float: "a number", str: "a string", bool: "true or false", dict: "a mapping",
             list: "a list"}
    text = " or ".join(names[k] for k in kinds)
    if opt.lo is not None or opt.hi is not None:
        text += f" in [{opt.lo if opt.lo is not None else '-inf'}, {opt.hi if opt.hi is not None else 'inf'}]"
    return text + (" or null" if opt.nullable else "")


def check_workload(r: Any, raw: Any, where: tuple, folder: Path) -> WorkloadSpec:
    """Check one ``workloads:`` entry of a study file (*r* is the study reader, for file:line errors)."""
    from memtwin.study.studyfile import check_keys

    if not isinstance(raw, dict):
        raise r.error(where, f"must be a mapping with kind: and options, not {raw!r}")
    if "kind" not in raw:
        raise r.error(where, "kind is required (mvm, write_verify, replay, program, nn)")
    try:
        wl = get_workload(str(raw["kind"]))
    except KeyError as exc:
        raise r.error((*where, "kind"), exc.args[0]) from None
    check_keys(r, raw, where, ("kind", "name", *wl.options))
    opts = {}
    for key, opt in wl.options.items():
        if key not in raw:
            if opt.default is _MISSING:
                raise r.error((*where, key), f"is required for {wl.name} workloads ({opt.doc})")
            opts[key] = opt.default
            continue
        v = raw[key]
        if not _type_ok(opt, v):
            raise r.error((*where, key), f"must be {_kind_text(opt)}, not {v!r}")
        if opt.choices and v not in opt.choices:
            close = difflib.get_close_matches(str(v), [str(c) for c in opt.choices], n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise r.error((*where, key), f"must be one of {', '.join(map(repr, opt.choices))}, not {v!r}{hint}")
        if v is not None and ((opt.lo is not None and v < opt.lo) or (opt.hi is not None and v > opt.hi)):
            raise r.error((*where, key), f"must be {_kind_text(opt)}, not {v!r}")
        opts[key] = v
    if wl.name == "replay":
        p = Path(opts["log"])
        if not p.is_absolute():
            p = folder / p
        if not p.is_file():
            raise r.error((*where, "log"), f"no such log file: {p}")
        opts["log"] = str(p)
    if wl.name == "program":
        target = opts["callable"]
        if ":" not in target:
            raise r.error((*where, "callable"), f"must be 'module:function', not {target!r}")
        try:
            resolve_callable(target, folder)
        except (ImportError, AttributeError) as exc:
            raise r.error((*where, "callable"), f"cannot import {target!r}: {exc}") from None
    label = raw.get("name", wl.name)
    if not isinstance(label, str):
        raise r.error((*where, "name"), f"must be a string, not {label!r}")
    return WorkloadSpec(wl.name, opts, label)


def resolve_callable(target: str, folder: Path | None = None) -> Callable:
    """The function named ``module:function`` (the study's folder is searched for the module too)."""
    import sys

    module, _, attr = target.partition(":")
    if folder is not None and str(folder) not in sys.path:
        sys.path.append(str(folder))
    obj: Any = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    if not callable(obj):
        raise AttributeError(f"{target} is not callable")
    return obj


# --- mvm -----------------------------------------------------------------------------------------

def _inputs(rng: np.random.Generator, dist: str, shape: tuple, density: float) -> np.ndarray:
    if dist == "uniform":
        return rng.uniform(-1.0, 1.0, shape)
    if dist == "normal":
        return np.clip(rng.normal(0.0, 1.0 / 3.0, shape), -1.0, 1.0)
    if dist == "binary":
        return (rng.random(shape) < 0.5).astype(np.float64)
    x = rng.uniform(-1.0, 1.0, shape)  # sparse
    return np.where(rng.random(shape) < density, x, 0.0)


def _program_block(tile, rows: int, cols: int, opts: dict, rng: np.random.Generator) -> dict:
    from firmware.programming import write_verify
    from firmware.pulse_schemes import make_scheme
    from firmware.quantize import device_levels
    from memtwin.program_cli import DEFAULT_SCHEME

    spec = tile.chip.spec
    levels = device_levels(spec, opts["levels"], margin=0.05)
    targets = levels.targets_us(rng.integers(0, opts["levels"], (rows, cols)))
    scheme = make_scheme(opts["scheme"] or DEFAULT_SCHEME.get(spec.name, "incremental"))
    tol = opts["tolerance_us"] if opts["tolerance_us"] is not None else float(levels.spacing_us.min()) / 4
    rep = write_verify(tile, np.arange(rows)[:, None], np.arange(cols)[None, :], targets, scheme, tolerance_us=tol,
                       max_pulses=opts["max_pulses"], progress=False)
    s = rep.summary
    return {"program_rmse_pct": s.rmse_pct_of_range, "program_pulses_per_cell": s.mean_pulses,
            "program_converged_frac": s.convergence_rate}


def run_mvm(chip: ChipHandle, seed: int, opts: dict, ctx: PointContext) -> dict:
    """Program (or not) a block on each tile used, then time MVM batches on those tiles concurrently."""
    spec = chip.spec
    n_tiles = opts["tiles"]
    if n_tiles > chip.n_tiles:
        raise ValueError(f"tiles: {n_tiles} tiles asked, the chip has {chip.n_tiles}")
    rows = min(opts["rows"] or spec.tile.array.rows, spec.tile.array.rows)
    cols = min(opts["cols"] or spec.tile.array.cols, spec.tile.array.cols)
    if opts["rows"] and opts["rows"] > spec.tile.array.rows or opts["cols"] and opts["cols"] > spec.tile.array.cols:
        raise ValueError(f"rows x cols {opts['rows']} x {opts['cols']} exceed the tile's "
                         f"{spec.tile.array.rows} x {spec.tile.array.cols}")
    differential = spec.tile.adc.differential != "none"
    if differential and cols % 2:
        cols -= 1
    rng = np.random.default_rng([seed, 0x3D])
    out: dict[str, Any] = {}
    g_eff = []
    v_read = spec.tile.read.v_read_v
    xs = [[_inputs(rng, opts["inputs"], (opts["batch"], rows), opts["density"]) for _ in range(opts["commands"])]
          for _ in range(n_tiles)]
    for i in range(n_tiles):
        tile = chip.tile(i)
        if opts["weights"] == "write_verify":
            out.update(_program_block(tile, rows, cols, opts, rng))
        g = tile.read(np.arange(rows)[:, None], np.arange(cols)[None, :]).values  # reference conductances, µS
        g = g[:, 0::2] - g[:, 1::2] if differential else g
        g_eff.append(g)
        if opts["adc_range"] == "auto":
            ideal = np.concatenate([v_read * x @ g for x in xs[i]])
            full = max(float(np.max(np.abs(ideal))) * 1.05, 1e-3)
            tile.configure(adc_mvm_range_ua=(-full, full))
    ctx.measure_from = len(chip.ledger)
    ctx.measure_kinds = ("mvm",)
    ctx.tiles_used = n_tiles
    results: dict[int, list] = {i: [] for i in range(n_tiles)}

    def worker(tile, batches):
        for x in batches:
            r = yield from tile.mvm_proc(x, row_window=(0, rows), col_window=(0, cols))
            results[tile.index].append(r.values)

    for i in range(n_tiles):
        chip.process(worker(chip.tile(i), xs[i]))
    chip.run()
    err, ref = [], []
    for i in range(n_tiles):
        for x, y in zip(xs[i], results[i]):
            ideal = v_read * x @ g_eff[i]
            err.append((y - ideal).ravel())
            ref.append(ideal.ravel())
    err_a, ref_a = np.concatenate(err), np.concatenate(ref)
    scale = float(np.max(np.abs(ref_a))) or 1.0
    out["mvm_rmse_pct"] = 100.0 * float(np.sqrt(np.mean(err_a ** 2))) / scale
    out["mvm_rows"], out["mvm_cols"] = rows, cols
    return out


register_workload(Workload("mvm", run_mvm, {
    "batch": Option(int, 16, "input vectors per MVM command", lo=1, hi=100_000),
    "commands": Option(int, 4, "MVM commands per tile", lo=1, hi=100_000),
    "tiles": Option(int, 1, "tiles driven concurrently (each its own batches)", lo=1),
    "rows": Option(int, None, "rows of the window driven (default: all)", lo=1, nullable=True),
    "cols": Option(int, None, "columns of the window sensed (default: all)", lo=1, nullable=True),
    "inputs": Option(str, "uniform", "input distribution", choices=("uniform", "normal", "binary", "sparse")),
    "density": Option(float, 0.5, "fraction of non-zero inputs (sparse)", lo=0.0, hi=1.0),
    "weights": Option(str, "none", "how the window is programmed first: none (fresh cells) or write_verify",
                      choices=("none", "write_verify")),
    "levels": Option(int, 4, "levels for write_verify weights", lo=2, hi=100_000),
    "scheme": Option(str, None, "pulse scheme for write_verify weights (default: the spec's)", nullable=True),
    "tolerance_us": Option(float, None, "write-verify acceptance (default: spacing/4)", lo=0.0, nullable=True),
    "max_pulses": Option(int, 100, "write-verify pulse budget per cell", lo=1),
    "adc_range": Option(str, "auto", "MVM ADC range: auto (fit to the ideal outputs) or spec",
                        choices=("auto", "spec")),
}, "MVM batches on one or more tiles: energy, latency, throughput, TOPS/W and error against the ideal."))


# --- write_verify ----------------------------------------------------------------------------------

def run_write_verify(chip: ChipHandle, seed: int, opts: dict, ctx: PointContext) -> dict:
    """Program a block of one tile to random levels with write-verify."""
    from firmware.programming import write_verify
    from firmware.pulse_schemes import make_scheme
    from firmware.quantize import device_levels
    from memtwin.program_cli import DEFAULT_SCHEME

    spec = chip.spec
    rows, cols = opts["rows"], opts["cols"]
    if rows > spec.tile.array.rows or cols > spec.tile.array.cols:
        raise ValueError(f"block {rows} x {cols} exceeds the tile's {spec.tile.array.rows} x {spec.tile.array.cols}")
    rng = np.random.default_rng([seed, 0x57])
    levels = device_levels(spec, opts["levels"], margin=opts["margin"])
    level = rng.integers(0, opts["levels"], (rows, cols))
    scheme_name = opts["scheme"] or DEFAULT_SCHEME.get(spec.name, "incremental")
    tol = opts["tolerance_us"] if opts["tolerance_us"] is not None else float(levels.spacing_us.min()) / 4
    tile = chip.tile(0)
    rep = write_verify(tile, np.arange(rows)[:, None], np.arange(cols)[None, :], levels.targets_us(level),
                       make_scheme(scheme_name), tolerance_us=tol, max_pulses=opts["max_pulses"], progress=False)
    s = rep.summary
    misread = float(np.mean(levels.nearest(rep.final_us) != level.ravel()))
    n = rows * cols
    return {"scheme": scheme_name, "rmse_pct": s.rmse_pct_of_range, "rmse_us": s.rmse_us,
            "pulses_per_cell": s.mean_pulses, "converged_frac": s.convergence_rate, "misread_frac": misread,
            "program_time_per_cell_ns": s.time_ps / n / 1000, "program_energy_per_cell_pj": s.energy_pj / n,
            "tolerance_us": tol}


register_workload(Workload("write_verify", run_write_verify, {
    "levels": Option(int, 8, "conductance levels, uniform over the device range", lo=2, hi=100_000),
    "scheme": Option(str, None, "pulse scheme (incremental, reset_voltage, feedforward, gate_set; default: the spec's)",
                     nullable=True),
    "rows": Option(int, 32, "rows of the block programmed", lo=1),
    "cols": Option(int, 32, "columns of the block programmed", lo=1),
    "tolerance_us": Option(float, None, "acceptance half-window, µS (default: spacing/4)", lo=0.0, nullable=True),
    "max_pulses": Option(int, 100, "pulse budget per cell", lo=1),
    "margin": Option(float, 0.05, "fraction of the range left free at each end", lo=0.0, hi=0.45),
}, "Write-verify of a block to N levels: time, energy, pulses, RMSE."))


# --- replay ----------------------------------------------------------------------------------------

def run_replay(chip: ChipHandle, seed: int, opts: dict, ctx: PointContext) -> dict:
    """Re-issue a twin log's commands, one after another, on this point's chip."""
    from twin.log.format import read_log

    reader = read_log(opts["log"])
    n = 0
    sq, cnt = 0.0, 0
    try:
        if reader.form != "twin":
            raise ValueError(f"{opts['log']}: the replay workload needs a twin log, not a {reader.form} log")
        for rec in reader:
            r = chip.execute(rec.command)
            n += 1
            if rec.values is not None and r.values is not None and np.shape(r.values) == np.shape(rec.values):
                d = np.asarray(r.values, dtype=np.float64) - np.asarray(rec.values, dtype=np.float64)
                sq += float(np.sum(d ** 2))
                cnt += d.size
    finally:
        reader.close()
    return {"replay_commands": n, "replay_rms_diff": math.sqrt(sq / cnt) if cnt else 0.0}


register_workload(Workload("replay", run_replay, {
    "log": Option(str, _MISSING, "a twin log (JSON Lines) to re-issue, relative to the study file"),
}, "Re-issue a recorded twin log on each point's chip: time and energy of the same commands."))


# --- program -----------------------------------------------------------------------------------------

def run_program(chip: ChipHandle, seed: int, opts: dict, ctx: PointContext) -> dict:
    """Call the user's ``fn(chip, seed=seed, **options)``; its returned mapping becomes columns."""
    fn = resolve_callable(opts["callable"], ctx.folder)
    got = fn(chip, seed=seed, **(opts["options"] or {}))
    if got is None:
        return {}
    if not isinstance(got, dict):
        raise TypeError(f"{opts['callable']} must return a dict of metrics or None, not {type(got).__name__}")
    return {str(k): v for k, v in got.items()}


register_workload(Workload("program", run_program, {
    "callable": Option(str, _MISSING, "'module:function' called as function(chip, seed=seed, **options)"),
    "options": Option(dict, None, "keyword arguments for the function", nullable=True),
}, "Your own firmware program, imported by path; returns a dict of extra metrics."))


__all__ = ["Option", "Workload", "WorkloadSpec", "PointContext", "WORKLOADS", "PLUGIN_WORKLOADS",
           "register_workload", "get_workload", "check_workload", "resolve_callable"]
