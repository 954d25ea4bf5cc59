"""Pulse schemes: each converges on its paper's preset, give-up rules, user-defined schemes, the registry."""

import numpy as np
import pytest

from firmware.driver import open_chip
from firmware.programming import GAVE_UP, write_verify
from firmware.pulse_schemes import (SCHEMES, Feedforward, FunctionScheme, GateSet, IncrementalStep, PulseScheme,
                                    ResetVoltage, SchemeContext, make_scheme)
from firmware.quantize import device_levels, uniform_levels

from memtwin_testing import ROOT, bench_module, block


_block = block


def test_every_scheme_follows_the_protocol():
    for cls in SCHEMES.values():
        assert isinstance(cls(), PulseScheme)
    assert isinstance(FunctionScheme(lambda g, t: (g < t, 1.5)), PulseScheme)


def test_incremental_ramps_by_the_step_and_restarts_after_a_reversal():
    chip = open_chip("neurram2022", seed=0)
    ctx = SchemeContext(chip.spec, np.array([20.0, 20.0]), 1.0)
    s = IncrementalStep()
    s.start(ctx)
    cells = np.arange(2)
    first = s.next_pulses(cells, np.array([10.0, 30.0]), ctx)[0]
    assert first.is_set.tolist() == [True, False] and first.v_pulse_v.tolist() == [1.2, 1.5]
    second = s.next_pulses(cells, np.array([12.0, 28.0]), ctx)[0]
    np.testing.assert_allclose(second.v_pulse_v, [1.3, 1.6])
    third = s.next_pulses(cells, np.array([25.0, 28.0]), ctx)[0]  # cell 0 overshot: RESET ramp from 1.5 V
    np.testing.assert_allclose(third.v_pulse_v, [1.5, 1.7])
    assert s.reversals.tolist() == [1, 0]


def test_incremental_gives_up_after_the_reversal_limit():
    chip = open_chip("neurram2022", seed=0)
    rep = write_verify(chip.tile(0), [0, 1], [0, 0], [20.0, 20.0], IncrementalStep(max_reversals=0),
                       tolerance_us=0.01, max_pulses=100)
    assert (rep.status == GAVE_UP).all()
    assert rep.n_pulses.max() < 100


def test_reset_voltage_reaches_kims_8_levels():
    chip = open_chip("kim2021", seed=0)
    levels = device_levels(chip.spec, 8, margin=0.05)
    t = levels.targets_us(np.random.default_rng(0).integers(0, 8, (16, 16)))
    rep = write_verify(chip.tile(0), *_block(16), t, ResetVoltage(), tolerance_us=1.4)
    assert rep.summary.convergence_rate > 0.98
    assert rep.summary.mean_pulses < 8


def test_feedforward_places_fine_levels_on_diaos_device():
    chip = open_chip("diao2025", seed=0)
    levels = device_levels(chip.spec, 512, margin=0.03)
    t = levels.targets_us(np.random.default_rng(0).integers(0, 512, (16, 32)))
    rep = write_verify(chip.tile(0), *_block(16)[:1], np.arange(32)[None, :], t, Feedforward(),
                       tolerance_us=float(levels.spacing_us[0]) / 6)
    assert rep.summary.convergence_rate > 0.99
    assert rep.summary.mean_pulses < 12


def test_gate_set_with_denoising_programs_raos_levels():
    chip = open_chip("rao2023", seed=0)
    levels = uniform_levels(50.0, 4144.0, 2048)
    t = levels.targets_us(np.random.default_rng(0).integers(0, 2048, (16, 16)))
    rep = write_verify(chip.tile(0), *_block(16), t, GateSet(), tolerance_us=0.5, max_pulses=60)
    assert rep.summary.convergence_rate > 0.8
    assert rep.summary.cell_pulses > rep.n_pulses.sum()  # the denoising pulses are counted apart


def test_gate_set_denoises_after_every_pulse_near_the_target_only():
    """denoise_within_us: programming pulses of cells farther than that from their target get no
    denoising pulses; None (the default) denoises after every programming pulse."""
    chip = open_chip("rao2023", seed=0)
    levels = uniform_levels(50.0, 4144.0, 2048)
    t = levels.targets_us(np.random.default_rng(1).integers(0, 2048, (4, 4)))
    every = GateSet()
    every.start(SchemeContext(chip.spec, t.ravel(), 0.3))
    cells = np.arange(16)
    far = np.where(np.arange(16) < 8, t.ravel() - 100.0, t.ravel() - 1.0)  # 8 cells 100 uS under, 8 cells 1 uS under
    batches = every.next_pulses(cells, far, SchemeContext(chip.spec, t.ravel(), 0.3))
    assert len(batches) == 1 + every.denoise_pulses and batches[-1].cells.size == 16 and not batches[-1].counts
    near = GateSet(denoise_within_us=20.0)
    ctx = SchemeContext(chip.spec, t.ravel(), 0.3)
    near.start(ctx)
    batches = near.next_pulses(cells, far, ctx)
    assert len(batches) == 1 + near.denoise_pulses
    assert np.array_equal(np.sort(batches[-1].cells), np.arange(8, 16))
    assert len(GateSet(denoise_pulses=0).settle_batches(cells, ctx)) == 0


def test_a_user_defined_scheme_in_a_few_lines():
    def fixed(g_us, targets_us):  # SET at 1.4 V below the target, RESET at 1.6 V above it
        is_set = g_us < targets_us
        return is_set, np.where(is_set, 1.4, 1.6)

    chip = open_chip("neurram2022", seed=0)
    t = np.random.default_rng(0).uniform(5, 35, (8, 8))
    rep = write_verify(chip.tile(0), *_block(8), t, FunctionScheme(fixed, name="fixed"), max_pulses=20)
    assert rep.summary.scheme == "fixed" and rep.n_pulses.max() <= 20
    assert rep.summary.convergence_rate > 0.3


def test_make_scheme_knows_the_names_and_passes_options():
    assert make_scheme("incremental", v_step_v=0.05).v_step_v == 0.05
    with pytest.raises(ValueError, match="known: 'incremental', 'reset_voltage', 'feedforward', 'gate_set'"):
        make_scheme("magic")


@pytest.mark.slow
def test_kim_reproduction():
    out = bench_module("reproduce_kim2021").run(seed=0)
    assert out["rmse_pct"] == pytest.approx(1.8, abs=0.5)


@pytest.mark.slow
def test_diao_reproduction_small():
    r = bench_module("reproduce_diao2025")
    res = r.run(rows=16, cols=256, seed=0, counts=(32, 512))
    assert res[("feedforward", 512)][0] <= r.MAX_MISREAD
    assert res[("incremental", 512)][0] > r.MAX_MISREAD


@pytest.mark.slow
def test_rao_reproduction_small():
    """64x64 of the rao2023 tile: ~1 % misread with denoising (all cells), ~50 % without; every stuck cell
    is among those flagged unresponsive."""
    r = bench_module("reproduce_rao2023")
    noisy, calm = r.program(64, 0, denoise=False), r.program(64, 0, denoise=True)
    assert calm["misread"] <= r.MAX_MISREAD < noisy["misread"]
    assert calm["n_flagged_stuck"] == calm["n_stuck"] and calm["n_flagged"] <= 2 * calm["n_stuck"] + 2
