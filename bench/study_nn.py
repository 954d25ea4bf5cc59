"""Network studies on the papers' presets (docs/networks.md records their output).

    python bench/study_nn.py kim|diao|nguyen|rao|all [--n-test N] [--mnist DIR]

kim:    Kim 2021 in kind: 8-level PTQ on differential pairs, reset_voltage scheme, kim2021 device; accuracy
        versus programming RMSE (verify tolerance varied), float baseline beside it.
diao:   Diao 2025 in kind: accuracy versus levels per cell (2 ... 512), feedforward and incremental, diao2025.
nguyen: Nguyen 2022: binary and ternary weights with IR drop on; accuracy versus wire resistance and array
        size (hidden width), with and without per-column gain/offset correction and its cost.
rao:    Rao 2023 in kind: the model downloaded into rao2023 with gate_set, with and without denoising;
        accuracy 1 s and 1 day after programming.
All on scikit-learn's digits (64-input MLP); kim also on MNIST with --mnist DIR.
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import numpy as np

import firmware
import twin
from firmware import nn
from firmware.nn import datasets, train
from twin.logconfig import configure_logging


def spec_with(name: str, *, n_tiles: int | None = None, **effects_or_array) -> twin.ChipSpec:
    """A bundled spec with some fields replaced (n_tiles, tile.effects.*, tile.array.*)."""
    spec = twin.load_spec(name)
    tile = spec.tile
    eff = {k: v for k, v in effects_or_array.items() if hasattr(tile.effects, k)}
    arr = {k: v for k, v in effects_or_array.items() if hasattr(tile.array, k)}
    tile = dataclasses.replace(tile, effects=dataclasses.replace(tile.effects, **eff),
                               array=dataclasses.replace(tile.array, **arr))
    return dataclasses.replace(spec, tile=tile, n_tiles=n_tiles or spec.n_tiles)


def run(spec, model, ds, *, scheme, delay_s=0.0, n_test=360, tolerance_us=None, column_correction=False,
        seed=1, max_pulses=100, scheme_options=None, **mapping):
    """Deploy, program, wait, calibrate, evaluate; a dict of the numbers."""
    x_train, x_test = ds.flat() if model.input_shape == (int(np.prod(ds.image_shape)),) else (ds.x_train, ds.x_test)
    x_test, y_test = x_test[:n_test], ds.y_test[:n_test]
    chip = firmware.open_chip(spec, seed=seed)
    dep = nn.deploy(chip, model, **mapping)
    wall = time.perf_counter()
    prog = dep.program(scheme, tolerance_us=tolerance_us, max_pulses=max_pulses,
                       **({"scheme_options": scheme_options} if scheme_options else {}))
    dep.wait(delay_s)
    cal = dep.calibrate(x_train[:256], column_correction=column_correction)
    pred = dep.predict(x_test)
    n_cells = sum(lr.n_cells for lr in prog.layers)
    rmse_pct = float(np.sqrt(sum(lr.rmse_pct_of_range ** 2 * lr.n_cells for lr in prog.layers) / n_cells))
    per = pred.report.per_inference
    return {"float": train.accuracy(model.forward(x_test), y_test),
            "quantized": train.accuracy(model.forward(x_test, dep.quantized_weights()), y_test),
            "twin": train.accuracy(pred.outputs, y_test), "rmse_pct": rmse_pct,
            "pulses": float(np.mean([lr.mean_pulses for lr in prog.layers])),
            "conv": float(np.mean([lr.convergence_rate for lr in prog.layers])),
            "prog_us": prog.cost.time_ps / 1e6, "prog_uj": prog.cost.energy_pj / 1e6,
            "cal_us": cal.cost.time_ps / 1e6, "cal_nj": cal.cost.energy_pj / 1e3,
            "inf_us": per.time_ps / 1e6, "inf_nj": per.energy_pj / 1e3, "wall_s": time.perf_counter() - wall,
            "tiles": len(dep.plan.tiles_used)}


def kim(args, ds):
    spec = spec_with("kim2021", n_tiles=8)
    model = train.trained("mlp", ds)
    print(f"## kim: {ds.name} MLP 64-32-10, 8 levels, pairs, reset_voltage, kim2021 device on 8 tiles of 32x32 "
          f"(the preset has 1)")
    print("| tolerance uS | programming RMSE % of range | converged | pulses/cell | float | quantized | twin | "
          "prog. time us | inference us, nJ |")
    print("|---|---|---|---|---|---|---|---|---|")
    for tol in (0.3, 0.7, 1.4, 2.8, 5.0):
        r = run(spec, model, ds, scheme="reset_voltage", tolerance_us=tol, n_test=args.n_test, levels=8,
                max_pulses=60)
        print(f"| {tol} | {r['rmse_pct']:.2f} | {r['conv']:.1%} | {r['pulses']:.1f} | {r['float']:.4f} | "
              f"{r['quantized']:.4f} | {r['twin']:.4f} | {r['prog_us']:,.0f} | {r['inf_us']:.2f}, {r['inf_nj']:.1f} |")


def diao(args, ds):
    spec = "diao2025"
    model = train.trained("mlp", ds)
    print("## diao: digits MLP, pairs, diao2025 (g 100-119 uS), tolerance = level step / 2, 60 pulses at most")
    print("| levels | scheme | programming RMSE % | converged | pulses/cell | quantized | twin | prog. time us |")
    print("|---|---|---|---|---|---|---|---|")
    for levels in args.levels:
        step = 19.0 * 0.9 / (levels - 1)
        for scheme in ("feedforward", "incremental"):
            r = run(spec, model, ds, scheme=scheme, tolerance_us=step / 2, n_test=args.n_test, levels=levels,
                    max_pulses=60)
            print(f"| {levels} | {scheme} | {r['rmse_pct']:.3f} | {r['conv']:.1%} | {r['pulses']:.1f} | "
                  f"{r['quantized']:.4f} | {r['twin']:.4f} | {r['prog_us']:,.0f} |")


def nguyen(args, ds):
    print("## nguyen: binary/ternary weights, default device, IR drop on (relaxation off: see docs), incremental")
    print("| weights | hidden | r_wire row/col ohm | correction | float | quantized | twin | calibration us, nJ |")
    print("|---|---|---|---|---|---|---|---|")
    for hidden in args.hidden:
        model = train.trained("mlp", ds, hidden=(hidden,))
        for weights in ("binary", "ternary"):
            for r_row in args.r_wire:
                spec = spec_with("default", ir_drop=True, relaxation=False, r_wire_row_ohm=r_row,
                                 r_wire_col_ohm=3 * r_row)
                for cc in (False, True):
                    r = run(spec, model, ds, scheme="incremental", n_test=args.n_test, levels=2, weights=weights,
                            column_correction=cc, max_pulses=40)
                    print(f"| {weights} | {hidden} | {r_row:g}/{3 * r_row:g} | {'gain/offset' if cc else 'none'} | "
                          f"{r['float']:.4f} | {r['quantized']:.4f} | {r['twin']:.4f} | "
                          f"{r['cal_us']:,.0f}, {r['cal_nj']:,.0f} |")


def rao(args, ds):
    model = train.trained("mlp", ds)
    print("## rao: digits MLP downloaded into rao2023 (one 256x256 tile, packed), 64 levels, pairs, gate_set")
    print("| denoising | delay | programming RMSE % | float | quantized | twin | prog. time us |")
    print("|---|---|---|---|---|---|---|")
    for denoise in (True, False):
        for delay in (1.0, 86400.0):
            r = run("rao2023", model, ds, scheme="gate_set", delay_s=delay, n_test=args.n_test, levels=64,
                    tolerance_us=1.0, max_pulses=60, scheme_options=None if denoise else {"denoise_pulses": 0})
            print(f"| {'on' if denoise else 'off'} | {'1 s' if delay == 1 else '1 day'} | {r['rmse_pct']:.3f} | "
                  f"{r['float']:.4f} | {r['quantized']:.4f} | {r['twin']:.4f} | {r['prog_us']:,.0f} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("study", choices=["kim", "diao", "nguyen", "rao", "all"])
    ap.add_argument("--n-test", type=int, default=360)
    ap.add_argument("--levels", type=int, nargs="+", default=[2, 4, 8, 16, 32, 64, 128, 256, 512])
    ap.add_argument("--hidden", type=int, nargs="+", default=[32, 128])
    ap.add_argument("--r-wire", type=float, nargs="+", default=[0.0, 1.0, 3.0])
    ap.add_argument("--mnist", metavar="DIR")
    args = ap.parse_args()
    configure_logging("error")
    ds = datasets.digits()
    t0 = time.perf_counter()
    for name, fn in (("kim", kim), ("diao", diao), ("nguyen", nguyen), ("rao", rao)):
        if args.study in (name, "all"):
            fn(args, ds)
            if name == "kim" and args.mnist:
                fn(args, datasets.mnist(args.mnist, n_train=10000, n_test=args.n_test))
    print(f"\nwall {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
