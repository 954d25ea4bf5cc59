"""``memtwin nn run``: train (or load) a model, map it onto a chip, program it, calibrate, evaluate."""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

import twin
from firmware.pulse_schemes import SCHEMES


def _cmd_nn_run(args: argparse.Namespace) -> int:
    import firmware
    from firmware import nn
    from firmware.nn import datasets, train

    try:
        ds = datasets.load(args.dataset, seed=args.seed)
    except (ValueError, FileNotFoundError, ImportError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    wall = time.perf_counter()
    try:
        if args.model in ("mlp", "cnn"):
            model = train.trained(args.model, ds, hidden=tuple(args.hidden), epochs=args.epochs,
                                  noise_rel=args.noise_rel, seed=args.seed)
        else:
            model = nn.load_npz(args.model)
        chip = firmware.open_chip(args.spec, seed=args.seed)
        dep = nn.deploy(chip, model, levels=args.levels, cells_per_weight=args.cells_per_weight,
                        signed=args.signed, weights=args.weights)
    except (ValueError, FileNotFoundError, twin.SpecError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    x_test, y_test = ds.x_test[:args.n_test] if args.n_test else ds.x_test, ds.y_test[:args.n_test or None]
    float_acc = train.accuracy(model.forward(x_test), y_test)
    print(dep.plan.to_text())
    scheme = args.scheme or {"kim2021": "reset_voltage", "diao2025": "feedforward",
                             "rao2023": "gate_set"}.get(chip.spec.name, "incremental")
    prog = dep.program(scheme, tolerance_us=args.tolerance_us, progress=not args.quiet)
    print(prog.to_text())
    if args.delay_s:
        dep.wait(args.delay_s)
    cal = dep.calibrate(ds.x_train[:args.n_calibration], column_correction=args.column_correction)
    print(cal.to_text())
    pred = dep.predict(x_test, progress=not args.quiet)
    twin_acc = train.accuracy(pred.outputs, y_test)
    quant_acc = train.accuracy(model.forward(x_test, dep.quantized_weights()), y_test)
    per = pred.report.per_inference
    print(pred.report.to_text())
    print(f"accuracy on {len(y_test)} test images: float {float_acc:.4f}, quantized weights {quant_acc:.4f}, "
          f"twin {twin_acc:.4f} ({100 * (twin_acc - float_acc):+.2f} points) at {args.delay_s:g} s after programming")
    print(f"per inference: {per.time_ps / 1e6:.3f} us, {per.energy_pj / 1e3:.3f} nJ on the chip; "
          f"tiles used {dep.plan.tiles_used}; wall {time.perf_counter() - wall:.1f} s")
    if args.json:
        out = {"spec": chip.spec.name, "model": args.model, "dataset": args.dataset, "levels": args.levels,
               "cells_per_weight": args.cells_per_weight, "scheme": scheme, "delay_s": args.delay_s,
               "accuracy": {"float": float_acc, "quantized": quant_acc, "twin": twin_acc},
               "tiles_used": dep.plan.tiles_used, "n_cells": dep.plan.n_cells,
               "programming": {"time_ps": prog.cost.time_ps, "energy_pj": prog.cost.energy_pj,
                               "layers": [vars(lr) for lr in prog.layers]},
               "inference_per_image": {"time_ps": per.time_ps, "energy_pj": per.energy_pj,
                                       "energy_by_component_pj": per.energy_by_component_pj,
                                       "host_wall_s": pred.report.host_wall_s / pred.report.n}}
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2, default=lambda o: o.tolist() if isinstance(o, np.ndarray) else str(o))
        print(f"wrote {args.json}")
    return 0


def add_nn_command(subparsers) -> None:
    """Register ``memtwin nn run`` on the CLI's subparsers."""
    nn_parser = subparsers.add_parser("nn", help="neural networks on the twin")
    sub = nn_parser.add_subparsers(dest="nn_command", required=True)
    p = sub.add_parser("run", help="map, program, calibrate and evaluate a network; print accuracy, time, energy")
    p.add_argument("--spec", default="default", help="bundled spec name or YAML path")
    p.add_argument("--model", default="mlp", help="mlp, cnn (trained here, cached) or FILE.npz")
    p.add_argument("--dataset", default="digits", help="digits or mnist:DIR (IDX files)")
    p.add_argument("--levels", type=int, default=8, help="conductance levels per cell")
    p.add_argument("--cells-per-weight", type=int, default=1, help="bit slicing: cells per weight and sign")
    p.add_argument("--signed", choices=["pairs", "tiles", "offset"], default="pairs")
    p.add_argument("--weights", choices=["uniform", "binary", "ternary"], default="uniform")
    p.add_argument("--scheme", choices=sorted(SCHEMES), default=None, help="default: the spec's paper scheme")
    p.add_argument("--tolerance-us", type=float, default=None, help="default: a quarter level step, <= 1 uS")
    p.add_argument("--delay-s", type=float, default=0.0, help="idle time between programming and inference")
    p.add_argument("--column-correction", action="store_true", help="per-output gain/offset calibration")
    p.add_argument("--hidden", type=int, nargs="+", default=[32], help="MLP hidden sizes")
    p.add_argument("--epochs", type=int, default=40)
    p.add_argument("--noise-rel", type=float, default=0.0, help="noise-injection training, sigma / max|W|")
    p.add_argument("--n-calibration", type=int, default=256)
    p.add_argument("--n-test", type=int, default=0, help="evaluate only the first N test images (0: all)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", metavar="OUT.json")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_cmd_nn_run)
