"""``auto`` energies and times follow their formulas; explicit numbers are untouched."""

from __future__ import annotations

import pytest

import twin
from twin.spec import catalog
from twin.spec.energy_models import (adc_energy_pj, controller_energy_pj, resolve_auto, row_drive_energy_pj,
                                     sar_conversion_ps)

DEFAULT = catalog.path("default").read_text()


def _auto(text: str, old: str, new: str) -> twin.ChipSpec:
    assert old in text
    return twin.loads_spec(text.replace(old, new), "auto.yaml")


def test_formulas_by_hand():
    assert adc_energy_pj(8) == pytest.approx(30e-3 * 256)        # 7.68 pJ (science.md: 7.7 pJ)
    assert adc_energy_pj(6) == pytest.approx(1.92)              # science.md: 1.9 pJ
    assert adc_energy_pj(4) == pytest.approx(0.48)              # science.md: 0.48 pJ
    assert sar_conversion_ps(8) == 10_000 and sar_conversion_ps(6) == 7_500
    # 256 cells x (0.2 fF x 0.2 V^2 + 0.1 fF x 5 V^2) = 256 x 2.508 fJ
    assert row_drive_energy_pj(256, 0.2, 5.0) == pytest.approx(256 * (0.2 * 0.04 + 0.1 * 25) * 1e-3)
    assert controller_energy_pj() == pytest.approx(1.0)


def test_auto_fields_resolve_at_load_from_the_spec():
    s = _auto(DEFAULT, "e_convert_pj: 7.7", "e_convert_pj: auto")
    assert s.tile.adc.e_convert_pj == pytest.approx(7.68) and s.auto_fields == ("tile.adc.e_convert_pj",)
    s6 = _auto(DEFAULT.replace("    bits: 8\n    t_convert_ns", "    bits: 6\n    t_convert_ns"),
               "e_convert_pj: 7.7", "e_convert_pj: auto")
    assert s6.tile.adc.bits == 6 and s6.tile.adc.e_convert_pj == pytest.approx(1.92)
    s = _auto(DEFAULT, "t_convert_ns: 10 ", "t_convert_ns: auto ")
    assert s.tile.adc.t_convert_ps == 10_000
    s = _auto(DEFAULT, "e_convert_pj: 0.1 ", "e_convert_pj: auto ")
    assert s.tile.dac.e_convert_pj == pytest.approx(row_drive_energy_pj(256, 0.2, 5.0))
    s = _auto(DEFAULT, "e_command_pj: 1.0", "e_command_pj: auto")
    assert s.controller.e_command_pj == pytest.approx(1.0) and s.auto_fields == ("controller.e_command_pj",)


def test_explicit_numbers_are_unchanged():
    s = twin.load_spec("default")
    assert s.tile.adc.e_convert_pj == 7.7 and s.tile.adc.t_convert_ps == 10_000 and s.auto_fields == ()
    assert resolve_auto(s) == s  # nothing written auto: nothing changes
    for name in catalog.names():
        assert twin.load_spec(name).auto_fields == ()


def test_auto_only_where_a_model_exists():
    with pytest.raises(twin.SpecError, match=r"auto.yaml:\d+: tile.adc.bits: must be an integer in \[1, 16\], not 'auto'"):
        _auto(DEFAULT, "    bits: 8\n    t_convert_ns", "    bits: auto\n    t_convert_ns")


def test_auto_energy_follows_a_swept_adc():
    from memtwin.study import spec_variant

    e = {b: spec_variant("default", {"tile.adc.bits": b, "tile.adc.e_convert_pj": "auto"}).tile.adc.e_convert_pj
         for b in (4, 6, 8)}
    assert e == pytest.approx({4: 0.48, 6: 1.92, 8: 7.68})
    fixed = spec_variant("default", {"tile.adc.bits": 6})
    assert fixed.tile.adc.e_convert_pj == 7.7  # an explicit number stays what it was
