"""Read-noise and telegraph-noise kernels against their numpy references, and their statistics."""

import numpy as np
import pytest

from twin.physics import read
from twin.physics.reference import read as reference


@pytest.mark.parametrize("n", [1, 7, 1000])
def test_read_noise_var_matches_reference(n):
    g = np.random.default_rng(n).uniform(0, 100, n)
    out = np.empty(n)
    read.read_noise_var_us2(g, 0.05, 0.005, out)
    np.testing.assert_allclose(out, reference.read_noise_var_us2(g, 0.05, 0.005), rtol=1e-12)
    assert out[0] == pytest.approx((0.05 + 0.005 * g[0]) ** 2)


def rtn_state(rng, n):
    level = (rng.choice([-1.0, 1.0], n) * rng.uniform(0, 1.5, n)).astype(np.float32)
    level[::17] = 0.0
    return level, rng.integers(0, 10**10, n), np.exp(rng.normal(np.log(1e10), 1, n)).astype(np.float32)


@pytest.mark.parametrize("n_cells, n", [(1, 1), (40, 25), (3000, 3000)])
def test_telegraph_matches_reference(n_cells, n):
    rng = np.random.default_rng(n)
    level, t_rtn, tau = rtn_state(rng, n_cells)
    idx = rng.permutation(n_cells)[:n].astype(np.int64)
    g = rng.uniform(0, 40, n)
    u = rng.random(n)
    now = 2 * 10**10
    lv1, t1, out = level.copy(), t_rtn.copy(), np.empty(n)
    read.telegraph_us(idx, now, g, lv1, t1, tau, u, 1.0, 0.5, 40.0, out)
    lv2, t2 = level.copy(), t_rtn.copy()
    want = reference.telegraph_us(idx, now, g, lv2, t2, tau, u, 1.0, 0.5, 40.0)
    np.testing.assert_allclose(out, want, rtol=1e-12)
    np.testing.assert_array_equal(lv1, lv2)
    np.testing.assert_array_equal(t1, t2)
    if n == n_cells:  # the all-cells kernel is the same computation
        lv3, t3, out3 = level.copy(), t_rtn.copy(), np.empty(n)
        g_all = np.empty(n_cells)
        g_all[idx] = g
        u_all = np.empty(n_cells)
        u_all[idx] = u
        read.telegraph_all_us(now, g_all, lv3, t3, tau, u_all, 1.0, 0.5, 40.0, out3)
        np.testing.assert_allclose(out3[idx], out, rtol=1e-12)


def test_telegraph_is_two_level_with_the_markov_flip_probability():
    """Offsets take ±½·A·m only; after Δt = τ a fraction ½(1 − e^−2) ≈ 0.432 of the cells flipped (±0.01)."""
    rng = np.random.default_rng(3)
    n = 100_000
    level = np.ones(n, np.float32)
    t_rtn = np.zeros(n, np.int64)
    tau = np.full(n, 1e9, np.float32)
    out = np.empty(n)
    read.telegraph_all_us(10**9, np.full(n, 40.0), level, t_rtn, tau, rng.random(n), 2.0, 0.5, 40.0, out)
    assert set(np.unique(out)) == {-1.0, 1.0}
    assert np.mean(out < 0) == pytest.approx(0.5 * (1 - np.exp(-2)), abs=0.01)
    # a second evaluation at the same time changes nothing
    out2 = np.empty(n)
    read.telegraph_all_us(10**9, np.full(n, 40.0), level, t_rtn, tau, rng.random(n), 2.0, 0.5, 40.0, out2)
    np.testing.assert_array_equal(out, out2)
