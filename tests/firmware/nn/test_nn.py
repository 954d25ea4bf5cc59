"""firmware/nn: plan arithmetic, calibration, determinism, errors, data, training, the digits MLP on the
default chip, the CLI."""

import dataclasses
import sys
from pathlib import Path

import numpy as np
import pytest

import firmware
import twin
from firmware import nn
from firmware.nn import datasets, train

sys.path.insert(0, str(Path(__file__).parent))
from nn_exact import SPEC, ExactIdealScheme  # noqa: E402


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MEMTWIN_CACHE_DIR", str(tmp_path / "cache"))


def _dense(n_in, n_out, seed=0):
    rng = np.random.default_rng(seed)
    return nn.sequential([nn.Dense(rng.normal(size=(n_in, n_out)), rng.normal(size=n_out))], (n_in,))


# ---- plan arithmetic --------------------------------------------------------------------------
def test_plan_arithmetic_by_hand():
    spec = twin.load_spec("default")  # 8 tiles of 256 x 256
    p = nn.plan(_dense(300, 10), spec, levels=8)
    (lp,) = p.layers
    assert [b.rows for b in lp.blocks] == [(0, 150), (150, 300)]      # 2 row blocks, balanced
    assert all(b.n_cols == 20 for b in lp.blocks)                      # 10 outputs x (+, -)
    assert lp.n_cells == 300 * 20 and lp.cells_per_weight == 2.0
    assert p.tiles_used == [0, 1] and p.utilization == pytest.approx(6000 / (2 * 65536))
    # 8 levels, 2 cells per weight and sign: integers up to 8**2 - 1 = 63, 4 columns per output
    p2 = nn.plan(_dense(64, 100), spec, levels=8, cells_per_weight=2)
    assert p2.layers[0].quantized.q_max == 63
    assert [b.outputs for b in p2.layers[0].blocks] == [(0, 50), (50, 100)]  # 64 outputs fit per tile
    assert p2.n_cells == 64 * 100 * 4
    # offset: one column per weight plus one reference column per block
    p3 = nn.plan(_dense(10, 7), spec, signed="offset", levels=9)
    assert p3.layers[0].blocks[0].n_cols == 8 and p3.layers[0].quantized.q_max == 4
    # tiles: a plus and a minus block on two tiles
    p4 = nn.plan(_dense(10, 7), spec, signed="tiles")
    assert [b.part for b in p4.blocks] == ["plus", "minus"] and p4.tiles_used == [0, 1]
    assert "2 of 8 tiles" in p4.to_text()


def test_dense_packing_shares_tiles():
    spec = twin.load_spec("rao2023")  # one tile
    model = nn.sequential([nn.Dense(np.ones((64, 32))), nn.ReLU(), nn.Dense(np.ones((32, 10)))], (64,))
    p = nn.plan(model, spec)
    assert p.tiles_used == [0]
    assert [(b.col0, b.n_cols) for b in p.blocks] == [(0, 64), (64, 20)]


def test_too_big_for_the_chip_says_how_many_tiles():
    spec = twin.load_spec("kim2021")  # one 32 x 32 tile; 64 rows = 2 row blocks of 16 pairs (32 columns)
    with pytest.raises(ValueError, match=r"needs 2 tiles of 32x32 .* has 1"):
        nn.plan(_dense(64, 16), spec)


def test_quantization_formulas():
    M = np.array([[1.0, -0.5], [0.25, 0.1]])
    q = nn.quantize_matrix(M, nn.MappingConfig(levels=5, per_channel=False))
    assert q.q_max == 4 and np.allclose(q.scale, 0.25)
    assert q.w_int.tolist() == [[4, -2], [1, 0]]
    b = nn.quantize_matrix(M, nn.MappingConfig(weights="binary", per_channel=True))
    assert b.w_int.tolist() == [[1, -1], [1, 1]] and np.allclose(b.scale, [0.625, 0.3])
    t = nn.quantize_matrix(M, nn.MappingConfig(weights="ternary", per_channel=False))
    assert t.w_int.tolist() == [[1, -1], [0, 0]]
    assert nn.mapping.slice_digits(np.array([0, 5, 8]), 3, 2).tolist() == [[0, 0], [2, 1], [2, 2]]


# ---- errors before any cell is pulsed -----------------------------------------------------------
def test_bad_models_and_inputs_raise_before_any_command():
    with pytest.raises(ValueError, match=r"dense: W must be finite numbers, not nan"):
        nn.Dense(np.array([[1.0, np.nan]]))
    with pytest.raises(ValueError, match=r"dense1: expects inputs of shape \(5,\), not \(4,\)"):
        nn.sequential([nn.Dense(np.ones((3, 4))), nn.Dense(np.ones((5, 2)))], (3,))
    with pytest.raises(ValueError, match="mapping: levels must be an integer >= 2"):
        nn.MappingConfig(levels=1)
    chip = firmware.open_chip(SPEC, seed=0)
    with pytest.raises(ValueError, match=r"needs \d+ tiles of 16x16 .* 'nn_ideal' has 4"):
        nn.deploy(chip, _dense(100, 20))
    assert len(chip.ledger) == 0
    dep = nn.deploy(chip, _dense(6, 3))
    with pytest.raises(ValueError, match="program"):
        dep.calibrate(np.ones((2, 6)))
    dep.program(ExactIdealScheme(), tolerance_us=0.05)
    with pytest.raises(ValueError, match="predict: calibrate"):
        dep.predict(np.ones((2, 6)))
    n = len(chip.ledger)
    with pytest.raises(ValueError, match=r"inputs: expected shape \(batch, 6\), not \(2, 5\)"):
        dep.calibrate(np.ones((2, 5)))
    with pytest.raises(ValueError, match="inputs: must be finite"):
        dep.calibrate(np.array([[1, 2, 3, np.nan, 0, 0.0]]))
    assert len(chip.ledger) == n
    spec = twin.load_spec(SPEC)
    analog = dataclasses.replace(spec, tile=dataclasses.replace(
        spec.tile, adc=dataclasses.replace(spec.tile.adc, differential="analog")))
    with pytest.raises(ValueError, match="subtracts column pairs .* must be signed as 'pairs', not 'tiles'"):
        nn.plan(_dense(4, 2), analog, signed="tiles")


def test_out_of_range_inputs_are_clipped_and_counted():
    chip = firmware.open_chip(SPEC, seed=0)
    dep = nn.deploy(chip, _dense(6, 3), levels=5, margin=0.0)
    dep.program(ExactIdealScheme(), tolerance_us=0.05)
    dep.calibrate(np.full((4, 6), 0.5))
    assert dep.predict(np.full((2, 6), 2.0)).report.n_inputs_clipped == 12


# ---- calibration and determinism ----------------------------------------------------------------
def _digits_deployment(seed, spec="default", **mapping):
    ds = datasets.digits()
    model = train.trained("mlp", ds, epochs=30)
    chip = firmware.open_chip(spec, seed=seed)
    dep = nn.deploy(chip, model, **mapping)
    return ds, model, dep


def test_calibration_sets_ranges_without_saturation():
    ds, model, dep = _digits_deployment(1)
    dep.program("incremental", max_pulses=40)
    x_cal = ds.flat()[0][:128]
    rep = dep.calibrate(x_cal)
    assert all(lc.n_saturated == 0 for lc in rep.layers.values())
    for name, lc in rep.layers.items():
        lp = dep.plan.layer(name)
        assert len(lc.adc_range_ua) == len(lp.blocks)
    # the calibration batch again through predict: no saturation either
    assert dep.predict(x_cal).report.n_adc_saturated == 0


def test_same_run_twice_gives_identical_numbers():
    outs = []
    for _ in range(2):
        ds, model, dep = _digits_deployment(7, levels=4)
        dep.program("incremental", max_pulses=30)
        dep.calibrate(ds.flat()[0][:64], column_correction=True)
        p = dep.predict(ds.flat()[1][:50])
        outs.append((p.outputs, p.report.cost.time_ps, p.report.cost.energy_pj, dep.chip.now_ps))
    assert np.array_equal(outs[0][0], outs[1][0]) and outs[0][1:] == outs[1][1:]


# ---- the must-show: a digits MLP on the default chip ---------------------------------------------
def test_digits_mlp_on_the_default_chip_within_two_points():
    ds, model, dep = _digits_deployment(1, levels=8)
    x_train, x_test = ds.flat()
    float_acc = train.accuracy(model.forward(x_test), ds.y_test)
    prog = dep.program("incremental")
    dep.calibrate(x_train[:256])
    pred = dep.predict(x_test)
    twin_acc = train.accuracy(pred.outputs, ds.y_test)
    per = pred.report.per_inference
    print(f"float {float_acc:.4f} twin {twin_acc:.4f}; {per.time_ps / 1e6:.3f} us, {per.energy_pj / 1e3:.3f} nJ "
          f"per inference; programming {prog.cost.time_ps / 1e6:.0f} us")
    assert float_acc > 0.93
    assert twin_acc >= float_acc - 0.02
    assert per.time_ps > 0 and per.energy_pj > 0 and per.energy_by_component_pj["adc"] > 0


def test_delay_advances_the_clock_idle():
    ds, model, dep = _digits_deployment(2, levels=4)
    dep.program("incremental", max_pulses=20)
    t0, n0 = dep.chip.now_ps, len(dep.chip.ledger)
    dep.wait(1.0)
    assert dep.chip.now_ps == t0 + 10 ** 12 and len(dep.chip.ledger) == n0


# ---- data, training, files -------------------------------------------------------------------
def test_mnist_idx_loader_on_a_tiny_file(tmp_path):
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 12), ("t10k", 5)):
        datasets.write_idx(tmp_path / f"{prefix}-images-idx3-ubyte", rng.integers(0, 256, (n, 28, 28)))
        datasets.write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte", rng.integers(0, 10, n))
    ds = datasets.load(f"mnist:{tmp_path}")
    assert ds.x_train.shape == (12, 1, 28, 28) and ds.x_test.shape == (5, 1, 28, 28)
    assert ds.x_train.max() <= 1.0 and ds.y_test.dtype == np.int64
    (tmp_path / "bad").write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(ValueError, match="not an IDX file"):
        datasets.read_idx(tmp_path / "bad")


def test_trainer_cache_and_npz_roundtrip(tmp_path):
    ds = datasets.digits()
    m1 = train.trained("mlp", ds, epochs=3)
    files = list((tmp_path / "cache").glob("*.npz"))
    assert len(files) == 1
    m2 = train.trained("mlp", ds, epochs=3)  # from the cache
    assert np.array_equal(m1.layers[0].W, m2.layers[0].W)
    m3 = train.trained("mlp", ds, epochs=3, noise_rel=0.02)
    assert not np.array_equal(m1.layers[0].W, m3.layers[0].W)
    cnn = train.trained("cnn", ds, epochs=2, channels=4)
    nn.save_npz(cnn, tmp_path / "cnn.npz")
    back = nn.load_npz(tmp_path / "cnn.npz")
    x = ds.x_test[:10]
    assert np.array_equal(cnn.forward(x), back.forward(x))


def test_conv_forward_matches_a_direct_convolution():
    rng = np.random.default_rng(0)
    W, x = rng.normal(size=(2, 3, 3, 3)), rng.normal(size=(2, 3, 5, 5))
    conv = nn.Conv2d(W, np.zeros(2), stride=2, padding=1)
    out = conv.forward(x)
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    direct = np.array([[[[np.sum(xp[n, :, 2 * i:2 * i + 3, 2 * j:2 * j + 3] * W[o]) for j in range(3)]
                         for i in range(3)] for o in range(2)] for n in range(2)])
    assert np.allclose(out, direct)


def test_cli_nn_run(tmp_path, capsys):
    from memtwin.cli import main

    out_json = tmp_path / "out.json"
    code = main(["nn", "run", "--spec", "default", "--levels", "4", "--n-test", "60", "--epochs", "5",
                 "--quiet", "--json", str(out_json)])
    text = capsys.readouterr().out
    assert code == 0
    assert "plan on default" in text and "accuracy on 60 test images" in text and "per inference" in text
    assert out_json.exists()
    assert main(["nn", "run", "--dataset", "mnist:/nonexistent", "--quiet"]) == 2


def test_calibration_of_a_layer_split_over_row_blocks():
    """A layer over several row blocks: each block's ADC range comes from its own rows (no saturation)."""
    rng = np.random.default_rng(0)
    chip = firmware.open_chip(SPEC, seed=0)
    dep = nn.deploy(chip, _dense(32, 6), levels=5, margin=0.0)
    dep.program(ExactIdealScheme(), tolerance_us=0.05)
    x = rng.uniform(0, 1, (20, 32))
    rep = dep.calibrate(x)
    assert len(rep.layers["dense"].adc_range_ua) == 2 and rep.layers["dense"].n_saturated == 0
    assert np.allclose(dep.predict(x).outputs, dep.reference(x), rtol=0, atol=1e-3 * np.abs(dep.reference(x)).max())
