"""Tests of twin.physics.converters (DAC/ADC transfer functions) against hand values and the reference."""

import numpy as np
import pytest

from twin.physics import converters as cv
from twin.physics.reference import converters as ref


# ------------------------------------------------------------------------------------------ DAC


def test_dac_code_max():
    assert cv.dac_code_max(2) == 1
    assert cv.dac_code_max(8) == 127
    with pytest.raises(ValueError):
        cv.dac_code_max(1)


def test_dac_encode_hand_cases():
    # 4 bits: code_max 7, round half away from zero, |x| > 1 clipped and counted.
    x = np.array([[1.0, -1.0, 0.0, 0.5, -0.5, 1.5, -3.0, 0.07, -0.0714, 1.0 / 7.0]])
    codes, n_clipped = cv.dac_encode(x, 4)
    assert codes.dtype == np.int64
    assert codes.tolist() == [[7, -7, 0, 4, -4, 7, -7, 0, 0, 1]]
    assert n_clipped == 2
    codes1, n1 = cv.dac_encode(np.array([0.3, -2.0]), 8)
    assert codes1.shape == (2,) and codes1.tolist() == [38, -127] and n1 == 1


def test_dac_encode_matches_reference_any_layout():
    rng = np.random.default_rng(1)
    x = rng.uniform(-1.3, 1.3, (40, 17))
    for bits in (2, 5, 8, 12):
        got = cv.dac_encode(np.asfortranarray(x), bits)
        want = ref.dac_encode(x, bits)
        np.testing.assert_array_equal(got[0], want[0])
        assert got[1] == want[1]
    got = cv.dac_encode(x[:, ::2], 8)
    np.testing.assert_array_equal(got[0], ref.dac_encode(x[:, ::2], 8)[0])


def test_bit_planes_reconstruct_codes():
    rng = np.random.default_rng(2)
    codes = rng.integers(-127, 128, (5, 9))
    planes = cv.bit_planes(codes, 8)
    assert planes.shape == (7, 5, 9)
    np.testing.assert_array_equal(planes, ref.bit_planes(codes, 8))
    recon = sum((1 << p) * planes[p].astype(np.int64) for p in range(7))
    np.testing.assert_array_equal(recon, codes)


def test_conversion_counts():
    assert cv.reads_per_vector("bit_serial", 8) == 7
    assert cv.reads_per_vector("pwm", 8) == 1
    assert cv.reads_per_vector("amplitude", 4) == 1
    assert cv.adc_conversions_per_column("bit_serial", 6) == 5
    assert cv.adc_conversions_per_vector("bit_serial", 8, 256) == 7 * 256
    assert cv.adc_conversions_per_vector("pwm", 8, 256) == 256
    assert cv.adc_conversions_per_vector("pwm", 8, 256, "digital") == 256
    assert cv.adc_conversions_per_vector("amplitude", 8, 256, "analog") == 128
    assert cv.adc_conversions_per_vector("bit_serial", 4, 10, "analog") == 15
    with pytest.raises(ValueError):
        cv.adc_conversions_per_vector("pwm", 8, 5, "analog")
    with pytest.raises(ValueError):
        cv.reads_per_vector("thermometer", 8)


# ------------------------------------------------------------------------------------------ ADC


def test_adc_transfer_hand_cases():
    # 3 bits over [0, 7] µA: lsb = 1 µA, codes 0..7 reconstruct to 0..7 µA.
    i_ua = np.array([[0.0, 7.0, 3.49, 3.5, -0.4, -0.6, 7.4, 7.6, 100.0]])
    codes, est, n_sat = cv.adc_convert(i_ua, 3, 0.0, 7.0)
    assert codes.tolist() == [[0, 7, 3, 4, 0, 0, 7, 7, 7]]
    np.testing.assert_array_equal(est, codes.astype(float))
    assert n_sat == 3  # -0.6, 7.6, 100 are outside [i_min - lsb/2, i_max + lsb/2)
    assert cv.adc_lsb_ua(3, 0.0, 7.0) == 1.0


def test_adc_range_edges_reconstruct_exactly():
    for bits, lo, hi in ((8, -3.0, 5.0), (6, 0.0, 1.7), (12, -250.0, 250.0)):
        codes, est, n_sat = cv.adc_convert(np.array([lo, hi]), bits, lo, hi)
        assert codes.tolist() == [0, (1 << bits) - 1]
        assert est[0] == lo and est[1] == pytest.approx(hi, rel=1e-15, abs=1e-12)
        assert n_sat == 0


def test_adc_offset_gain_noise_hand_cases():
    # lsb = 1 µA; seen = (1 + gain) · i + offset + noise · z.
    codes, _, _ = cv.adc_convert(np.array([2.0]), 3, 0.0, 7.0, offset_ua=1.0)
    assert codes.tolist() == [3]
    codes, _, _ = cv.adc_convert(np.array([5.0]), 3, 0.0, 7.0, gain_error=0.1)
    assert codes.tolist() == [6]  # 5.5 rounds up
    codes, _, _ = cv.adc_convert(np.array([5.0]), 3, 0.0, 7.0, gain_error=-0.1)
    assert codes.tolist() == [5]  # 4.5 rounds up to 5
    codes, _, n_sat = cv.adc_convert(np.array([2.0, 6.0]), 3, 0.0, 7.0, noise_ua=0.5,
                                     noise_draws=np.array([2.0, 4.0]))
    assert codes.tolist() == [3, 7] and n_sat == 1
    with pytest.raises(ValueError):
        cv.adc_convert(np.array([2.0]), 3, 0.0, 7.0, noise_ua=0.5)


def test_adc_inverse_map():
    codes = np.array([[0, 1, 128, 255]])
    est = cv.adc_code_to_current_ua(codes, 8, -10.0, 10.0)
    lsb = 20.0 / 255.0
    np.testing.assert_allclose(est, [[-10.0, -10.0 + lsb, -10.0 + 128 * lsb, 10.0]], rtol=0, atol=1e-12)
    np.testing.assert_array_equal(est, ref.adc_code_to_current_ua(codes, 8, -10.0, 10.0))
    # Round trip: converting a reconstruction level gives back its code.
    back, _, _ = cv.adc_convert(est, 8, -10.0, 10.0)
    np.testing.assert_array_equal(back, codes)


def test_adc_bipolar_range_has_zero_level():
    for bits in (4, 8, 10):
        lo, hi = cv.adc_bipolar_range_ua(64.0, bits)
        codes, est, _ = cv.adc_convert(np.array([0.0, -64.0, 200.0]), bits, lo, hi)
        assert codes[0] == 1 << (bits - 1) and est[0] == 0.0
        assert codes[1] == 0 and codes[2] == (1 << bits) - 1


def test_adc_convert_matches_reference():
    rng = np.random.default_rng(3)
    i_ua = rng.normal(0.0, 30.0, (33, 12))
    z = rng.standard_normal(i_ua.shape)
    kw = dict(offset_ua=0.7, gain_error=-0.02, noise_ua=1.5, noise_draws=z)
    got = cv.adc_convert(np.asfortranarray(i_ua), 6, -40.0, 40.0, **kw)
    want = ref.adc_convert(i_ua, 6, -40.0, 40.0, **kw)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])
    assert got[2] == want[2] > 0


def test_adc_code_f_is_the_one_quantize_step():
    """The per-element formula the ADC kernel and the MVM kernels share: code and saturation of a seen current."""
    from twin.physics._numerics import adc_code_f

    for i_seen, want in ((0.0, (0.0, False)), (3.49, (3.0, False)), (3.5, (4.0, False)), (-0.4, (0.0, False)),
                         (-0.6, (0.0, True)), (7.4, (7.0, False)), (7.6, (7.0, True))):
        assert adc_code_f(i_seen, 0.0, 1.0, 7.0) == want


def test_adc_convert_reports_each_saturation():
    i_ua = np.array([[0.0, 7.0, 3.49, -0.6, 7.6, 100.0]])
    saturated = np.empty(i_ua.shape, dtype=bool)
    codes, _, n_sat = cv.adc_convert(i_ua, 3, 0.0, 7.0, saturated=saturated)
    assert saturated.tolist() == [[False, False, False, True, True, True]] and n_sat == 3
    with pytest.raises(ValueError):
        cv.adc_convert(i_ua, 3, 0.0, 7.0, saturated=np.empty(6, dtype=bool))


def test_adc_setting_names_one_converter():
    adc = cv.AdcSetting(3, 0.0, 7.0, offset_ua=0.5)
    assert adc.lsb_ua == 1.0 and (adc.gain_error, adc.noise_ua) == (0.0, 0.0)
    assert adc == cv.AdcSetting(3, 0.0, 7.0, 0.5) and hash(adc) == hash(cv.AdcSetting(3, 0.0, 7.0, 0.5))
    with pytest.raises(ValueError):
        cv.AdcSetting(3, 7.0, 0.0)
    with pytest.raises(ValueError):
        cv.AdcSetting(0, 0.0, 7.0)


def test_modes_are_one_table_with_the_spec():
    from twin.physics import modes
    from twin.spec import chipspec

    assert chipspec.INPUT_MODES is modes.INPUT_MODES and chipspec.DIFFERENTIAL_MODES is modes.PAIR_MODES
    assert [cv.input_mode_id(m) for m in modes.INPUT_MODES] == [0, 1, 2]
    assert [cv.pair_mode_id(m) for m in modes.PAIR_MODES] == [0, 1, 2]
    with pytest.raises(ValueError):
        cv.pair_mode_id(None)
