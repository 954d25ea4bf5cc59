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


@pytest.mark.parametrize("n_cells, n, floor", [(1, 1, 0), (40, 25, 0), (3000, 3000, 0), (3000, 3000, 5 * 10**9)])
def test_telegraph_matches_reference(n_cells, n, floor):
    rng = np.random.default_rng(n)
    level, t_rtn, tau = rtn_state(rng, n_cells)
    idx = rng.permutation(n_cells)[:n].astype(np.int64)
    g = rng.uniform(0, 40, n)
    u = rng.random(n)
    now = 2 * 10**10
    lv1, t1, out = level.copy(), t_rtn.copy(), np.empty(n)
    read.telegraph_us(idx, now, floor, g, lv1, t1, tau, u, 1.0, 0.5, 40.0, out)
    lv2, t2 = level.copy(), t_rtn.copy()
    want = reference.telegraph_us(idx, now, floor, g, lv2, t2, tau, u, 1.0, 0.5, 40.0)
    np.testing.assert_allclose(out, want, rtol=1e-12)
    np.testing.assert_array_equal(lv1, lv2)
    np.testing.assert_array_equal(t1, t2)
    if n == n_cells:  # the all-cells kernel is the same computation
        lv3, t3, out3 = level.copy(), t_rtn.copy(), np.empty(n)
        g_all = np.empty(n_cells)
        g_all[idx] = g
        u_all = np.empty(n_cells)
        u_all[idx] = u
        read.telegraph_all_us(now, floor, g_all, lv3, t3, tau, u_all, 1.0, 0.5, 40.0, out3)
        np.testing.assert_allclose(out3[idx], out, rtol=1e-12)


def test_telegraph_is_two_level_with_the_markov_flip_probability():
    """Offsets take ±½·A·m only; after Δt = τ a fraction ½(1 − e^−2) ≈ 0.432 of the cells flipped (±0.01)."""
    rng = np.random.default_rng(3)
    n = 100_000
    level = np.ones(n, np.float32)
    t_rtn = np.zeros(n, np.int64)
    tau = np.full(n, 1e9, np.float32)
    out = np.empty(n)
    read.telegraph_all_us(10**9, 0, np.full(n, 40.0), level, t_rtn, tau, rng.random(n), 2.0, 0.5, 40.0, out)
    assert set(np.unique(out)) == {-1.0, 1.0}
    assert np.mean(out < 0) == pytest.approx(0.5 * (1 - np.exp(-2)), abs=0.01)
    # a second evaluation at the same time changes nothing
    out2 = np.empty(n)
    read.telegraph_all_us(10**9, 0, np.full(n, 40.0), level, t_rtn, tau, rng.random(n), 2.0, 0.5, 40.0, out2)
    np.testing.assert_array_equal(out, out2)


def test_offsets_match_reference():
    rng = np.random.default_rng(5)
    n = 2000
    level, t_rtn, tau = rtn_state(rng, n)
    g = rng.uniform(0, 40, n)
    out = np.empty(n)
    read.telegraph_offsets_us(g, level, 1.0, 0.5, 40.0, out)
    np.testing.assert_allclose(out, reference.telegraph_offsets_us(g, level, 1.0, 0.5, 40.0), rtol=1e-12)


def test_bernoulli_positions_have_the_right_rate():
    from twin.devices.rram_1t1r import _bernoulli_positions

    rng = np.random.default_rng(2)
    picks = np.concatenate([_bernoulli_positions(rng, 1000, 0.01) for _ in range(2000)])
    assert picks.min() >= 0 and picks.max() < 1000
    assert picks.size == pytest.approx(2000 * 1000 * 0.01, rel=0.03)
    assert np.histogram(picks, bins=10, range=(0, 1000))[0].min() > 0.85 * picks.size / 10


def test_step_all_matches_reference():
    rng = np.random.default_rng(9)
    n = 3000
    level, t_rtn, tau = rtn_state(rng, n)
    split = float(np.quantile(tau, 0.05))
    fast = np.flatnonzero(tau.astype(np.float64) < split)
    n_fast = fast.size
    cands = np.sort(rng.permutation(n)[:400]).astype(np.int64)
    u_c, u_f = rng.random(cands.size), rng.random(n_fast)
    lv1, t1, lv2, t2 = level.copy(), t_rtn.copy(), level.copy(), t_rtn.copy()
    out = np.empty(n_fast + cands.size, dtype=np.int64)
    k = read.telegraph_step_all(2 * 10**10, 10**9, split, 0.3, fast, cands, u_c, u_f, lv1, t1, tau, out)
    want = reference.telegraph_step_all(2 * 10**10, 10**9, split, 0.3, fast, cands, u_c, u_f, lv2, t2, tau)
    np.testing.assert_array_equal(out[:k], want)
    np.testing.assert_array_equal(lv1, lv2)
    np.testing.assert_array_equal(t1, t2)


def test_whole_array_updates_flip_each_cell_with_its_markov_probability():
    """Small steps (thinning + exact fast cells) and one draw per cell give the same flip statistics."""
    from twin.devices.rram_1t1r import _bernoulli_positions

    rng = np.random.default_rng(12)
    n = 200_000
    tau = np.exp(rng.normal(np.log(1e9), 1.0, n)).astype(np.float32)
    split = float(np.quantile(tau, 0.02))
    fast_cells = np.flatnonzero(tau.astype(np.float64) < split)
    n_fast = fast_cells.size
    dt = 10**7
    p_cell = 0.5 * (1 - np.exp(-2 * dt / tau.astype(np.float64)))
    p_bound = 0.5 * (1 - np.exp(-2 * dt / split))
    level, t_rtn = np.ones(n, np.float32), np.zeros(n, np.int64)
    out = np.empty(n, dtype=np.int64)
    flips_fast = flips_slow = 0
    fast = tau.astype(np.float64) < split
    for step in range(1, 21):
        cands = _bernoulli_positions(rng, n, p_bound)
        k = read.telegraph_step_all(step * dt, (step - 1) * dt, split, p_bound, fast_cells, cands, rng.random(cands.size),
                                    rng.random(n_fast), level, t_rtn, tau, out)
        flips_fast += fast[out[:k]].sum()
        flips_slow += (~fast[out[:k]]).sum()
    for got, sel in ((flips_fast, fast), (flips_slow, ~fast)):
        expected = 20 * p_cell[sel].sum()
        assert got == pytest.approx(expected, rel=4 / np.sqrt(expected))
