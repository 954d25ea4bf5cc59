"""memtwin's emulator core: a discrete-event digital twin of a memristor compute-in-memory chip.

``load_spec`` reads a YAML chip spec; ``build`` makes a :class:`Chip` that executes commands
(:class:`Pulse`, :class:`Read`, :class:`Mvm`, :class:`Configure`) on a simulated clock in integer
picoseconds, charging energy per component. Firmware talks to it through :mod:`firmware`.
"""

from twin.cell_ops import CellOps, CellResults
from twin.chip import Chip, build
from twin.commands import Configure, Mvm, Polarity, Pulse, Read, Result, command_from_json
from twin.errors import CommandError, LogError, SpecError, TwinError
from twin.spec import ChipSpec, load as load_spec, loads as loads_spec

__version__ = "0.1.0"

__all__ = ["CellOps", "CellResults", "Chip", "ChipSpec", "CommandError", "Configure", "LogError", "Mvm", "Polarity",
           "Pulse", "Read", "Result", "SpecError", "TwinError", "build", "command_from_json", "load_spec", "loads_spec",
           "__version__"]
