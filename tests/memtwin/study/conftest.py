"""Fixtures of the study tests: a study folder with a copy of the tiny spec."""

from __future__ import annotations

import shutil

import pytest

from memtwin_testing import SPECS


@pytest.fixture
def study_dir(tmp_path):
    """A folder holding tiny.yaml, where study files are written."""
    shutil.copy(SPECS / "tiny.yaml", tmp_path / "tiny.yaml")
    return tmp_path


def write(folder, text: str, name: str = "study.yaml"):
    path = folder / name
    path.write_text(text)
    return path
