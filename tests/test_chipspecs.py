"""Every bundled chip spec (found by glob, never listed) loads, builds and runs one MVM."""

import numpy as np
import pytest

import twin
from memtwin_testing import CHIPSPECS

SPEC_FILES = sorted(CHIPSPECS.glob("*.yaml"))


def test_there_are_bundled_specs():
    assert any(p.stem == "default" for p in SPEC_FILES)


@pytest.mark.parametrize("path", SPEC_FILES, ids=lambda p: p.stem)
def test_every_bundled_spec_builds_and_runs_one_mvm(path):
    spec = twin.load_spec(path)
    assert spec.name == path.stem
    chip = twin.build(spec, seed=0)
    result = chip.execute(twin.Mvm(0, np.full(spec.tile.array.rows, 0.5)))
    assert result.end_ps > result.start_ps and result.total_energy_pj > 0
    assert np.all(np.isfinite(result.values))


@pytest.mark.parametrize("path", SPEC_FILES, ids=lambda p: p.stem)
def test_every_bundled_spec_is_documented(path):
    readme = (CHIPSPECS / "README.md").read_text()
    assert f"`{path.stem}`" in readme
