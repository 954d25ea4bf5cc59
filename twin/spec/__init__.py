"""Chip specs: YAML in, frozen dataclasses out.

``load("default")`` or ``load("path/to/chip.yaml")`` returns a checked :class:`ChipSpec`;
``loads(text, name)`` does the same for a string.
"""

from twin.spec.chipspec import (AdcSpec, ArraySpec, ChipSpec, ControllerSpec, DacSpec, DeviceSpec, EffectsSpec,
                                HostLinkSpec, ProgrammingSpec, ReadSpec, TileSpec)
from twin.spec.load import iter_fields, load, loads

__all__ = ["load", "loads", "iter_fields", "AdcSpec", "ArraySpec", "ChipSpec", "ControllerSpec", "DacSpec",
           "DeviceSpec", "EffectsSpec", "HostLinkSpec", "ProgrammingSpec", "ReadSpec", "TileSpec"]
