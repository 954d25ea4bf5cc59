"""The array layer: commands meet physics (IR drop, read noise, ADC saturation, telegraph noise)."""

import numpy as np
import pytest

import twin
from memtwin_testing import SPECS
from twin import Configure, Mvm, Pulse, Read
from twin.physics import mvm as mvm_physics
from twin.physics.crossbar import IrDropSolver

TINY = (SPECS / "tiny.yaml").read_text()


def _spec(*replacements):
    text = TINY
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new)
    return twin.loads_spec(text, "variant.yaml")


WIRES = ("    cols: 8\n", "    cols: 8\n    r_wire_row_ohm: 200\n    r_wire_col_ohm: 300\n    r_driver_ohm: 100\n"
                        "    r_sense_ohm: 150\n    r_access_on_ohm: 1000\n")
FINE_ADC = [("    bits: 8\n    t_convert", "    bits: 16\n    t_convert"),
            ("i_mvm_range_ua: [-64.0, 64.0]", "i_mvm_range_ua: [-40.0, 40.0]")]


@pytest.mark.parametrize("mode", ["amplitude", "pwm", "bit_serial"])
def test_ir_drop_mvm_matches_the_network_solution(mode):
    """With noise off and a fine ADC, the MVM equals the solved network's column currents."""
    spec = _spec(WIRES, ("ir_drop: false", "ir_drop: true"), ("input_mode: bit_serial", f"input_mode: {mode}\n    t_lsb_ns: 1"),
                 *FINE_ADC)
    chip = twin.build(spec, seed=0)
    rows, cols = np.arange(8)[:, None], np.arange(8)
    widths = np.arange(64).reshape(8, 8) * 30_000 + 10_000
    chip.execute(Pulse(0, rows, cols, "set", 3.0, widths, 3.0))  # a spread of conductances
    x = np.random.default_rng(1).uniform(-1, 1, (4, 8))
    result = chip.execute(Mvm(0, x))
    g = chip.tiles[0].array.conductance_us(chip.now_ps)
    code_max = 2 ** (spec.tile.dac.bits - 1) - 1
    v = np.rint(x * code_max) / code_max * 0.2
    a = spec.tile.array
    expected = IrDropSolver(g, a.r_wire_row_ohm, a.r_wire_col_ohm, a.r_driver_ohm, a.r_sense_ohm,
                            a.r_access_on_ohm).solve(v)[0]
    ideal = v @ g
    lsb = 80.0 / (2**16 - 1)
    tol = lsb * (spec.tile.dac.bits if mode == "bit_serial" else 1)
    assert np.max(np.abs(result.values - expected)) <= tol
    assert np.max(np.abs(expected - ideal)) > 20 * tol  # the IR drop is visible at this resolution


def test_ir_drop_lowers_the_magnitude_of_currents():
    x = np.full(8, 1.0)
    values = []
    for effects in ("ir_drop: false", "ir_drop: true"):
        chip = twin.build(_spec(WIRES, ("ir_drop: false", effects), *FINE_ADC), seed=0)
        chip.execute(Pulse(0, np.arange(8)[:, None], np.arange(8), "set", 3.0, 1_000_000, 3.0))
        values.append(chip.execute(Mvm(0, x)).values)
    assert np.all(np.abs(values[1]) < np.abs(values[0]))


def test_adc_saturations_are_counted_and_reported(chip):
    chip.execute(Pulse(0, np.arange(8)[:, None], np.arange(8), "set", 3.0, 3_000_000, 3.0))
    chip.execute(Configure(0, adc_mvm_range_ua=(-1.0, 1.0)))
    result = chip.execute(Mvm(0, np.ones(8)))
    assert result.info["adc_saturated"] == result.info["adc_conversions"] == 24
    assert chip.ledger.adc_saturation() == {"conversions": 24, "saturated": 24}
    assert "24 saturated" in chip.report()


def test_read_noise_has_the_model_spread():
    """rram_1t1r read noise: sigma = abs + rel * g; the ADC at 12 bits barely adds to it."""
    text = (SPECS / "tiny.yaml").read_text()
    start, end = text.index("  device:\n"), text.index("  dac:\n")
    text = (text[:start] + "  device:\n    model: rram_1t1r\n    params: {read_noise_abs_us: 0.5, read_noise_rel: 0.0}\n"
            + text[end:]).replace("    bits: 8\n    t_convert", "    bits: 12\n    t_convert")
    text = text.replace("ir_drop: false", "ir_drop: false\n    telegraph_noise: false\n    stuck_cells: false")
    chip = twin.build(twin.loads_spec(text, "noisy.yaml"), seed=3)
    cells = np.zeros(4000, dtype=int)
    values = chip.execute(Read(0, cells, cells)).values  # the same cell read 4,000 times
    assert np.std(values) == pytest.approx(0.5, rel=0.1)
    assert np.mean(values) == pytest.approx(chip.tiles[0].array.conductance_us(chip.now_ps)[0, 0], abs=0.05)


def test_small_adc_path_is_bit_identical_to_the_kernel():
    from twin.periphery import AdcBank
    from twin.physics import converters

    spec = _spec(("    i_mvm_range_ua: [-64.0, 64.0]", "    i_mvm_range_ua: [-64.0, 64.0]\n    offset_ua: 0.3\n"
                                                        "    gain_error: 0.01\n    noise_ua: 0.2"))
    bank = AdcBank(spec.tile.adc, np.random.default_rng(0))
    i_ua = np.random.default_rng(1).uniform(-80, 80, 50)
    noise = np.random.default_rng(0).standard_normal(50)
    small, n_small = bank.convert(i_ua, (-64.0, 64.0))
    _, big, n_big = converters.adc_convert(i_ua, 8, -64.0, 64.0, 0.3, 0.01, 0.2, noise)
    assert small.tobytes() == big.tobytes() and n_small == n_big > 0


def test_incremental_mvm_caches_equal_a_full_recompute(monkeypatch):
    """After pulses, reads and relaxation, the cached conductance + telegraph offsets and the cached
    read-noise variance the MVM uses are exactly what a recompute from scratch gives."""
    from twin.physics import read as read_kernels

    text = (SPECS / "tiny.yaml").read_text()
    start, end = text.index("  device:\n"), text.index("  dac:\n")
    text = text[:start] + "  device:\n    model: rram_1t1r\n" + text[end:]
    text = text.replace("    rows: 8\n    cols: 8\n", "    rows: 8\n    cols: 8\n").replace("n_tiles: 2", "n_tiles: 1")
    text = text.replace("    rows: 8\n", "    rows: 32\n").replace("    cols: 8\n", "    cols: 32\n")
    text = text.replace("    count: 8\n", "    count: 32\n").replace("max_parallel_cells: 4", "max_parallel_cells: 32")
    chip = twin.build(twin.loads_spec(text, "rram.yaml"), seed=4)
    rng = np.random.default_rng(0)
    model = chip.tiles[0].array.model
    calls = []
    original = read_kernels.telegraph_offsets_at_us
    monkeypatch.setattr(read_kernels, "telegraph_offsets_at_us", lambda idx, *a: (calls.append(idx.size), original(idx, *a)))
    refreshes = []
    refresh = mvm_physics.refresh_conductance_f32_us
    monkeypatch.setattr(mvm_physics, "refresh_conductance_f32_us", lambda *a: refreshes.append(refresh(*a)))
    for step in range(12):
        rows, cols = rng.integers(0, 32, 3), rng.permutation(32)[:3]
        chip.execute(Pulse(0, rows, cols, "set", 1.6, 1_000_000, 2.0))
        chip.execute(Read(0, rows[:1], cols[:1]))
        chip.execute(Mvm(0, rng.uniform(-1, 1, (2, 32))))
        now = chip.now_ps
        cached = model.conductance_with_telegraph_us(now)  # brings the caches to now, incrementally
        g = model.conductance_us(now).reshape(-1)
        fresh = np.empty(g.size)
        p = model.params
        read_kernels.telegraph_offsets_us(g, model.rtn_level, p.rtn_amp_us, p.rtn_exponent, p.g_max_us, fresh)
        assert model._rtn_offsets.tobytes() == fresh.tobytes()
        assert cached.tobytes() == (g + fresh).tobytes()
        array = chip.tiles[0].array
        var = array._read_noise_var(now, (0, 32, 0, 32), 0.2)
        full = np.asarray(model.read_noise_var_us2(model.conductance_us(now), 0.2), dtype=np.float32)
        assert var.tobytes() == full.tobytes()
        # The MVM's float32 conductances and their row sums, brought to now incrementally.
        g32, rowsum = array._mvm_conductance(cached, (0, 32, 0, 32))
        assert g32.tobytes() == cached.astype(np.float32).tobytes()
        assert rowsum.tobytes() == mvm_physics.conductance_rowsum_us(cached.astype(np.float32)).tobytes()
        if step % 4 == 3:  # a windowed MVM keeps a cache of its own window, brought up to date the same way
            chip.execute(Mvm(0, rng.uniform(-1, 1, 10), row_window=(3, 13), col_window=(4, 20)))
            g_now = model.conductance_with_telegraph_us(chip.now_ps)
            window = g_now[3:13, 4:20].astype(np.float32)
            g32, rowsum = array._mvm_conductance(g_now, (3, 13, 4, 20))
            assert g32.tobytes() == window.tobytes()
            assert rowsum.tobytes() == mvm_physics.conductance_rowsum_us(window).tobytes()
    assert len(calls) > 10  # the incremental path ran
    assert len(refreshes) > 5 and sum(refreshes) > 0  # so did the MVM cache's


def test_adc_bank_converts_each_as_one_call_each():
    """convert_each: the values, draws and saturations of one convert call per element."""
    from twin.periphery import AdcBank

    spec = _spec(("    i_mvm_range_ua: [-64.0, 64.0]", "    i_mvm_range_ua: [-64.0, 64.0]\n    noise_ua: 0.2"))
    i_ua = np.random.default_rng(1).uniform(-80, 80, 40)
    each = AdcBank(spec.tile.adc, np.random.default_rng(0)).convert_each(i_ua, (-64.0, 64.0))
    one = AdcBank(spec.tile.adc, np.random.default_rng(0))
    calls = [one.convert(i_ua[k:k + 1], (-64.0, 64.0)) for k in range(i_ua.size)]
    assert each[0].tobytes() == np.concatenate([v for v, _ in calls]).tobytes()
    assert each[1].tolist() == [n == 1 for _, n in calls] and 0 < each[1].sum() < i_ua.size


def test_models_without_change_tracking_get_fresh_mvm_operands(chip):
    """The ideal model keeps the contract's defaults (nothing tracked): the MVM multiplies by float64
    conductances and keeps no float32 copy."""
    array = chip.tiles[0].array
    assert array.model.changed_since(array.model.version) is None and array.model.telegraph_stamp is None
    chip.execute(Mvm(0, np.ones(8)))
    assert array._mvm_conductance(array.conductance_us(chip.now_ps), (0, 8, 0, 8)) is None


def test_row_drives_are_those_of_the_codes_the_mvm_drives(chip):
    """An input half way between two codes is driven as the larger magnitude (the DAC rounds halves away
    from zero), and its row drive and DAC energy are counted: tiny's 4-bit DACs, 0.5/7 → code 1, plane 0."""
    x = np.zeros(8)
    x[2] = -0.5 / 7
    result = chip.execute(Mvm(0, x))
    assert result.info["row_drives"] == 1
    assert result.energy_pj["dac"] == pytest.approx(0.5)
