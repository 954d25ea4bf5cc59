"""The bundled chip specs (``chipspecs/*.yaml``), found by name.

The YAML files ship inside the wheel as package data of the ``chipspecs`` package, so that
``load("default")`` works the same from a source checkout and from an installed wheel.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from twin.errors import SpecError


def _folder() -> Path:
    return Path(str(resources.files("chipspecs")))


def names() -> list[str]:
    """Names of the bundled specs, sorted."""
    return sorted(p.stem for p in _folder().glob("*.yaml"))


def path(name: str) -> Path:
    """Path of the bundled spec *name*; SpecError listing the known names if there is none."""
    candidate = _folder() / f"{name}.yaml"
    if not candidate.is_file():
        raise SpecError(name, None, "", f"no bundled spec named {name!r}; known: {', '.join(names())}")
    return candidate
