"""On ideal cells with fine converters and no noise, the twin computes the float model of the quantized
weights to 1e-6 relative (dense, conv, a matrix over 4 tiles, pairs both ways, offset, bit slicing)."""

import dataclasses
import sys
from pathlib import Path

import numpy as np
import pytest

import firmware
import twin
from firmware import nn

sys.path.insert(0, str(Path(__file__).parent))
from nn_exact import SPEC, ExactIdealScheme, aligned_adc_range_ua  # noqa: E402


def _spec(**adc):
    spec = twin.load_spec(SPEC)
    return dataclasses.replace(spec, tile=dataclasses.replace(spec.tile, adc=dataclasses.replace(spec.tile.adc, **adc)))


def _run(model, x, spec=None, **mapping):
    chip = firmware.open_chip(spec or _spec(), seed=3)
    mapping = {"levels": 5, "margin": 0.0, **mapping}
    dep = nn.deploy(chip, model, **mapping)
    rep = dep.program(ExactIdealScheme(), tolerance_us=0.01)
    assert all(lr.convergence_rate == 1.0 for lr in rep.layers)
    dep.calibrate(x, adc_range_ua=aligned_adc_range_ua(chip.spec.tile.read.v_read_v, 1.0))
    out = dep.predict(x, batch=7).outputs
    ref = dep.reference(x)
    return dep, out, ref


def _int_inputs(rng, shape):
    x = rng.integers(-7, 8, shape).astype(float)
    x.reshape(-1)[0] = 7.0  # the calibration scale is then 7: every input is a DAC code
    return x


def _rel(out, ref):
    return float(np.max(np.abs(out - ref)) / np.max(np.abs(ref)))


@pytest.mark.parametrize("signed", ["pairs", "tiles", "offset"])
def test_dense_exact(signed):
    rng = np.random.default_rng(1)
    model = nn.sequential([nn.Dense(rng.normal(size=(12, 5)), rng.normal(size=5))], (12,))
    dep, out, ref = _run(model, _int_inputs(rng, (9, 12)), signed=signed)
    assert _rel(out, ref) < 1e-6


def test_matrix_over_four_tiles_exact():
    rng = np.random.default_rng(2)
    model = nn.sequential([nn.Dense(rng.normal(size=(32, 12)), rng.normal(size=12))], (32,))
    dep, out, ref = _run(model, _int_inputs(rng, (10, 32)))
    assert dep.plan.tiles_used == [0, 1, 2, 3] and len(dep.plan.layers[0].blocks) == 4
    assert _rel(out, ref) < 1e-6


@pytest.mark.parametrize("differential", ["analog", "digital"])
def test_pairs_subtracted_by_the_chip_exact(differential):
    rng = np.random.default_rng(3)
    model = nn.sequential([nn.Dense(rng.normal(size=(10, 6)), rng.normal(size=6))], (10,))
    _, out, ref = _run(model, _int_inputs(rng, (8, 10)), spec=_spec(differential=differential))
    assert _rel(out, ref) < 1e-6


def test_bit_slicing_exact():
    rng = np.random.default_rng(4)
    model = nn.sequential([nn.Dense(rng.normal(size=(8, 3)), rng.normal(size=3))], (8,))
    dep, out, ref = _run(model, _int_inputs(rng, (6, 8)), levels=3, cells_per_weight=2)
    assert dep.plan.layers[0].quantized.q_max == 8
    assert _rel(out, ref) < 1e-6


def test_conv_and_two_layers_exact():
    rng = np.random.default_rng(5)
    model = nn.sequential([nn.Conv2d(rng.normal(size=(3, 1, 3, 3)), rng.normal(size=3), stride=1, padding=1),
                           nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                           nn.Dense(rng.normal(size=(12, 4)), rng.normal(size=4))], (1, 4, 4))
    _, out, ref = _run(model, _int_inputs(rng, (5, 1, 4, 4)))
    assert _rel(out, ref) < 1e-6
