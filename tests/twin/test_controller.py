"""TileController's plans against hand arithmetic on the tiny spec.

Tiny spec: decode 5,000 ps and 1 pJ; DAC settle 1,000 ps, 0.5 pJ, 8 DACs, 4-bit bit-serial inputs (3 planes);
one ADC for all 8 columns, 150 ps and 2 pJ per conversion; pulses: switch 2,000 ps, driver 1 pJ per cell,
cells of one row pulse together, at most 4 per slot.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from twin import Configure, Mvm, Pulse, Read
from twin.controller import TileController


@pytest.fixture
def controller(tiny_spec) -> TileController:
    return TileController(tiny_spec)


def phases(plan) -> list[tuple[str, str, int]]:
    return [(p.component, p.name, p.duration_ps) for p in plan.phases]


def test_one_cell_read(controller):
    """Settle one row (1,000 ps), one conversion (150 ps)."""
    plan = controller.plan(Read(0, 3, 4))
    assert phases(plan) == [("controller", "decode", 5_000), ("array", "read", 1_150)]
    assert plan.duration_ps == 6_150
    assert plan.energy_pj == {"controller": 1.0, "dac": 0.5, "adc": 2.0}
    assert plan.counts == {"rows_driven": 1, "adc_conversions": 1}


def test_one_row_read_converts_its_columns_on_the_one_adc_in_turn(controller):
    """8 columns on one ADC: 1,000 + 8 x 150 = 2,200 ps; 8 conversions of 2 pJ."""
    plan = controller.plan(Read(0, [0], np.arange(8)))
    assert phases(plan)[1] == ("array", "read", 2_200)
    assert plan.energy_pj == {"controller": 1.0, "dac": 0.5, "adc": 16.0}
    assert plan.counts == {"rows_driven": 1, "adc_conversions": 8}


def test_block_read_drives_one_row_at_a_time(controller):
    """2 rows x 3 columns: 2 x 1,000 settle + 6 x 150 conversions = 2,900 ps; the DAC drives 2 rows."""
    plan = controller.plan(Read(0, [[0], [1]], [0, 1, 2]))
    assert phases(plan)[1] == ("array", "read", 2_900)
    assert plan.energy_pj == {"controller": 1.0, "dac": 1.0, "adc": 12.0}
    assert plan.counts == {"rows_driven": 2, "adc_conversions": 6}


def test_pulses_on_one_row_share_slots_of_four(controller):
    """5 cells of one row, same settings: slots of 4 and 1, each 2,000 + 100,000 ps."""
    plan = controller.plan(Pulse(0, [0], [0, 1, 2, 3, 4], "set", 2.0, 100_000, 2.0))
    assert phases(plan)[1] == ("array", "pulses", 204_000)
    assert plan.energy_pj == {"controller": 1.0, "dac": 5.0}
    assert plan.counts == {"pulse_slots": 2, "cell_pulses": 5}


def test_one_cell_pulse_and_shared_plans(controller):
    """A one-cell pulse: 2,000 + 50,000 ps. Plans that follow from the width (or nothing) are shared."""
    plan = controller.plan(Pulse(1, 2, 3, "reset", 1.5, 50_000, 1.0))
    assert plan.duration_ps == 5_000 + 52_000
    assert plan.counts == {"pulse_slots": 1, "cell_pulses": 1}
    assert controller.plan(Pulse(0, [5], [6], "set", 2.5, 50_000, 3.0)) is plan
    assert controller.plan(Read(0, 1, 1)) is controller.plan(Read(1, [7], [0]))


def test_mvm_whole_array(controller):
    """Per plane: load 8 rows with 8 DACs (1,000 ps) and convert 8 columns on one ADC (8 x 150 ps): 2,200 ps;
    3 planes per vector: 6,600 ps; batch 3: 19,800 ps, 3 x 3 x 8 = 72 conversions, 3 x 64 MACs."""
    plan = controller.plan(Mvm(0, np.zeros((3, 8))))
    assert phases(plan)[1] == ("array", "mvm", 19_800)
    assert plan.plane_ps == 2_200
    assert plan.energy_pj == {"controller": 1.0, "adc": 144.0}
    assert plan.counts == {"adc_conversions": 72, "planes": 3, "conversion_rounds": 8, "vector_ps": 6_600,
                           "macs": 192}


def test_mvm_windows(controller):
    """Rows 0..4, columns 2..6: load 1,000 ps, 4 conversions (600 ps) per plane; 3 planes; 16 MACs."""
    plan = controller.plan(Mvm(1, np.zeros(4), (0, 4), (2, 6)))
    assert plan.plane_ps == 1_600 and plan.duration_ps == 5_000 + 4_800
    assert plan.counts["macs"] == 16 and plan.counts["adc_conversions"] == 12


def test_mvm_pwm_inputs_conduct_for_the_pwm_window(tiny_spec):
    """PWM inputs, 4 bits, 100 ps per LSB: a 700 ps window, one plane of load + window + conversions."""
    t = tiny_spec.tile
    spec = dataclasses.replace(tiny_spec, tile=dataclasses.replace(
        t, dac=dataclasses.replace(t.dac, input_mode="pwm", t_lsb_ps=100)))
    plan = TileController(spec).plan(Mvm(0, np.zeros(8)))
    assert plan.plane_ps == 700
    assert plan.counts["planes"] == 1 and plan.counts["vector_ps"] == 1_000 + 700 + 1_200


def test_configure_is_decode_only(controller):
    plan = controller.plan(Configure(0, v_read_v=0.3))
    assert phases(plan) == [("controller", "decode", 5_000)]
    assert plan.energy_pj == {"controller": 1.0} and plan.counts == {}


def test_plans_charge_only_peripheral_components(controller):
    """The booking adds a plan's energies to the array's, the link's and static by name."""
    commands = [Read(0, 3, 4), Read(0, [0], np.arange(8)), Read(0, [[0], [1]], [0, 1]),
                Pulse(0, 1, 1, "set", 2.0, 10_000, 2.0), Pulse(0, [0], [0, 1], "set", 2.0, 10_000, 2.0),
                Mvm(0, np.zeros(8)), Configure(0, v_read_v=0.3)]
    for cmd in commands:
        assert set(controller.plan(cmd).energy_pj) <= {"controller", "dac", "adc"}
