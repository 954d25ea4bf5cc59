"""Loading specs: values, unit conversion, derived properties, catalog."""

import pytest

import twin
from twin.spec import catalog, iter_fields
from twin.spec.chipspec import ChipSpec

from memtwin_testing import SPECS


def test_tiny_spec_values_and_units(tiny_spec):
    assert tiny_spec.name == "tiny" and tiny_spec.n_tiles == 2
    assert tiny_spec.host_link.latency_ps == 10_000
    assert tiny_spec.tile.adc.t_convert_ps == 150
    assert tiny_spec.tile.programming.width_range_ps == (10_000, 10_000_000)
    assert tiny_spec.tile.adc_mux_ratio == 8
    assert tiny_spec.tile.dac_mux_ratio == 1
    assert tiny_spec.tile.device.model == "ideal"
    assert tiny_spec.tile.device.params.g_max_us == 41.0
    assert len(tiny_spec.sha256) == 64 and tiny_spec.source == "tiny.yaml"


def test_left_out_blocks_and_keys_take_documented_defaults(tiny_spec):
    assert tiny_spec.tile.effects.read_noise is True and tiny_spec.tile.effects.ir_drop is False
    assert tiny_spec.tile.array.r_wire_row_ohm == 0.0
    assert tiny_spec.tile.adc.differential == "none"


def test_spec_is_frozen(tiny_spec):
    with pytest.raises(AttributeError):
        tiny_spec.n_tiles = 3  # type: ignore[misc]


def test_catalog_finds_bundled_specs_by_name():
    assert "default" in catalog.names()
    assert twin.load_spec("default").name == "default"


def test_unknown_catalog_name_lists_known():
    with pytest.raises(twin.SpecError, match=r"no bundled spec named 'nope'; known: .*default"):
        twin.load_spec("nope")


def test_same_text_same_hash():
    text = (SPECS / "tiny.yaml").read_text()
    assert twin.loads_spec(text).sha256 == twin.loads_spec(text).sha256
    assert twin.loads_spec(text).sha256 != twin.loads_spec(text + "\n# comment\n").sha256


def test_iter_fields_covers_every_leaf():
    paths = [p for p, _, _ in iter_fields(ChipSpec)]
    assert "tile.adc.t_convert_ns" in paths and "host_link.bandwidth_bps" in paths and "tile.device" in paths
