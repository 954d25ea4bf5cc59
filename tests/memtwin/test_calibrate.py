"""Calibration recovers the device parameters of a synthetic hardware log made by the twin."""

from __future__ import annotations

import re

import pytest
import structlog

import twin
from memtwin.calibrate import FITTED, calibrate, fitted_spec_text, run_synthetic_experiment, write_fitted_spec
from memtwin.cli import main
from twin.log.replayer import replay
from memtwin_testing import SPECS


@pytest.fixture(autouse=True)
def _unconfigured_logging():
    """The CLI configures structlog onto pytest's captured stderr; start and end every test unconfigured."""
    structlog.reset_defaults()
    yield
    structlog.reset_defaults()

TRUTH = dict(v_set_threshold_v=0.9, v_set_slope_v=0.12, t_set_ns=25000, v_gate_threshold_v=0.45,
             k_access_ua_per_v2=120.0, v_reset_threshold_v=1.1, v_reset_slope_v=0.08, t_reset_ns=30000,
             v_reset_depth_v=0.25, c2c_rel=0.2, c2c_abs_us=0.2, relax_sigma_peak_us=3.0, relax_g_peak_us=15.0,
             tau_relax_ns=100000000, read_noise_abs_us=0.08, read_noise_rel=0.01)
"""The known parameters of the synthetic chip (all different from the neurram2022 preset)."""

FIXED = dict(iv_nonlinearity_per_v=0.0, var_g_rel=0.0, var_v_threshold_v=0.0, var_rate_log=0.0, p_stuck_low=0.0,
             p_stuck_high=0.0)
"""Held fixed in both the synthetic chip and the base spec (see memtwin/calibrate.py)."""


def spec_text(params: dict) -> str:
    """neurram2022 on one tile, 16-bit read ADC, no telegraph noise, with *params* in its device block."""
    t = (SPECS / "neurram_calibration.yaml").read_text()
    for k, v in params.items():
        t, n = re.subn(rf"(?m)^(\s+){k}:[ \t]*[^#\n]*?([ \t]*#.*)?$",
                       lambda m: f"{m.group(1)}{k}: {v}{m.group(2) or ''}", t)
        assert n == 1, k
    t = re.sub(r"(?m)^n_tiles: \d+", "n_tiles: 1", t).replace("telegraph_noise: true", "telegraph_noise: false")
    t = t.replace("stuck_cells: true", "stuck_cells: false").replace("variation: true", "variation: false")
    t = re.sub(r"(adc:\n\s+count: \d+.*\n\s+)bits: 8", r"\g<1>bits: 16", t)
    t = t.replace("e_convert_pj: 7.7", "e_convert_pj: 30.0").replace("[0.0, 10.0]", "[0.0, 12.0]")
    return t


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cal")
    truth = twin.loads_spec(spec_text({**TRUTH, **FIXED}), "truth.yaml")
    path = folder / "hw.jsonl"
    n = run_synthetic_experiment(truth, path, seed=0, n_pulses=102_400)
    base_text = spec_text(FIXED)
    return truth, path, n, base_text, folder


@pytest.fixture(scope="module")
def calibration(synthetic):
    _, path, _, base_text, _ = synthetic
    return calibrate(path, twin.loads_spec(base_text, "base.yaml"))


def test_calibration_recovers_every_fitted_parameter_within_10_percent(synthetic, calibration):
    truth, path, n, base_text, _ = synthetic
    assert n >= 100_000
    cal = calibration
    assert set(cal.fitted) == set(FITTED)
    errors = {k: cal.fitted[k] / getattr(truth.tile.device.params, k) - 1 for k in FITTED}
    assert max(abs(e) for e in errors.values()) < 0.10, errors
    assert cal.quality["pulse_steps_used"] > 80_000
    for key in ("read_noise_norm_var", "relaxation_norm_var", "pulse_norm_var"):
        assert 0.9 < cal.quality[key] < 1.1  # residuals as large as the fitted noise says


def test_replay_against_the_fitted_spec_diverges_less_than_the_preset(synthetic):
    truth, path, _, base_text, folder = synthetic
    out = folder / "fitted.yaml"
    assert main(["calibrate", str(path), "--model", "rram_1t1r", "--spec", _write(folder / "base.yaml", base_text),
                 "--out", str(out), "--name", "fitted"]) == 0
    fitted = twin.load_spec(out)
    assert fitted.name == "fitted" and fitted.tile.device.params.c2c_rel != 0.3
    on_fitted = replay(path, spec=fitted, seed=7)
    on_preset = replay(path, spec=twin.loads_spec(base_text, "base.yaml"), seed=7)
    assert on_fitted.rms_diff < 0.8 * on_preset.rms_diff


def _write(path, text) -> str:
    path.write_text(text)
    return str(path)


def test_fitted_spec_keeps_comments_and_other_blocks():
    text = (SPECS / "neurram_calibration.yaml").read_text()
    spec = twin.loads_spec(text, "n.yaml")
    import dataclasses

    params = dataclasses.replace(spec.tile.device.params, c2c_rel=0.123, t_set_ps=12_345_000)
    out = fitted_spec_text(text, params)
    assert "      c2c_rel: 0.123            # cycle-to-cycle noise: our choice\n" in out
    assert "      g_max_us: 40.0\n" in out  # unchanged lines stay as written
    assert "t_set_ns: 12345\n" in out
    reloaded = twin.loads_spec(out, "out.yaml")
    assert reloaded.tile.device.params == params and reloaded.tile.adc == spec.tile.adc


def test_calibrate_cli_bad_input_exits_2(tmp_path, capsys):
    assert main(["calibrate", str(tmp_path / "missing.jsonl"), "--out", str(tmp_path / "f.yaml")]) == 2
    assert "missing.jsonl" in capsys.readouterr().err


def test_write_fitted_spec_checks_the_result(tmp_path, synthetic, calibration):
    _, path, _, base_text, _ = synthetic
    cal = calibration
    text = write_fitted_spec(base_text, cal, tmp_path / "f.yaml")
    assert twin.loads_spec(text, "f.yaml").tile.device.params == cal.params
