"""The area model: hand-checked components, scaling with node, bits and counts."""

from __future__ import annotations

import pytest

import twin
from twin.area import AreaTech, adc_area_um2, chip_area


def test_components_by_hand():
    spec = twin.load_spec("default")                        # 8 tiles, 256 x 256, 64 8-bit ADCs, 256 DACs
    tech = AreaTech(node_nm=32.0)                           # at the anchor node: no scaling
    a = chip_area(spec, tech)
    assert a.cells_um2 == pytest.approx(256 * 256 * 48 * 0.032 ** 2)   # 48 F^2 per 1T1R cell
    assert a.adc_um2 == pytest.approx(64 * 1200.0)
    assert a.dac_um2 == pytest.approx(256 * 5.0)
    assert a.drivers_um2 == pytest.approx(512 * 20.0)
    assert a.mux_um2 == pytest.approx(256 * 2.0)              # 4 columns per ADC: a mux
    assert a.tile_um2 == pytest.approx(a.cells_um2 + a.adc_um2 + a.dac_um2 + a.drivers_um2 + a.mux_um2 + 2000.0)
    assert a.chip_um2 == pytest.approx(8 * a.tile_um2 + 20000.0)
    assert sum(a.by_component().values()) == pytest.approx(a.chip_um2)
    assert a.chip_mm2 == pytest.approx(a.chip_um2 * 1e-6)


def test_scaling():
    t32, t64 = AreaTech(node_nm=32.0), AreaTech(node_nm=64.0)
    assert adc_area_um2(8, t64) == pytest.approx(4 * adc_area_um2(8, t32))
    # half capacitor DAC (x2 per bit), half logic (linear in bits)
    assert adc_area_um2(10, t32) == pytest.approx(1200 * (0.5 * 4 + 0.5 * 10 / 8))
    assert adc_area_um2(4, t32) < adc_area_um2(6, t32) < adc_area_um2(8, t32)
    from memtwin.study import spec_variant

    one = chip_area(spec_variant("default", {"tile.adc.count": 256}), t32)
    assert one.mux_um2 == 0.0 and one.adc_um2 == pytest.approx(256 * 1200.0)
    small = chip_area(spec_variant("default", {"tile.array.rows": 128, "tile.array.cols": 128, "tile.adc.count": 32,
                                               "tile.dac.count": 128}), t32)
    assert small.cells_um2 == pytest.approx(chip_area(twin.load_spec("default"), t32).cells_um2 / 4)
