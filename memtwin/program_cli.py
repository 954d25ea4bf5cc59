"""``memtwin program``: program a tile to N levels with a write-verify scheme and print the summary.

    memtwin program --spec kim2021 --levels 8 --pattern random --scheme reset_voltage [--plot out.png]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

import twin
from firmware.driver import open_chip
from firmware.programming import write_verify
from firmware.pulse_schemes import SCHEMES, make_scheme
from firmware.quantize import device_levels

DEFAULT_SCHEME = {"kim2021": "reset_voltage", "diao2025": "feedforward", "rao2023": "gate_set"}
"""Scheme used when ``--scheme`` is not given, by spec name (otherwise ``incremental``)."""


def level_pattern(pattern: str, n_levels: int, shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Level indices of shape *shape*: ``random``, ``checkerboard`` (levels 0 and N−1 alternating) or a
    ``.npy`` file of level indices (integers in [0, N−1]) or of target conductances (floats, µS)."""
    if pattern == "random":
        return rng.integers(0, n_levels, shape)
    if pattern == "checkerboard":
        return np.where(np.add.outer(np.arange(shape[0]), np.arange(shape[1])) % 2 == 0, 0, n_levels - 1)
    path = Path(pattern)
    if path.suffix != ".npy":
        raise ValueError(f"--pattern must be 'random', 'checkerboard' or a .npy file, not {pattern!r}")
    arr = np.load(path)
    if arr.ndim != 2 or arr.shape[0] > shape[0] or arr.shape[1] > shape[1]:
        raise ValueError(f"{path}: the pattern must be a 2-D array of at most {shape}, not {arr.shape}")
    return arr


def _cmd_program(args: argparse.Namespace) -> int:
    try:
        chip = open_chip(args.spec, seed=args.seed)
    except twin.SpecError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    tile = chip.tile(args.tile)
    shape = tile.shape if args.size is None else (min(args.size, tile.shape[0]), min(args.size, tile.shape[1]))
    levels = device_levels(chip.spec, args.levels, margin=args.margin)
    try:
        pattern = level_pattern(args.pattern, args.levels, shape, np.random.default_rng(args.seed))
        if np.issubdtype(pattern.dtype, np.integer):
            level = pattern
            targets = levels.targets_us(level)
        else:
            targets, level = pattern.astype(np.float64), levels.nearest(pattern)
        shape = targets.shape
        scheme = make_scheme(args.scheme or DEFAULT_SCHEME.get(chip.spec.name, "incremental"))
        tol = args.tolerance_us if args.tolerance_us is not None else float(levels.spacing_us.min()) / 4
        wall = time.perf_counter()
        rep = write_verify(tile, np.arange(shape[0])[:, None], np.arange(shape[1])[None, :], targets, scheme,
                           tolerance_us=tol, max_pulses=args.max_pulses, progress=not args.quiet)
    except (ValueError, twin.CommandError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    wall = time.perf_counter() - wall
    print(f"memtwin program: spec {chip.spec.name!r} tile {args.tile}, {shape[0]}x{shape[1]} cells, {args.levels} levels "
          f"{levels.range_us[0]:g}..{levels.range_us[1]:g} uS, pattern {args.pattern}, seed {args.seed}")
    print(rep.summary.to_text())
    misread = float(np.mean(levels.nearest(rep.final_us) != np.asarray(level).ravel()))
    print(f"cells reading nearer to another level: {misread:.2%}")
    print(f"wall-clock {wall:.2f} s")
    if args.plot:
        try:
            from memtwin.plots import plot_programming
        except ImportError as err:  # matplotlib is the optional extra "plot"
            print(f"error: --plot needs matplotlib (pip install 'memtwin[plot]'): {err}", file=sys.stderr)
            return 2
        plot_programming(rep, levels, np.asarray(level).ravel(), args.plot)
        print(f"plot written to {args.plot}")
    return 0


def add_program_command(subparsers) -> None:
    """Register ``memtwin program`` on the CLI's subparsers."""
    p = subparsers.add_parser("program", help="program a tile to N levels by write-verify and print the summary")
    p.add_argument("--spec", default="kim2021", help="bundled spec name or YAML path (default kim2021)")
    p.add_argument("--levels", type=int, default=8, help="number of levels, uniform over the device range")
    p.add_argument("--pattern", default="random", help="random, checkerboard, or FILE.npy (level indices or uS)")
    p.add_argument("--scheme", choices=sorted(SCHEMES), default=None,
                   help="pulse scheme (default: the spec's paper scheme, else incremental)")
    p.add_argument("--tolerance-us", type=float, default=None, help="acceptance half-window (default: spacing/4)")
    p.add_argument("--max-pulses", type=int, default=100)
    p.add_argument("--margin", type=float, default=0.05, help="fraction of the range left free at each end")
    p.add_argument("--size", type=int, default=None, help="program only the top-left SIZE x SIZE block")
    p.add_argument("--tile", type=int, default=0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--plot", metavar="OUT.png", help="per-level histograms and pulses per cell (needs matplotlib)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_program)
