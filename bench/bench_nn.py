"""Wall time of a digits MLP on the twin: map, program (write-verify, tiles concurrently), calibrate,
evaluate the 360 test digits; images/s next to the same float inference in numpy, in the same run.

    python bench/bench_nn.py [--spec default] [--levels 8] [--repeat 5]

Target: evaluating the 360 test digits on a programmed chip in under 2 s wall.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import firmware
from firmware import nn
from firmware.nn import datasets, train
from twin.logconfig import configure_logging


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--spec", default="default")
    ap.add_argument("--levels", type=int, default=8)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    configure_logging("warning")
    ds = datasets.digits()
    x_train, x_test = ds.flat()
    model = train.trained("mlp", ds)
    # warm numba and the caches once (not timed)
    warm = nn.deploy(firmware.open_chip(args.spec, seed=args.seed + 100), model, levels=args.levels)
    warm.program("incremental", max_pulses=5)
    warm.calibrate(x_train[:32])
    warm.predict(x_test[:8])

    t0 = time.perf_counter()
    chip = firmware.open_chip(args.spec, seed=args.seed)
    dep = nn.deploy(chip, model, levels=args.levels)
    t_map = time.perf_counter() - t0
    t0 = time.perf_counter()
    prog = dep.program("incremental")
    t_prog = time.perf_counter() - t0
    t0 = time.perf_counter()
    dep.calibrate(x_train[:256])
    t_cal = time.perf_counter() - t0
    evals = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        pred = dep.predict(x_test)
        evals.append(time.perf_counter() - t0)
    floats = []
    for _ in range(args.repeat * 20):
        t0 = time.perf_counter()
        out = model.forward(x_test)
        floats.append(time.perf_counter() - t0)
    n_cells = dep.plan.n_cells
    t_eval = min(evals)
    print(f"digits MLP {' x '.join(str(lp.shape[0]) for lp in dep.plan.layers)} x {dep.plan.layers[-1].shape[1]} on "
          f"{args.spec}, {args.levels} levels, pairs; {n_cells:,} cells on {len(dep.plan.tiles_used)} tiles")
    print(f"map        {t_map * 1e3:8.1f} ms wall")
    print(f"program    {t_prog:8.2f} s wall: {n_cells / t_prog:,.0f} cells/s ({t_prog / n_cells * 1e6:.0f} us wall per "
          f"cell; compare bench_programming.py's per-cell rate); simulated {prog.cost.time_ps / 1e6:,.0f} us")
    print(f"calibrate  {t_cal:8.2f} s wall (256 images)")
    print(f"evaluate   {t_eval:8.3f} s wall for {len(x_test)} images (best of {args.repeat}): "
          f"{len(x_test) / t_eval:,.0f} images/s  [target < 2 s: {'met' if t_eval < 2 else 'MISSED'}]")
    print(f"numpy float inference: {min(floats) * 1e3:.3f} ms for {len(x_test)} images: "
          f"{len(x_test) / min(floats):,.0f} images/s; twin / numpy = {t_eval / min(floats):,.0f}x")
    print(f"total map + program + calibrate + evaluate: {t_map + t_prog + t_cal + t_eval:.2f} s wall")
    per = pred.report.per_inference
    print(f"accuracy: float {train.accuracy(out, ds.y_test):.4f}, twin {train.accuracy(pred.outputs, ds.y_test):.4f}; "
          f"per inference on the chip {per.time_ps / 1e6:.3f} us, {per.energy_pj / 1e3:.3f} nJ")


if __name__ == "__main__":
    main()
