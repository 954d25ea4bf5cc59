"""The one-pass copy-and-range-check kernel against numpy."""

import numpy as np
import pytest

from twin.physics.scan import copy_in_range


def reference(src: np.ndarray, lo: float, hi: float) -> tuple[np.ndarray, bool]:
    return src.copy(), bool(np.all((src >= lo) & (src <= hi)))


@pytest.mark.parametrize("values", [
    [], [0.0], [-1.0, 1.0], [1.0000000000000002], [-1.5, 0.0], [0.3, np.nan, 0.1], [np.inf], [-np.inf, 0.0],
    [-0.0, 0.5, -1.0], list(np.random.default_rng(0).uniform(-1, 1, 1000)),
    list(np.random.default_rng(1).uniform(-1.01, 1, 1000)),
])
def test_copy_in_range_matches_numpy(values):
    src = np.array(values, dtype=np.float64)
    dst = np.full(src.size, 7.0)
    ok = copy_in_range(src, dst, -1.0, 1.0)
    want_copy, want_ok = reference(src, -1.0, 1.0)
    assert ok is want_ok
    np.testing.assert_array_equal(dst, want_copy)
    assert np.array_equal(np.signbit(dst), np.signbit(want_copy))  # -0.0 stays -0.0


def test_copy_in_range_in_place():
    x = np.array([0.25, -2.0, 0.5])
    assert copy_in_range(x, x, -1.0, 1.0) is False
    np.testing.assert_array_equal(x, [0.25, -2.0, 0.5])
