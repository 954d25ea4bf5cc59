"""Pulse-response kernel against its numpy reference, and its basic physics."""

import numpy as np
import pytest

from twin.physics import device
from twin.physics.reference import device as reference

PRM = dict(t_set_ps=40e6, v_set_slope_v=0.1, t_reset_ps=40e6, v_reset_slope_v=0.1, v_reset_depth_v=0.5,
           v_gate_threshold_v=0.5, k_access_ua_per_v2=100.0, c2c_rel=0.3, c2c_abs_us=0.3, v_forming_v=3.0,
           tau_relax_ps=2e11, settle_ps=4e12, relax_sigma_peak_us=4.0, relax_g_peak_us=12.0,
           denoise_window_v=0.3, denoise_rate=0.3, denoise_floor=0.1, rtn_spread=0.5)


def random_cells(rng, n):
    """Per-cell state and parameters covering every branch: stuck, unformed, relaxing, settled."""
    g_min = rng.uniform(0.8, 1.2, n).astype(np.float32)
    g_max = rng.uniform(35, 45, n).astype(np.float32)
    t_prog = rng.integers(0, 10**13, n)
    t_prog[rng.random(n) < 0.05] = device.UNFORMED
    t_prog[rng.random(n) < 0.05] = device.STUCK_LOW
    t_prog[rng.random(n) < 0.05] = device.STUCK_HIGH
    state = dict(
        g_prog_us=rng.uniform(g_min, g_max).astype(np.float32),
        relax_us=rng.normal(0, 2, n).astype(np.float32),
        t_prog_ps=t_prog,
        rtn_level=(rng.choice([-1.0, 1.0], n) * rng.uniform(0, 1.5, n)).astype(np.float32),
        g_cache_us=rng.uniform(1, 40, n),
    )
    params = dict(
        g_min_us=g_min, g_max_us=g_max,
        v_set_th_v=rng.normal(1.0, 0.03, n).astype(np.float32),
        v_reset_th_v=rng.normal(1.2, 0.03, n).astype(np.float32),
        set_rate=np.exp(rng.normal(0, 0.3, n)).astype(np.float32),
        reset_rate=np.exp(rng.normal(0, 0.3, n)).astype(np.float32),
    )
    return state, params


def random_pulses(rng, n_cells, n):
    idx = rng.permutation(n_cells)[:n].astype(np.int64)
    return dict(idx=idx, is_set=rng.random(n) < 0.5, v_pulse_v=rng.uniform(0.5, 3.5, n),
                width_ps=rng.integers(10_000, 10_000_000, n), v_gate_v=rng.uniform(0.3, 1.8, n),
                now_ps=10**13)


def run(kernel, state, params, pulses, draws, prm):
    st = {k: v.copy() for k, v in state.items()}
    energy = np.empty(pulses["idx"].size)
    kernel(pulses["idx"], pulses["is_set"], pulses["v_pulse_v"], pulses["width_ps"], pulses["v_gate_v"], pulses["now_ps"],
           st["g_prog_us"], st["relax_us"], st["t_prog_ps"], st["rtn_level"], st["g_cache_us"],
           params["g_min_us"], params["g_max_us"], params["v_set_th_v"], params["v_reset_th_v"],
           params["set_rate"], params["reset_rate"], draws[0], draws[1], draws[2], prm, energy)
    return st, energy


@pytest.mark.parametrize("kernel", [device.pulse_response_g_us, device.pulse_response_g_us_serial],
                         ids=["parallel", "serial"])
@pytest.mark.parametrize("with_draws", [True, False], ids=["noisy", "noise_off"])
@pytest.mark.parametrize("n_cells, n", [(1, 1), (50, 37), (4000, 3000)])
def test_pulse_response_matches_reference(n_cells, n, with_draws, kernel):
    rng = np.random.default_rng(n_cells + n)
    state, params = random_cells(rng, n_cells)
    pulses = random_pulses(rng, n_cells, n)
    empty = np.empty(0)
    draws = (rng.standard_normal(n), rng.standard_normal(n), rng.random(n)) if with_draws else (empty, empty, empty)
    prm = device.pulse_params(**PRM)
    got, e_got = run(kernel, state, params, pulses, draws, prm)
    want, e_want = run(reference.pulse_response_g_us, state, params, pulses, draws, prm)
    np.testing.assert_allclose(e_got, e_want, rtol=1e-12)
    for key in state:
        np.testing.assert_allclose(got[key], want[key], rtol=1e-6 if got[key].dtype == np.float32 else 1e-12,
                                   err_msg=key)
    np.testing.assert_array_equal(got["t_prog_ps"], want["t_prog_ps"])


def one_cell(g_us, **over):
    state = dict(g_prog_us=np.array([g_us], np.float32), relax_us=np.zeros(1, np.float32),
                 t_prog_ps=np.zeros(1, np.int64), rtn_level=np.ones(1, np.float32), g_cache_us=np.array([g_us]))
    params = dict(g_min_us=np.ones(1, np.float32), g_max_us=np.full(1, 40, np.float32),
                  v_set_th_v=np.ones(1, np.float32), v_reset_th_v=np.full(1, 1.2, np.float32),
                  set_rate=np.ones(1, np.float32), reset_rate=np.ones(1, np.float32))
    params.update(over)
    return state, params


def pulse(state, params, is_set, v, v_gate=1.5, width_ps=1_000_000):
    e = np.empty(1)
    empty = np.empty(0)
    device.pulse_response_g_us(np.zeros(1, np.int64), np.array([is_set]), np.array([v]), np.array([width_ps]),
                               np.array([v_gate]), 1_000, state["g_prog_us"], state["relax_us"], state["t_prog_ps"],
                               state["rtn_level"], state["g_cache_us"], params["g_min_us"], params["g_max_us"],
                               params["v_set_th_v"], params["v_reset_th_v"], params["set_rate"], params["reset_rate"],
                               empty, empty, empty, device.pulse_params(**PRM), e)
    return float(state["g_prog_us"][0]), float(e[0])


def test_set_steps_shrink_towards_the_ceiling_and_never_pass_it():
    state, params = one_cell(1.0)
    g, steps = 1.0, []
    for _ in range(30):
        g_new, _ = pulse(state, params, True, 1.2)
        steps.append(g_new - g)
        g = g_new
    assert all(b <= a for a, b in zip(steps, steps[1:]))
    assert steps[0] > 10 * steps[-1] > 0
    assert g <= 40.0


def test_reset_depth_grows_with_amplitude_and_width():
    reached = {}
    for v in (1.4, 1.6, 1.8):
        for width_ps in (100_000, 1_000_000):
            state, params = one_cell(30.0)
            reached[v, width_ps] = pulse(state, params, False, v, width_ps=width_ps)[0]
    assert reached[1.4, 1_000_000] > reached[1.6, 1_000_000] > reached[1.8, 1_000_000]
    assert reached[1.6, 100_000] > reached[1.6, 1_000_000]


def test_pulses_at_or_below_threshold_do_not_switch():
    state, params = one_cell(20.0)
    assert pulse(state, params, True, 1.0)[0] == 20.0
    assert pulse(state, params, False, 1.2)[0] == 20.0


def test_gate_voltage_sets_the_set_ceiling():
    """Compliance: g_ceil = ½·k·(v_g − v_t)² / v_set_th, capped at g_max."""
    reached = []
    for v_gate in (0.8, 1.0, 1.2, 2.0):
        state, params = one_cell(1.0)
        for _ in range(200):
            g, _ = pulse(state, params, True, 1.6, v_gate=v_gate)
        reached.append(g)
    assert reached == sorted(reached)
    np.testing.assert_allclose(reached[:3], [0.5 * 100 * 0.3**2, 0.5 * 100 * 0.5**2, 0.5 * 100 * 0.7**2], rtol=1e-3)
    assert reached[3] == pytest.approx(40.0)


def test_set_energy_is_limited_by_the_transistor():
    state, params = one_cell(40.0)
    _, e = pulse(state, params, True, 1.2, v_gate=1.0)  # i_cc = 12.5 µA < 1.2 V × 40 µS
    assert e == pytest.approx(1.2 * 12.5 * 1e6 * 1e-6)
    state, params = one_cell(40.0)
    _, e = pulse(state, params, False, 1.0)  # sub-threshold RESET: full V²·G·t
    assert e == pytest.approx(1.0**2 * 40 * 1e6 * 1e-6)


def test_forming_needs_the_forming_voltage():
    state, params = one_cell(0.01)
    state["t_prog_ps"][0] = device.UNFORMED
    assert pulse(state, params, True, 2.5)[0] == pytest.approx(0.01)
    g, _ = pulse(state, params, True, 3.0, v_gate=1.2)
    assert g == pytest.approx(0.5 * 100 * 0.7**2, rel=1e-6) and state["t_prog_ps"][0] == 1_000


def test_stuck_cells_ignore_pulses():
    for code, g in ((device.STUCK_LOW, 1.0), (device.STUCK_HIGH, 40.0)):
        state, params = one_cell(g)
        state["t_prog_ps"][0] = code
        assert pulse(state, params, True, 2.0)[0] == g
        assert pulse(state, params, False, 2.0)[0] == g


def test_relax_sigma_peaks_at_g_peak():
    g = np.linspace(0.1, 40, 400)
    s = reference.relax_sigma_us(g, 4.0, 12.0)
    assert g[np.argmax(s)] == pytest.approx(12.0, abs=0.1)
    assert s.max() == pytest.approx(4.0, rel=1e-3)
    assert device.relax_sigma_us(12.0, 4.0, 12.0) == pytest.approx(4.0)
