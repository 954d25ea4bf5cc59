"""What a firmware developer writes against: open a chip, send commands to its tiles, program cells.

The face, grouped by module (reference: ``docs/firmware.md``):

- :mod:`firmware.driver`: :func:`open_chip`, :class:`ChipHandle`, :class:`TileHandle`;
- :mod:`firmware.programming`: :func:`write_verify` and its reports;
- :mod:`firmware.pulse_schemes`: the pulse schemes of the papers (:func:`make_scheme`, ``SCHEMES``);
- :mod:`firmware.quantize`: conductance level tables (:class:`Levels`).
"""

from firmware.driver import ChipHandle, TileHandle, open_chip
from firmware.programming import CellReport, WriteVerifyReport, WriteVerifySummary, write_verify
from firmware.pulse_schemes import (SCHEMES, Feedforward, FunctionScheme, GateSet, IncrementalStep, PulseBatch,
                                    PulseScheme, ResetVoltage, SchemeContext, make_scheme)
from firmware.quantize import Levels, device_levels, uniform_levels

__all__ = [
    # driver
    "ChipHandle", "TileHandle", "open_chip",
    # programming
    "CellReport", "WriteVerifyReport", "WriteVerifySummary", "write_verify",
    # pulse schemes
    "SCHEMES", "Feedforward", "FunctionScheme", "GateSet", "IncrementalStep", "PulseBatch", "PulseScheme",
    "ResetVoltage", "SchemeContext", "make_scheme",
    # levels
    "Levels", "device_levels", "uniform_levels",
]
