"""Golden messages for bad specs: file, line, field path, "must be ..., not ...". """

import re

import pytest

import twin

from memtwin_testing import SPECS

TINY = (SPECS / "tiny.yaml").read_text()


def _load(tmp_path, text):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    before = path.read_text()
    try:
        return twin.load_spec(path)
    finally:
        assert path.read_text() == before  # loading never writes


def _line_of(text, needle):
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


CASES = [
    # (what to replace, replacement, expected message after "bad.yaml:<line>: ")
    ("    bits: 8\n    t_convert", "    bits: 0\n    t_convert", "tile.adc.bits: must be an integer in [1, 16], not 0"),
    ("    rows: 8", "    rows: many", "tile.array.rows: must be an integer in [1, 4096], not 'many'"),
    ("    bits: 8\n    t_convert", "    bitz: 8\n    t_convert", "tile.adc.bitz: unknown key; did you mean 'bits'?"),
    ("input_mode: bit_serial", "input_mode: serial",
     "tile.dac.input_mode: must be one of 'bit_serial', 'pwm', 'amplitude', not 'serial'"),
    ("t_convert_ns: 0.15", "t_convert_ns: 0.0005",
     "tile.adc.t_convert_ns: must be a whole number of picoseconds, not 0.0005 ns"),
    ("i_read_range_ua: [0.0, 51.2]", "i_read_range_ua: [51.2, 0.0]",
     "tile.adc.i_read_range_ua: must have low <= high, not [51.2, 0.0]"),
    ("i_mvm_range_ua: [-64.0, 64.0]", "i_mvm_range_ua: [-64.0]",
     "tile.adc.i_mvm_range_ua: must be a list [low, high] of two numbers, not [-64.0]"),
    ("  ir_drop: false", "  ir_drop: 3", "tile.effects.ir_drop: must be true or false, not 3"),
    ("bandwidth_bps: 8000000000", "bandwidth_bps: -5", "host_link.bandwidth_bps: must be an integer >= 1, not -5"),
    ("    count: 1\n", "    count: 16\n", "tile.adc.count: must be <= tile.array.cols (8), not 16"),
    ("    v_read_v: 0.2", "    v_read_v: 0.9", "tile.read.v_read_v: must be in tile.read.v_read_range_v [0.1, 0.5], not 0.9"),
    ("      g_max_us: 41.0", "      g_max_us: 0.5",
     "tile.device.params.g_max_us: must be > g_min_us (1), not 0.5"),
    ("      g_max_us: 41.0", "      g_max_us: 41.0\n      g_max_uS: 40", "tile.device.params.g_max_uS: unknown key; did you mean 'g_max_us'?"),
    ("    max_parallel_cells: 4", "    max_parallel_cells: 9",
     "tile.programming.max_parallel_cells: must be <= 8 for row-parallel pulses, not 9"),
    ("n_tiles: 2", "n_tiles: 2.5", "n_tiles: must be an integer in [1, 65536], not 2.5"),
]


@pytest.mark.parametrize("old, new, message", CASES, ids=[c[2].split(":")[0] + f"-{i}" for i, c in enumerate(CASES)])
def test_bad_spec_names_file_line_and_field(tmp_path, old, new, message):
    assert old in TINY
    text = TINY.replace(old, new, 1)
    field = message.split(":")[0]
    leaf = field.split(".")[-1]
    at = text.index(new)
    line = text[:text.index(leaf + ":", at)].count("\n") + 1  # the line of the offending key
    with pytest.raises(twin.SpecError) as info:
        _load(tmp_path, text)
    assert str(info.value) == f"bad.yaml:{line}: {message}"
    assert info.value.field == field and info.value.line == line


def test_missing_required_key(tmp_path):
    text = TINY.replace("  bandwidth_bps: 8000000000\n", "")
    with pytest.raises(twin.SpecError, match=r"^bad\.yaml:\d+: host_link\.bandwidth_bps: is required$"):
        _load(tmp_path, text)


def test_unknown_device_model_lists_known(tmp_path):
    with pytest.raises(twin.SpecError, match=r"^bad\.yaml:\d+: tile\.device\.model: unknown model 'tio2'; known: .*'ideal'"):
        _load(tmp_path, TINY.replace("model: ideal", "model: tio2"))


def test_yaml_syntax_error_names_line(tmp_path):
    with pytest.raises(twin.SpecError, match=r"^bad\.yaml:\d+: YAML syntax error"):
        _load(tmp_path, TINY.replace("n_tiles: 2", "n_tiles: [2"))


def test_duplicate_key(tmp_path):
    text = TINY.replace("n_tiles: 2", "n_tiles: 2\nn_tiles: 3")
    with pytest.raises(twin.SpecError, match=re.escape(f"bad.yaml:{_line_of(text, 'n_tiles: 3')}: n_tiles: duplicate key")):
        _load(tmp_path, text)


def test_yaml_is_loaded_safely(tmp_path):
    with pytest.raises(twin.SpecError, match="YAML syntax error|must be"):
        _load(tmp_path, TINY.replace("name: tiny", "name: !!python/object/apply:os.system ['echo hi']"))


def test_loader_set_fields_cannot_be_written(tmp_path):
    with pytest.raises(twin.SpecError, match=r"sha256: unknown key"):
        _load(tmp_path, TINY + "sha256: abc\n")


def test_empty_and_missing_files(tmp_path):
    with pytest.raises(twin.SpecError, match=r"^bad\.yaml:1: the spec is empty$"):
        _load(tmp_path, "")
    with pytest.raises(twin.SpecError, match="no such file"):
        twin.load_spec(tmp_path / "absent.yaml")
