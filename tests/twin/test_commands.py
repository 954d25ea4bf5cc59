"""Commands: golden error messages (each leaves the chip unchanged) and JSON round trips."""

import json
import re

import numpy as np
import pytest

import twin
from memtwin_testing import chip_state
from twin import Configure, Mvm, Pulse, Read, command_from_json

BAD = [
    (lambda: Read(5, [0], [0]), "Read #1: tile must be in [0, 1], not 5"),
    (lambda: Read(0, [9], [2]), "Read #1 tile 0 row 9 col 2: row must be in [0, 7], not 9"),
    (lambda: Read(0, [1, 2], [0, -1]), "Read #1 tile 0 row 2 col -1: col must be in [0, 7], not -1"),
    (lambda: Read(0, [1.5], [0]), "Read tile 0: rows must be integers, not float64 [1.5]"),
    (lambda: Read(0, [0, 1, 2], [0, 1]), "Read tile 0: rows (3,) and cols (2,) do not broadcast"),
    (lambda: Pulse(0, [1, 1], [3, 3], "set", 2.0, 100_000, 2.0),
     "Pulse #1 tile 0 row 1 col 3: a cell may appear only once per command"),
    (lambda: Pulse(0, [0, 0], [0, 1], "set", [2.0, 3.5], 100_000, 2.0),
     "Pulse #1 tile 0 row 0 col 1: SET v_pulse_v must be in [0.5, 3] V, not 3.5"),
    (lambda: Pulse(0, [0], [0], "reset", 0.1, 100_000, 2.0),
     "Pulse #1 tile 0 row 0 col 0: RESET v_pulse_v must be in [0.5, 3] V, not 0.1"),
    (lambda: Pulse(0, [0], [4], "set", 2.0, 5_000, 2.0),
     "Pulse #1 tile 0 row 0 col 4: width_ps must be in [10, 10000] ns, not 5"),
    (lambda: Pulse(0, [0], [4], "set", 2.0, 100_000, 9.0),
     "Pulse #1 tile 0 row 0 col 4: v_gate_v must be in [0.5, 5] V, not 9"),
    (lambda: Pulse(0, [0], [4], "sett", 2.0, 100_000, 2.0), "Pulse tile 0: polarity must be 'set' or 'reset', not 'sett'"),
    (lambda: Pulse(0, [0], [4], "set", float("nan"), 100_000, 2.0), "Pulse tile 0: v_pulse_v must be finite numbers, not nan"),
    (lambda: Mvm(0, np.zeros(7)), "Mvm #1 tile 0: inputs must have 8 values per vector (row_window 0..8), not 7"),
    (lambda: Mvm(0, np.r_[np.zeros(7), 1.5]), "Mvm #1 tile 0 vector 0 row 7: inputs must be in [-1, 1], not 1.5"),
    (lambda: Mvm(0, np.zeros(4), row_window=(6, 10)), "Mvm #1 tile 0: row_window must satisfy 0 <= start < stop <= 8, not (6, 10)"),
    (lambda: Mvm(0, np.zeros((2, 2, 8))), "Mvm tile 0: inputs must have shape (rows,) or (batch, rows), not (2, 2, 8)"),
    (lambda: Configure(1, v_read_v=0.9), "Configure #1 tile 1: v_read_v must be in [0.1, 0.5] V, not 0.9"),
    (lambda: Configure(1, adc_mvm_range_ua=(5, 1)),
     "Configure tile 1: adc_mvm_range_ua must be (low, high) numbers with low < high, not (5, 1)"),
]


@pytest.mark.parametrize("make, message", BAD, ids=[m.split(":")[0] + f"-{i}" for i, (_, m) in enumerate(BAD)])
def test_bad_command_is_rejected_with_address_and_changes_nothing(chip, make, message):
    chip.execute(Pulse(0, [0], [0], "set", 2.0, 100_000, 2.0))  # some history first
    before = chip_state(chip)
    with pytest.raises(twin.CommandError, match=f"^{re.escape(message)}$"):
        chip.submit(make())
    assert chip_state(chip) == before
    assert chip.execute(Read(0, [0], [0])).index == 1  # the rejected command took no index


def test_commands_round_trip_through_json(chip):
    cmds = [Pulse(0, [[0], [1]], [2, 3], ["set", "reset"], [1.5, 2.0], 100_000, 2.0),
            Read(1, np.arange(3)[:, None], np.arange(4)), Mvm(0, np.linspace(-1, 1, 16).reshape(2, 8)),
            Mvm(1, np.zeros(4), row_window=(2, 6), col_window=(0, 4)), Configure(0, v_read_v=0.25, adc_read_range_ua=(0, 20))]
    for cmd in cmds:
        again = command_from_json(json.loads(json.dumps(cmd.to_json())))
        assert type(again) is type(cmd) and json.dumps(again.to_json()) == json.dumps(cmd.to_json())
        a = twin.build(chip.spec, seed=3).execute(cmd)
        b = twin.build(chip.spec, seed=3).execute(again)
        assert (a.values is None and b.values is None) or np.array_equal(a.values, b.values)
        assert (a.start_ps, a.end_ps, a.energy_pj) == (b.start_ps, b.end_ps, b.energy_pj)


def test_bad_json_command():
    with pytest.raises(twin.CommandError, match="'op' must be one of pulse, read, mvm, configure, not 'jump'"):
        command_from_json({"op": "jump"})
    with pytest.raises(twin.CommandError, match="Read: bad fields"):
        command_from_json({"op": "read", "tile": 0, "rows": [0]})


def test_read_values_take_the_broadcast_shape(chip):
    r = chip.execute(Read(0, np.arange(3)[:, None], np.arange(4)))
    assert r.values.shape == (3, 4)
    assert np.allclose(r.values, 1.0, atol=0.2)


def test_polarity_arrays_and_enum(chip):
    chip.execute(Pulse(0, [0, 0], [0, 1], [twin.Polarity.SET, twin.Polarity.RESET], 2.0, 100_000, 2.0))
    g = chip.tiles[0].array.conductance_us(chip.now_ps)
    assert g[0, 0] == pytest.approx(2.0) and g[0, 1] == pytest.approx(1.0)  # RESET is bounded by g_min


@pytest.mark.parametrize("inputs", [
    np.linspace(-1, 1, 16).reshape(2, 8),                       # C-contiguous float64: the kernel copies
    np.asfortranarray(np.linspace(-1, 1, 16).reshape(2, 8)),    # Fortran order
    np.linspace(-1, 1, 32).reshape(2, 16)[:, ::2],              # strided
    np.linspace(-1, 1, 16).reshape(2, 8).astype(np.float32),    # another dtype
    np.linspace(-1, 1, 16).reshape(2, 8).tolist(),              # nested lists
])
def test_mvm_keeps_its_own_read_only_copy_of_any_input_layout(inputs):
    want = np.array(inputs, dtype=np.float64)
    cmd = Mvm(0, inputs)
    assert cmd.inputs.flags.c_contiguous and not cmd.inputs.flags.writeable
    np.testing.assert_array_equal(cmd.inputs, want)
    if isinstance(inputs, np.ndarray):
        inputs[...] = 0.0  # the caller changing its array afterwards changes nothing in the command
        np.testing.assert_array_equal(cmd.inputs, want)


@pytest.mark.parametrize("bad, message", [
    (np.r_[np.zeros(7), np.nan], "Mvm tile 0: inputs must be finite numbers, not nan (element 7)"),
    (np.r_[np.zeros(2), -np.inf, np.zeros(5)], "Mvm tile 0: inputs must be finite numbers, not -inf (element 2)"),
    (np.r_[np.zeros(2), 3.0, np.nan, np.zeros(4)], "Mvm tile 0: inputs must be finite numbers, not nan (element 3)"),
])
def test_mvm_names_the_first_non_finite_input(bad, message):
    with pytest.raises(twin.CommandError) as err:
        Mvm(0, bad)
    assert str(err.value) == message
