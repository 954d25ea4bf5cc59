"""Shared fixtures: the hand-checkable tiny spec and a chip built from it."""

from __future__ import annotations

import numpy as np
import pytest

import twin

from memtwin_testing import SPECS


@pytest.fixture
def tiny_spec() -> twin.ChipSpec:
    """2 tiles of 8x8 cells, one ADC per tile, round timings: checkable by hand."""
    return twin.load_spec(SPECS / "tiny.yaml")


@pytest.fixture
def chip(tiny_spec) -> twin.Chip:
    return twin.build(tiny_spec, seed=0)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)

