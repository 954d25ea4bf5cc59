"""Quantizers: uniform and custom level tables, nearest-level classification, errors."""

import numpy as np
import pytest

import twin
from firmware.quantize import Levels, device_levels, uniform_levels


def test_uniform_levels_include_both_ends_with_equal_spacing():
    levels = uniform_levels(1.0, 40.0, 14)
    assert levels.n == 14 and levels.range_us == (1.0, 40.0)
    np.testing.assert_allclose(levels.spacing_us, 3.0)


def test_quantize_maps_values_linearly_and_rounds_to_the_nearest_level():
    levels = uniform_levels(0.0, 30.0, 4)  # 0, 10, 20, 30
    idx = levels.quantize(np.array([-1.0, -0.4, 0.1, 0.6, 1.0]), lo=-1.0, hi=1.0)
    assert idx.tolist() == [0, 1, 2, 2, 3]
    assert levels.targets_us(idx).tolist() == [0.0, 10.0, 20.0, 20.0, 30.0]
    assert levels.quantize(np.array([6.0, 100.0]), lo=0.0, hi=10.0).tolist() == [2, 3]  # clipped


def test_custom_table_and_nearest():
    levels = Levels([1.0, 2.0, 8.0])
    assert levels.nearest(np.array([0.0, 1.6, 4.9, 5.1, 99.0])).tolist() == [0, 1, 1, 2, 2]


def test_device_levels_follow_the_spec_range_with_a_margin():
    spec = twin.load_spec("kim2021")
    levels = device_levels(spec, 8, margin=0.05)
    assert levels.range_us == pytest.approx((7.25, 47.75))


@pytest.mark.parametrize("table, message", [([1.0], "at least 2 levels"), ([1.0, 1.0], "strictly increasing"),
                                            ([1.0, np.nan], "finite")])
def test_bad_tables_raise(table, message):
    with pytest.raises(ValueError, match=message):
        Levels(table)


def test_bad_arguments_say_what_was_given():
    with pytest.raises(ValueError, match="integer >= 2, not 1"):
        uniform_levels(1.0, 2.0, 1)
    with pytest.raises(ValueError, match="g_lo_us < g_hi_us"):
        uniform_levels(3.0, 2.0, 4)
    with pytest.raises(ValueError, match="NaN"):
        uniform_levels(1.0, 2.0, 4).quantize(np.array([np.nan]))
    with pytest.raises(ValueError, match=r"\[0, 3\]"):
        uniform_levels(1.0, 2.0, 4).targets_us(np.array([4]))
