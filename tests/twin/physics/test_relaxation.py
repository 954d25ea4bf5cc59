"""Lazy relaxation kernel against its numpy reference."""

import numpy as np
import pytest

from twin.physics import relaxation
from twin.physics.reference import relaxation as reference


@pytest.mark.parametrize("since_ps", [-(2**62), 5 * 10**12])
@pytest.mark.parametrize("n", [1, 13, 5000])
def test_relaxed_conductance_matches_reference(n, since_ps):
    rng = np.random.default_rng(n)
    g = rng.uniform(1, 40, n).astype(np.float32)
    d = rng.normal(0, 3, n).astype(np.float32)
    tp = rng.integers(0, 10**13, n)
    tp[::11] = -1
    now = 10**13
    out1 = rng.uniform(1, 40, n)
    out2 = out1.copy()
    changed = np.empty(g.size, dtype=np.int64)
    k = relaxation.relaxed_conductance_us(g, d, tp, now, 2e11, 4e12, since_ps, out1, changed)
    want = reference.relaxed_conductance_us(g, d, tp, now, 2e11, 4e12, since_ps, out2)
    np.testing.assert_array_equal(changed[:k], want)
    np.testing.assert_allclose(out1, out2, rtol=1e-12)


def test_relaxation_follows_the_exponential_and_settles_exactly():
    g = np.array([10.0], np.float32)
    d = np.array([2.0], np.float32)
    tp = np.array([0], np.int64)
    out = np.empty(1)
    for t_ps, want in ((0, 10.0), (2 * 10**11, 10.0 + 2.0 * (1 - np.exp(-1))), (4 * 10**12, 12.0)):
        relaxation.relaxed_conductance_us(g, d, tp, t_ps, 2e11, 4e12, -(2**62), out, np.empty(g.size, dtype=np.int64))
        assert out[0] == pytest.approx(want, rel=1e-12)
