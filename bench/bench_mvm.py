"""Benchmark: noisy quantized MVM (twin.physics.mvm.quantized_mvm) vs numpy's float64 matmul.

256×256 array, cells uniform in 1–100 µS, white read noise σ_G = 2 % of G (on), 8-bit inputs, 8-bit ADC
with input-referred noise, telegraph state already folded into g. All three input modes, batch 1024
(BLAS path) and batch 1 (single-pass numba path), three forms of the operands:
  "g f64, var f64"        plain float64 arrays, nothing prepared;
  "g f64, var f32"        the read-noise variance prepared as float32 (noise_variance_f32_us2);
  "g f32+rowsum, var f32" also the conductances as float32 (conductance_f32_us) and their row sums
                          (conductance_rowsum_us): what the tile's Array passes for batches of up to 8 (it keeps these
                          arrays between commands and updates only the cells that changed).
The preparation is per array state and is not timed, like the caller's noise draws.
Numba compile time is excluded (warm-up call first); each figure is the best of many short timings,
interleaved between the three operand forms and the numpy baseline of the same batch and mode.  The
standard-normal draws are made by the caller and are NOT part of the MVM time; their cost is printed
separately.
Run: python bench/bench_mvm.py
"""

import pathlib
import sys
import time

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from twin.physics.converters import AdcSetting, adc_bipolar_range_ua  # noqa: E402
from twin.physics.mvm import (MvmWorkspace, conductance_f32_us, conductance_rowsum_us,  # noqa: E402
                              noise_draw_shapes, noise_variance_f32_us2, quantized_mvm)

ROWS, COLS = 256, 256
DAC_BITS = 8
ADC_BITS = 8
V_READ_V = 0.2
MODES = ("pwm", "amplitude", "bit_serial")
TARGET_RATIO = 3.0
TARGET_BATCH1_US = 30.0


def _best_s(fn, inner, repeats):
    """Best (over ``repeats``) mean wall time of ``inner`` calls of ``fn``, in seconds."""
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        best = min(best, (time.perf_counter() - t0) / inner)
    return best


def main():
    rng = np.random.default_rng(20240611)
    g_us = rng.uniform(1.0, 100.0, (ROWS, COLS))
    var64 = (0.02 * g_us) ** 2
    var32 = noise_variance_f32_us2(var64)
    g32 = conductance_f32_us(g_us)
    rowsum32 = conductance_rowsum_us(g32)
    operands = (("g f64, var f64", g_us, var64, None), ("g f64, var f32", g_us, var32, None),
                ("g f32+rowsum, var f32", g32, var32, rowsum32))
    # Full scale: a quarter of the largest possible column current (random signed inputs rarely exceed it).
    i_min_ua, i_max_ua = adc_bipolar_range_ua(V_READ_V * ROWS * 100.0 / 8.0, ADC_BITS)
    i_min_bit_ua, i_max_bit_ua = adc_bipolar_range_ua(V_READ_V * ROWS * 100.0 / 4.0, ADC_BITS)
    print(f"mvm bench: {ROWS}x{COLS}, {DAC_BITS}-bit inputs, {ADC_BITS}-bit ADC "
          f"(±{i_max_ua:.0f} uA; bit_serial planes ±{i_max_bit_ua:.0f} uA), read noise on (2 % of G), "
          f"ADC noise 0.5 uA; numba compile excluded; targets (pwm / amplitude only): "
          f"batch 1024 <= {TARGET_RATIO:.0f}x numpy float64 X @ G per vector, batch 1 <= "
          f"{TARGET_BATCH1_US:.0f} us; bit_serial does {DAC_BITS - 1} reads and is expected to cost "
          f"~{DAC_BITS - 1}x (reported, no target)")

    workspace = MvmWorkspace()  # the scratch arrays a tile's Array keeps between MVMs
    for batch in (1024, 1):
        x = rng.uniform(-1.0, 1.0, (batch, ROWS))
        # Many short timings, interleaved between the operand forms and the numpy baseline, each form
        # keeping its best: a burst of load from other jobs then spoils a few samples of every form
        # rather than all samples of one.
        inner, rounds = (2, 11) if batch > 1 else (100, 21)
        x_one = x[0]

        def base():
            return x @ g_us if batch > 1 else x_one @ g_us

        for mode in MODES:
            rs, as_ = noise_draw_shapes(mode, DAC_BITS, batch, COLS)
            zr = rng.standard_normal(rs)
            za = rng.standard_normal(as_)
            lo, hi = (i_min_bit_ua, i_max_bit_ua) if mode == "bit_serial" else (i_min_ua, i_max_ua)
            adc = AdcSetting(ADC_BITS, lo, hi, noise_ua=0.5)
            runs = {}
            for label, g, var, rowsum in operands:
                def run(g=g, var=var, rowsum=rowsum, zr=zr, za=za, adc=adc, mode=mode):
                    return quantized_mvm(x, g, var, mode=mode, dac_bits=DAC_BITS, v_read_v=V_READ_V, adc=adc,
                                         read_noise_draws=zr, adc_noise_draws=za, g_rowsum_us=rowsum,
                                         workspace=workspace)

                runs[label] = run
            results = {label: run() for label, run in runs.items()}  # warm-up (compile / load cache)
            best = dict.fromkeys([*runs, "numpy"], np.inf)
            for _ in range(rounds):
                for label, fn in [*runs.items(), ("numpy", base)]:
                    best[label] = min(best[label], _best_s(fn, inner, 1))
            base_s = best["numpy"]
            base_us = base_s / batch * 1e6
            for label, res in results.items():
                t_s = best[label]
                per_vec_us = t_s / batch * 1e6
                ratio = t_s / base_s
                sat = res.n_adc_saturated / res.n_adc_conversions
                if batch > 1:
                    target = (f"target <= {TARGET_RATIO:.0f}x: "
                              f"{'met' if ratio <= TARGET_RATIO else 'MISSED'}" if mode != "bit_serial"
                              else "no target")
                    print(f"{mode:10s} batch {batch} ({label:21s}): {per_vec_us:6.2f} us/vector; numpy float64 "
                          f"matmat: {base_us:5.2f} us/vector; ratio {ratio:5.2f}x ({target}); "
                          f"ADC saturated {sat:.2%}")
                else:
                    target = (f"target <= {TARGET_BATCH1_US:.0f} us: "
                              f"{'met' if per_vec_us <= TARGET_BATCH1_US else 'MISSED'}"
                              if mode != "bit_serial" else "no target")
                    print(f"{mode:10s} batch 1 ({label:21s}): {per_vec_us:6.2f} us total; numpy float64 "
                          f"matvec x @ G: {base_us:5.2f} us; ratio {ratio:5.2f}x ({target})")
            draws_s = _best_s(lambda: (rng.standard_normal(rs), rng.standard_normal(as_)),
                              max(1, inner // 3) if batch > 1 else 100, 3)
            print(f"{'':10s} caller's draws for {mode} batch {batch} (2 x {int(np.prod(rs))} standard "
                  f"normals, not included above): {draws_s / batch * 1e6:.2f} us/vector")


if __name__ == "__main__":
    main()
