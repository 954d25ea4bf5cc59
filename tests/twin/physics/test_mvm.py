"""Tests of twin.physics.mvm (noisy analog MVM, quantized pipeline, differential pairs)."""

import hashlib
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from twin.physics import mvm
from twin.physics.converters import AdcSetting, dac_encode
from twin.physics.reference import converters as ref_converters
from twin.physics.reference import mvm as ref

REPO_ROOT = pathlib.Path(__file__).resolve().parents[3]
MODES = ("bit_serial", "pwm", "amplitude")
PAIRS = ("none", "analog", "digital")


def _array(rng, rows=24, cols=10):
    g_us = rng.uniform(1.0, 100.0, (rows, cols))
    var_g_us2 = (0.03 * g_us) ** 2
    return g_us, var_g_us2


def _draws(rng, mode, dac_bits, batch, cols, pair_mode):
    rs, as_ = mvm.noise_draw_shapes(mode, dac_bits, batch, cols, pair_mode)
    return rng.standard_normal(rs), rng.standard_normal(as_)


def test_iv_factor():
    assert ref.iv_factor(0.3, 0.0) == 1.0
    np.testing.assert_allclose(ref.iv_factor(np.array([0.0, 0.2, -0.2]), 2.0),
                               [1.0, np.sinh(0.4) / 0.4, np.sinh(0.4) / 0.4], rtol=1e-15)
    assert mvm.iv_factor_scalar(0.2, 2.0) == pytest.approx(np.sinh(0.4) / 0.4, rel=1e-15)


@pytest.mark.parametrize("mode", MODES)
def test_row_drive_matches_reference(mode):
    rng = np.random.default_rng(10)
    codes = rng.integers(-31, 32, (6, 11))
    got = mvm.row_drive_v(codes, mode, 6, 0.25, iv_nonlinearity_per_v=1.5)
    want = ref.row_drive_v(codes, mode, 6, 0.25, iv_nonlinearity_per_v=1.5)
    for a, b in zip(got, want):
        assert a.shape == b.shape == ((5 if mode == "bit_serial" else 1), 6, 11)
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=0)


def test_column_currents_and_power_match_reference():
    rng = np.random.default_rng(11)
    g_us, var = _array(rng)
    codes = rng.integers(-127, 128, (7, 24))
    drive, power = mvm.row_drive_v(codes, "bit_serial", 8, 0.2)
    z = rng.standard_normal((7, 7, 10))
    # The reference's explicit sums against the same formulas as matrix products.
    got = drive @ np.asfortranarray(g_us) + np.sqrt((drive * drive) @ var) * z
    np.testing.assert_allclose(got, ref.column_currents_ua(drive, g_us, var, z), rtol=1e-9)
    np.testing.assert_allclose(drive @ g_us, ref.column_currents_ua(drive, g_us),
                               rtol=1e-9)
    np.testing.assert_allclose((power @ g_us.sum(axis=1)).sum(axis=0), ref.cell_power_uw(power, g_us), rtol=1e-12)


@pytest.mark.parametrize("path", ["fused", "blas"])
@pytest.mark.parametrize("pair_mode", PAIRS)
@pytest.mark.parametrize("mode", MODES)
def test_quantized_mvm_matches_reference(mode, pair_mode, path):
    rng = np.random.default_rng(12)
    g_us, var = _array(rng)
    batch = 5
    x = rng.uniform(-1.1, 1.1, (batch, 24))
    zr, za = _draws(rng, mode, 6, batch, 10, pair_mode)
    # Narrow ADC range so that some conversions saturate.
    kw = dict(mode=mode, dac_bits=6, v_read_v=0.2,
              adc=AdcSetting(7, -60.0, 90.0, offset_ua=0.3, gain_error=0.01, noise_ua=0.4), iv_nonlinearity_per_v=2.0,
              pair_mode=pair_mode, read_noise_draws=zr, adc_noise_draws=za)
    got = mvm.quantized_mvm(x, g_us, var, path=path, **kw)
    y, n_sat, n_conv, power, n_clip = ref.quantized_mvm(x, g_us, var, **kw)
    assert got.y_ua.shape == y.shape
    np.testing.assert_allclose(got.y_ua, y, rtol=1e-12, atol=1e-12)
    assert got.n_adc_saturated == n_sat
    assert got.n_adc_conversions == n_conv
    assert got.n_dac_clipped == n_clip > 0
    np.testing.assert_allclose(got.cell_power_uw, power, rtol=1e-12)


@pytest.mark.parametrize("mode", MODES)
def test_saturations_counted(mode):
    rng = np.random.default_rng(13)
    g_us, var = _array(rng)
    x = rng.uniform(-1.0, 1.0, (3, 24))
    kw = dict(mode=mode, dac_bits=6, v_read_v=0.2, adc=AdcSetting(6, -20.0, 20.0))
    res = [mvm.quantized_mvm(x, g_us, None, path=p, **kw) for p in ("fused", "blas")]
    want = ref.quantized_mvm(x, g_us, None, **kw)
    assert res[0].n_adc_saturated == res[1].n_adc_saturated == want[1] > 0


@pytest.mark.parametrize("mode", MODES)
def test_paths_agree_noise_free_and_any_layout(mode):
    rng = np.random.default_rng(14)
    g_us, var = _array(rng, 32, 16)
    x = rng.uniform(-1, 1, (16, 32))
    zr, za = _draws(rng, mode, 8, 16, 16, "none")
    kw = dict(mode=mode, dac_bits=8, v_read_v=0.2, adc=AdcSetting(10, -200.0, 200.0, noise_ua=0.1),
              read_noise_draws=zr, adc_noise_draws=za)
    a = mvm.quantized_mvm(x, g_us, var, path="fused", **kw)
    b = mvm.quantized_mvm(np.asfortranarray(x), np.asfortranarray(g_us), var.T.copy().T, path="blas",
                          **{**kw, "read_noise_draws": np.asfortranarray(zr)})
    np.testing.assert_allclose(a.y_ua, b.y_ua, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(a.cell_power_uw, b.cell_power_uw, rtol=1e-12)
    single = mvm.quantized_mvm(x[3], g_us, var, **{**kw, "read_noise_draws": zr[:, 3:4],
                                                    "adc_noise_draws": za[:, 3:4]})
    assert single.y_ua.shape == (16,)
    np.testing.assert_allclose(single.y_ua, a.y_ua[3], rtol=1e-12, atol=1e-12)


def test_bit_serial_ideal_adc_equals_integer_mvm():
    """Integer conductances, v_read = 1 V, lsb = 1 µA, no noise: shift-and-add is exact."""
    rng = np.random.default_rng(15)
    g_us = rng.integers(0, 16, (40, 12)).astype(float)
    x = rng.uniform(-1, 1, (9, 40))
    codes, _ = dac_encode(x, 8)
    kw = dict(mode="bit_serial", dac_bits=8, v_read_v=1.0, adc=AdcSetting(21, -(2.0 ** 20), 2.0 ** 20 - 1))
    exact = codes @ g_us.astype(np.int64)
    for path in ("fused", "blas"):
        res = mvm.quantized_mvm(x, g_us, None, path=path, **kw)
        np.testing.assert_array_equal(np.rint(res.y_ua * 127), exact)
        np.testing.assert_allclose(res.y_ua * 127, exact, rtol=0, atol=1e-9)
        assert res.n_adc_saturated == 0 and res.n_adc_conversions == 9 * 7 * 12


def test_modes_estimate_the_analog_mvm():
    """Noise-free, fine ADC: every mode estimates (code/code_max · v_read) @ g."""
    rng = np.random.default_rng(16)
    g_us, _ = _array(rng, 64, 8)
    x = rng.uniform(-1, 1, (4, 64))
    codes, _ = dac_encode(x, 8)
    want = (codes / 127 * 0.2) @ g_us
    lsb = 1e-3
    for mode in MODES:
        res = mvm.quantized_mvm(x, g_us, None, mode=mode, dac_bits=8, v_read_v=0.2,
                                adc=AdcSetting(24, -lsb * 2 ** 23, lsb * (2 ** 23 - 1)))
        np.testing.assert_allclose(res.y_ua, want, rtol=0, atol=lsb)


def test_cell_power_by_mode():
    g_us = np.full((2, 3), 10.0)
    x = np.array([[1.0, -0.5]])
    codes, _ = dac_encode(x, 8)  # 127, -64
    kw = dict(dac_bits=8, v_read_v=0.2, adc=AdcSetting(8, -50.0, 50.0))
    amp = mvm.quantized_mvm(x, g_us, None, mode="amplitude", **kw).cell_power_uw
    pwm = mvm.quantized_mvm(x, g_us, None, mode="pwm", **kw).cell_power_uw
    bit = mvm.quantized_mvm(x, g_us, None, mode="bit_serial", **kw).cell_power_uw
    row_g = 30.0
    np.testing.assert_allclose(amp, [0.04 * row_g * (1 + (64 / 127) ** 2)], rtol=1e-12)
    np.testing.assert_allclose(pwm, [0.04 * row_g * (1 + 64 / 127)], rtol=1e-12)
    # bit planes set: 127 -> 7 planes, 64 -> 1 plane.
    np.testing.assert_allclose(bit, [0.04 * row_g * (7 + 1)], rtol=1e-12)


def test_read_noise_statistics():
    """Per-(vector, column) draws give exactly the per-cell noise variance sum_i v_i² var_ij."""
    rng = np.random.default_rng(17)
    rows, cols, n = 16, 4, 20000
    g_us = rng.uniform(10.0, 50.0, (rows, cols))
    var = (rng.uniform(0.02, 0.1, (rows, cols)) * g_us) ** 2
    x = np.tile(rng.uniform(-1, 1, rows), (n, 1))
    zr, _ = _draws(rng, "amplitude", 8, n, cols, "none")
    kw = dict(mode="amplitude", dac_bits=8, v_read_v=0.2, adc=AdcSetting(24, -2.0 ** 13, 2.0 ** 13 - 2.0 ** -10))
    y = mvm.quantized_mvm(x, g_us, var, read_noise_draws=zr, **kw).y_ua
    codes, _ = dac_encode(x[:1], 8)
    v = codes[0] / 127 * 0.2
    mean_want = v @ g_us
    var_want = (v ** 2) @ var
    # Sample mean within 5 standard errors; sample variance within 5 % (its rel. s.e. is sqrt(2/n) = 1 %).
    assert np.all(np.abs(y.mean(axis=0) - mean_want) < 5 * np.sqrt(var_want / n))
    np.testing.assert_allclose(y.var(axis=0, ddof=1), var_want, rtol=0.05)
    # Same distribution as explicit per-cell noise (independent draw per cell per vector).
    g_noisy = g_us + np.sqrt(var) * rng.standard_normal((n, rows, cols))
    y_cell = np.einsum("i,nij->nj", v, g_noisy)
    np.testing.assert_allclose(y_cell.var(axis=0, ddof=1), var_want, rtol=0.05)


def test_float32_variance_stays_within_noise_accuracy():
    rng = np.random.default_rng(18)
    g_us, var = _array(rng, 64, 16)
    x = rng.uniform(-1, 1, (20, 64))
    zr, _ = _draws(rng, "pwm", 8, 20, 16, "none")
    kw = dict(mode="pwm", dac_bits=8, v_read_v=0.2, adc=AdcSetting(24, -2.0 ** 12, 2.0 ** 12), read_noise_draws=zr)
    for path in ("fused", "blas"):
        a = mvm.quantized_mvm(x, g_us, var, path=path, **kw).y_ua
        b = mvm.quantized_mvm(x, g_us, var.astype(np.float32), path=path, **kw).y_ua
        clean = mvm.quantized_mvm(x, g_us, None, path=path, **kw).y_ua
        # The noise term changes by < 1e-5 of itself: float32 variance (2^-24 relative) summed in float32
        # (fused: <= 64 terms, <= 63 · 2^-24 relative; blas: sgemm).
        np.testing.assert_allclose(b - clean, a - clean, rtol=1e-5, atol=2 * 2.0 ** 13 / 2 ** 24)


def _ref_f32_noise_mvm(x, g_us, var32, zr, *, dac_bits, v_read_v, adc):
    """pwm, no pairs, no ADC noise: the fused kernel's arithmetic with a float32 variance, row by row —
    currents summed in float64 in row order, noise variance as float32 products ``float32(u²) · var``
    summed in float32 in row order."""
    codes, _ = dac_encode(x, dac_bits)
    drive = ref.row_drive_v(codes, "pwm", dac_bits, v_read_v)[0][0]  # (batch, rows)
    y = np.empty((x.shape[0], g_us.shape[1]))
    for b in range(x.shape[0]):
        i_ua = np.zeros(g_us.shape[1])
        s32 = np.zeros(g_us.shape[1], dtype=np.float32)
        for i in range(g_us.shape[0]):
            u = drive[b, i]
            if u != 0.0:
                i_ua = i_ua + u * g_us[i].astype(np.float64)
                s32 = s32 + np.float32(u * u) * var32[i]
        current = i_ua + np.sqrt(s32.astype(np.float64)) * zr[0, b]
        y[b] = ref_converters.adc_convert(current, adc.bits, adc.i_min_ua, adc.i_max_ua)[1]
    return y


def test_float32_variance_is_summed_in_float32_as_documented():
    """Fused path, float32 variance: the exact float32 arithmetic of the docs (checked against a row-by-row
    reference at an ADC resolution where float32 rounding of the noise term is visible)."""
    rng = np.random.default_rng(30)
    g_us = rng.uniform(1.0, 10.0, (64, 24))
    var32 = ((0.5 * g_us) ** 2).astype(np.float32)
    x = rng.uniform(-1, 1, (6, 64))
    x[:, ::7] = 0.0  # rows with zero drive are skipped
    zr, _ = _draws(rng, "pwm", 8, 6, 24, "none")
    adc = dict(dac_bits=8, v_read_v=0.2, adc=AdcSetting(32, -128.0, 128.0))
    lsb = 256.0 / (2 ** 32 - 1)
    got = mvm.quantized_mvm(x, g_us, var32, mode="pwm", read_noise_draws=zr, path="fused", **adc).y_ua
    want = _ref_f32_noise_mvm(x, g_us, var32, zr, **adc)
    assert np.max(np.abs(got - want)) <= lsb  # equal codes (a decision threshold hit could flip one LSB)
    assert np.mean(got == want) > 0.99
    # ... and float32 sums do matter at this resolution: summing the same float32 variance in float64 differs.
    f64_sums = mvm.quantized_mvm(x, g_us, var32.astype(np.float64), mode="pwm", read_noise_draws=zr,
                                 path="fused", **adc).y_ua
    assert np.max(np.abs(f64_sums - want)) > 3 * lsb


@pytest.mark.parametrize("path", ["fused", "blas"])
@pytest.mark.parametrize("pair_mode", PAIRS)
@pytest.mark.parametrize("mode", MODES)
def test_float32_conductance_is_the_mvm_of_the_widened_matrix(mode, pair_mode, path):
    """A float32 g gives bit for bit the MVM of g.astype(float64) (products and sums stay float64), with
    or without its row sums, and differs from the float64 g's MVM only by the rounding of g to float32."""
    rng = np.random.default_rng(31)
    g_us, var = _array(rng, 40, 12)
    g32 = mvm.conductance_f32_us(g_us)
    x = rng.uniform(-1.0, 1.0, (5, 40))
    zr, za = _draws(rng, mode, 6, 5, 12, pair_mode)
    kw = dict(mode=mode, dac_bits=6, v_read_v=0.2,
              adc=AdcSetting(7, -60.0, 90.0, offset_ua=0.3, gain_error=0.01, noise_ua=0.4), iv_nonlinearity_per_v=2.0,
              pair_mode=pair_mode, read_noise_draws=zr, adc_noise_draws=za, path=path)
    widened = mvm.quantized_mvm(x, g32.astype(np.float64), var, **kw)
    for rowsum in (None, mvm.conductance_rowsum_us(g32)):
        got = mvm.quantized_mvm(x, g32, var, g_rowsum_us=rowsum, **kw)
        assert got.y_ua.tobytes() == widened.y_ua.tobytes()
        assert (got.n_adc_saturated, got.n_adc_conversions, got.n_dac_clipped) == (
            widened.n_adc_saturated, widened.n_adc_conversions, widened.n_dac_clipped)
        np.testing.assert_allclose(got.cell_power_uw, widened.cell_power_uw, rtol=1e-13)
        if rowsum is None or path == "blas":
            assert got.cell_power_uw.tobytes() == widened.cell_power_uw.tobytes()
    # Against the float64 matrix: |Δ current| <= 2^-24 · sum_i |u_i| g_ij (g rounded to float32), so with
    # a fine ADC the results differ by at most that plus one LSB.
    fine = dict(kw, adc=AdcSetting(32, -2.0 ** 10, 2.0 ** 10), adc_noise_draws=None, iv_nonlinearity_per_v=0.0)
    lsb = 2.0 ** 11 / (2 ** 32 - 1)
    a = mvm.quantized_mvm(x, g32, None, **dict(fine, read_noise_draws=None)).y_ua
    b = mvm.quantized_mvm(x, g_us, None, **dict(fine, read_noise_draws=None)).y_ua
    codes, _ = dac_encode(x, 6)
    reads = 5 if mode == "bit_serial" else 1
    bound = 2.0 ** -24 * (np.abs(codes) / 31 * 0.2) @ g_us  # (batch, cols)
    if pair_mode != "none":
        bound = bound[:, 0::2] + bound[:, 1::2]
    assert np.all(np.abs(a - b) <= bound + reads * 2 * lsb)
    assert np.max(np.abs(a - b)) > 2 * lsb  # the rounding is visible at this resolution


def test_row_sums_only_change_how_the_power_is_summed():
    rng = np.random.default_rng(32)
    g_us, var = _array(rng, 48, 16)
    x = rng.uniform(-1, 1, (20, 48))
    for mode in MODES:
        zr, za = _draws(rng, mode, 8, 20, 16, "none")
        kw = dict(mode=mode, dac_bits=8, v_read_v=0.2, adc=AdcSetting(8, -300.0, 300.0, noise_ua=0.5),
                  read_noise_draws=zr, adc_noise_draws=za)
        rowsum = mvm.conductance_rowsum_us(g_us)
        np.testing.assert_allclose(rowsum, g_us.sum(axis=1), rtol=1e-14)
        plain = mvm.quantized_mvm(x[:4], g_us, var, path="fused", **{**kw, "read_noise_draws": zr[:, :4],
                                                                     "adc_noise_draws": za[:, :4]})
        fused = mvm.quantized_mvm(x[:4], g_us, var, path="fused", g_rowsum_us=rowsum,
                                  **{**kw, "read_noise_draws": zr[:, :4], "adc_noise_draws": za[:, :4]})
        blas = mvm.quantized_mvm(x, g_us, var, path="blas", g_rowsum_us=rowsum, **kw)
        assert fused.y_ua.tobytes() == plain.y_ua.tobytes()
        np.testing.assert_allclose(fused.cell_power_uw, plain.cell_power_uw, rtol=1e-13)
        assert fused.cell_power_uw.tobytes() == blas.cell_power_uw[:4].tobytes()  # same formula
    with pytest.raises(ValueError):
        mvm.quantized_mvm(x, g_us, None, mode="pwm", dac_bits=8, v_read_v=0.2, adc=AdcSetting(8, -1.0, 1.0),
                          g_rowsum_us=np.ones(47))


def test_refreshed_float32_window_equals_a_fresh_one():
    rng = np.random.default_rng(33)
    g_us = rng.uniform(1.0, 100.0, (40, 50))
    for r0, r1, c0, c1 in ((0, 40, 0, 50), (5, 33, 7, 50), (0, 1, 3, 4)):
        g32 = mvm.conductance_f32_us(g_us[r0:r1, c0:c1])
        rowsum = mvm.conductance_rowsum_us(g32)
        for _ in range(5):
            cells = rng.integers(0, g_us.size, 30)
            cells = np.concatenate((cells, cells[:5]))  # repeats allowed
            g_us.flat[cells] = rng.uniform(1.0, 100.0, cells.size)
            rows, cols = np.divmod(cells, g_us.shape[1])
            inside = np.count_nonzero((rows >= r0) & (rows < r1) & (cols >= c0) & (cols < c1))
            assert mvm.refresh_conductance_f32_us(g_us, cells, g32, rowsum, origin=(r0, c0)) == inside
            fresh = mvm.conductance_f32_us(g_us[r0:r1, c0:c1])
            assert g32.tobytes() == fresh.tobytes()
            assert rowsum.tobytes() == mvm.conductance_rowsum_us(fresh).tobytes()
    g32 = mvm.conductance_f32_us(g_us)
    out = np.zeros(40)
    mvm.conductance_rowsum_us(g32, rows=np.array([3, 3, 0]), out=out)
    full = mvm.conductance_rowsum_us(g32)
    assert out[0] == full[0] and out[3] == full[3] and not out[1:3].any() and not out[4:].any()
    with pytest.raises(ValueError):
        mvm.conductance_rowsum_us(g32, rows=np.array([40]), out=out)


@pytest.mark.parametrize("mode", MODES)
def test_differential_pairs_analog_vs_digital(mode):
    rng = np.random.default_rng(19)
    g_us, var = _array(rng, 32, 8)
    x = rng.uniform(-1, 1, (6, 32))
    codes, _ = dac_encode(x, 6)
    i_plus_minus = (codes / 31 * 0.2) @ g_us
    want = i_plus_minus[:, 0::2] - i_plus_minus[:, 1::2]
    lsb = 0.01
    kw = dict(mode=mode, dac_bits=6, v_read_v=0.2, adc=AdcSetting(16, -lsb * 2 ** 15, lsb * (2 ** 15 - 1)))
    ana = mvm.quantized_mvm(x, g_us, None, pair_mode="analog", **kw)
    dig = mvm.quantized_mvm(x, g_us, None, pair_mode="digital", **kw)
    assert ana.y_ua.shape == dig.y_ua.shape == (6, 4)
    n_reads = 5 if mode == "bit_serial" else 1
    assert ana.n_adc_conversions == 6 * 4 * n_reads and dig.n_adc_conversions == 6 * 8 * n_reads
    tol = lsb * (2 if mode == "bit_serial" else 1)
    np.testing.assert_allclose(ana.y_ua, want, rtol=0, atol=tol)
    np.testing.assert_allclose(dig.y_ua, want, rtol=0, atol=tol)
    # pair_convert on the analog layer agrees with the fused pipeline for single-read modes.
    if mode != "bit_serial":
        drive, _ = mvm.row_drive_v(codes, mode, 6, 0.2)
        i_ua = ref.column_currents_ua(drive[0], g_us)
        for pm, res in (("analog", ana), ("digital", dig)):
            _, est, _ = mvm.pair_convert(i_ua, pm, kw["adc"])
            np.testing.assert_allclose(est, res.y_ua, rtol=0, atol=1e-9)


def test_pair_convert_hand_case():
    i_ua = np.array([[5.0, 2.0, 1.0, 4.0]])
    codes, est, n_sat = mvm.pair_convert(i_ua, "analog", AdcSetting(4, -7.5, 7.5))  # lsb 1 µA, zero at 7.5
    # Levels at -7.5 + k µA: +3 and -3 are rounding ties, both rounded up (to 3.5 and -2.5).
    np.testing.assert_allclose(est, [[3.5, -2.5]])
    assert codes.tolist() == [[11, 5]] and n_sat == 0
    codes, est, n_sat = mvm.pair_convert(i_ua, "digital", AdcSetting(3, 0.0, 7.0))
    assert codes.tolist() == [[3, -3]] and est.tolist() == [[3.0, -3.0]] and n_sat == 0


def test_input_validation():
    g_us = np.ones((4, 4))
    x = np.zeros((2, 4))
    base = dict(mode="pwm", dac_bits=8, v_read_v=0.2, adc=AdcSetting(8, -1.0, 1.0))
    with pytest.raises(ValueError):
        mvm.quantized_mvm(x, g_us, np.ones((4, 4)), **base)  # read noise without draws
    with pytest.raises(ValueError):
        mvm.quantized_mvm(x, g_us, None, **{**base, "adc": AdcSetting(8, -1.0, 1.0, noise_ua=0.1)})
    with pytest.raises(ValueError):
        mvm.quantized_mvm(x, g_us, np.ones((4, 4)), read_noise_draws=np.zeros((2, 4)), **base)
    with pytest.raises(ValueError):
        mvm.quantized_mvm(np.zeros((2, 3)), g_us, None, **base)
    with pytest.raises(ValueError):
        mvm.quantized_mvm(x, g_us, None, **{**base, "mode": "pulse"})


_THREAD_SCRIPT = """
import hashlib, numpy as np
from twin.physics import mvm
from twin.physics.converters import AdcSetting
rng = np.random.default_rng(5)
g = rng.uniform(1, 100, (64, 32)); var = (0.02 * g) ** 2
h = hashlib.sha256()
for mode in ("bit_serial", "pwm", "amplitude"):
    for batch, path in ((3, "fused"), (40, "blas")):
        x = rng.uniform(-1, 1, (batch, 64))
        rs, as_ = mvm.noise_draw_shapes(mode, 8, batch, 32, "analog")
        r = mvm.quantized_mvm(x, g, var, mode=mode, dac_bits=8, v_read_v=0.2,
                              adc=AdcSetting(8, -300, 300, noise_ua=0.5), pair_mode="analog",
                              read_noise_draws=rng.standard_normal(rs),
                              adc_noise_draws=rng.standard_normal(as_), path=path)
        h.update(r.y_ua.tobytes()); h.update(r.cell_power_uw.tobytes())
        h.update(str((r.n_adc_saturated, r.n_adc_conversions, r.n_dac_clipped)).encode())
        g32 = mvm.conductance_f32_us(g)
        r = mvm.quantized_mvm(x, g32, mvm.noise_variance_f32_us2(var), mode=mode, dac_bits=8, v_read_v=0.2,
                              adc=AdcSetting(8, -300, 300), read_noise_draws=rng.standard_normal(rs),
                              g_rowsum_us=mvm.conductance_rowsum_us(g32), path=path)
        h.update(r.y_ua.tobytes()); h.update(r.cell_power_uw.tobytes())
print(h.hexdigest())
"""


def test_bit_identical_across_numba_thread_counts():
    digests = []
    for n_threads in ("1", "2"):
        env = dict(os.environ, NUMBA_NUM_THREADS=n_threads, PYTHONPATH=str(REPO_ROOT))
        out = subprocess.run([sys.executable, "-c", _THREAD_SCRIPT], env=env, cwd=REPO_ROOT,
                             capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr
        digests.append(out.stdout.strip())
    assert digests[0] == digests[1] and len(digests[0]) == 64
    assert hashlib.sha256(b"").hexdigest() not in digests


def test_kernel_mode_ids_are_the_index_in_the_mode_tables():
    from twin.physics import _mvm_kernels as kernels
    from twin.physics.modes import INPUT_MODES, PAIR_MODES

    assert (kernels.MODE_BIT_SERIAL, kernels.MODE_PWM, kernels.MODE_AMPLITUDE) == tuple(
        INPUT_MODES.index(m) for m in ("bit_serial", "pwm", "amplitude"))
    assert (kernels.PAIR_NONE, kernels.PAIR_ANALOG, kernels.PAIR_DIGITAL) == tuple(
        PAIR_MODES.index(m) for m in ("none", "analog", "digital"))


def test_a_workspace_only_saves_allocations():
    """The BLAS path gives the same bytes with a caller's workspace (reused across shapes) as with fresh arrays."""
    rng = np.random.default_rng(34)
    work = mvm.MvmWorkspace()
    for batch, rows, cols in ((20, 24, 10), (12, 40, 16), (30, 24, 10)):
        g_us, var = _array(rng, rows, cols)
        x = rng.uniform(-1, 1, (batch, rows))
        for var_form in (var, mvm.noise_variance_f32_us2(var)):
            zr, za = _draws(rng, "bit_serial", 6, batch, cols, "digital")
            kw = dict(mode="bit_serial", dac_bits=6, v_read_v=0.2, adc=AdcSetting(7, -60.0, 90.0, noise_ua=0.4),
                      pair_mode="digital", read_noise_draws=zr, adc_noise_draws=za, path="blas")
            fresh = mvm.quantized_mvm(x, mvm.conductance_f32_us(g_us), var_form, **kw)
            reused = mvm.quantized_mvm(x, mvm.conductance_f32_us(g_us), var_form, workspace=work, **kw)
            assert reused.y_ua.tobytes() == fresh.y_ua.tobytes()
            assert reused.cell_power_uw.tobytes() == fresh.cell_power_uw.tobytes()
