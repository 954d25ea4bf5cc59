"""The chip spec: frozen dataclasses, one per hardware block, a unit docstring under every field.

A :class:`ChipSpec` is an immutable description of what a chip can do and what each operation costs.
Runtime settings a controller exposes (read voltage, ADC ranges) start from the spec and are changed
with the ``Configure`` command, never by editing the spec. YAML keys are the field names, except that
times are written in ns (``t_convert_ns``) and stored as integer ps (``t_convert_ps``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from twin.physics.modes import INPUT_MODES
from twin.physics.modes import PAIR_MODES as DIFFERENTIAL_MODES
from twin.spec.fields import spec_field

PARALLELISMS = ("cell", "row", "column")
CELL_TYPES = ("1t1r",)


@dataclass(frozen=True, slots=True, kw_only=True)
class HostLinkSpec:
    """The host↔chip link: one transfer at a time, latency plus bits over bandwidth."""

    bandwidth_bps: int = spec_field(lo=1, lo_open=False)
    """Link bandwidth, bits per second."""
    latency_ps: int = spec_field(0, lo=0)
    """Fixed latency of every transfer (YAML: ``latency_ns``)."""
    e_per_bit_pj: float = spec_field(0.0, lo=0)
    """Energy of moving one bit across the link."""
    header_bytes: int = spec_field(8, lo=0, hi=4096)
    """Bytes of every command or result header (opcode, tile, lengths)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ControllerSpec:
    """The on-chip controller that decodes commands and sequences the tiles."""

    t_command_ps: int = spec_field(0, lo=0)
    """Decode and dispatch overhead of every command (YAML: ``t_command_ns``)."""
    e_command_pj: float = spec_field(0.0, lo=0)
    """Energy of decoding and dispatching one command (``auto``: docs/energy-models.md)."""
    queue_depth: int = spec_field(8, lo=1, hi=1_000_000)
    """Commands a tile can hold waiting; the host waits when a tile's queue is full."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ArraySpec:
    """The crossbar of one tile and its parasitic resistances."""

    rows: int = spec_field(256, lo=1, hi=4096)
    """Rows (inputs) of the array."""
    cols: int = spec_field(256, lo=1, hi=4096)
    """Columns (outputs) of the array."""
    cell: str = spec_field("1t1r", choices=CELL_TYPES)
    """Cell type; ``1t1r``: one access transistor in series with one memristor."""
    r_wire_row_ohm: float = spec_field(0.0, lo=0, hi=1e6)
    """Row wire resistance between two adjacent cells."""
    r_wire_col_ohm: float = spec_field(0.0, lo=0, hi=1e6)
    """Column wire resistance between two adjacent cells."""
    r_driver_ohm: float = spec_field(0.0, lo=0, hi=1e9)
    """Output resistance of each row driver (source resistance)."""
    r_sense_ohm: float = spec_field(0.0, lo=0, hi=1e9)
    """Input resistance of each column's sense amplifier (neuron resistance)."""
    r_access_on_ohm: float = spec_field(0.0, lo=0, hi=1e9)
    """On-resistance of the access transistor, in series with every cell during reads and MVMs."""

    @property
    def n_cells(self) -> int:
        """Cells in the array."""
        return self.rows * self.cols


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceSpec:
    """The device model of every cell: a registered model name and its parameters."""

    model: str = spec_field()
    """Name of a registered device model (see ``twin.devices.DEVICE_MODELS``)."""
    params: Any = None
    """The model's parameter dataclass (its fields and units are documented by the model)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DacSpec:
    """Row drivers that turn digital inputs into row voltages."""

    count: int = spec_field(256, lo=1, hi=4096)
    """Drivers per tile; with fewer drivers than rows, rows are loaded in turn (sample and hold)."""
    bits: int = spec_field(8, lo=1, hi=16)
    """Input resolution, sign included."""
    input_mode: str = spec_field("bit_serial", choices=INPUT_MODES)
    """``bit_serial``: bits-1 magnitude planes, shift-and-add; ``pwm``: pulse width; ``amplitude``: voltage."""
    t_settle_ps: int = spec_field(0, lo=0)
    """Settling time of the row voltages, per input vector or bit plane (YAML: ``t_settle_ns``)."""
    t_lsb_ps: int = spec_field(0, lo=0)
    """PWM time of one input LSB; the window is (2**(bits-1) - 1) LSBs (YAML: ``t_lsb_ns``)."""
    e_convert_pj: float = spec_field(0.0, lo=0)
    """Energy of driving one row for one input vector or bit plane (``auto``: C·V², docs/energy-models.md)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AdcSpec:
    """Column ADCs of one tile; each ADC serves several adjacent columns through a mux."""

    count: int = spec_field(256, lo=1, hi=4096)
    """ADCs per tile; columns per ADC (the mux ratio) follow."""
    bits: int = spec_field(8, lo=1, hi=16)
    """Output resolution."""
    t_convert_ps: int = spec_field(lo=1)
    """Time of one conversion (YAML: ``t_convert_ns``; ``auto``: SAR, one cycle per bit)."""
    e_convert_pj: float = spec_field(0.0, lo=0)
    """Energy of one conversion (``auto``: Walden FOM × 2^bits, docs/energy-models.md)."""
    i_read_range_ua: tuple[float, float] = spec_field()
    """Input current range mapped onto the codes for Read commands (verify reads)."""
    i_mvm_range_ua: tuple[float, float] = spec_field()
    """Input current range mapped onto the codes for MVMs."""
    offset_ua: float = spec_field(0.0, lo=-1e6, hi=1e6)
    """Input-referred offset."""
    gain_error: float = spec_field(0.0, lo=-0.5, hi=0.5)
    """Relative gain error: the ADC sees ``(1 + gain_error) * i``."""
    noise_ua: float = spec_field(0.0, lo=0, hi=1e6)
    """Input-referred noise, rms, per conversion."""
    differential: str = spec_field("none", choices=DIFFERENTIAL_MODES)
    """Column pairs (2k, 2k+1) as one signed weight: ``none``, subtracted in ``analog`` before the ADC, or ``digital`` after."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ReadSpec:
    """The sense path for reads and MVMs."""

    v_read_v: float = spec_field(0.2, lo=0, hi=5, lo_open=True)
    """Read voltage at power-up; inputs of full scale are driven at this voltage."""
    v_read_range_v: tuple[float, float] = spec_field((0.05, 0.5))
    """Read voltages the controller accepts in ``Configure``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ProgrammingSpec:
    """Programming pulses: what the drivers can apply and how many cells at once."""

    v_set_range_v: tuple[float, float] = spec_field()
    """SET amplitudes the drivers can apply (positive)."""
    v_reset_range_v: tuple[float, float] = spec_field()
    """RESET amplitudes the drivers can apply (magnitude, positive)."""
    v_gate_range_v: tuple[float, float] = spec_field()
    """Access-transistor gate voltages (SET compliance control)."""
    width_range_ps: tuple[int, int] = spec_field()
    """Pulse widths the drivers can apply (YAML: ``width_range_ns``)."""
    parallelism: str = spec_field("row", choices=PARALLELISMS)
    """Cells pulsed at once: one ``cell``, cells of one ``row``, or of one ``column``."""
    max_parallel_cells: int = spec_field(1, lo=1, hi=4096)
    """Most cells pulsed in one slot (driver current limit)."""
    per_cell_amplitude: bool = False
    """Whether cells pulsed together may have their own amplitude, width and gate voltage."""
    t_switch_ps: int = spec_field(0, lo=0)
    """Driver set-up time before every pulse slot (YAML: ``t_switch_ns``)."""
    e_driver_pj: float = spec_field(0.0, lo=0)
    """Driver energy per cell-pulse (level shifters, switches), on top of the cell's V·I·t."""


@dataclass(frozen=True, slots=True, kw_only=True)
class EffectsSpec:
    """One switch per physical effect, so that studies can turn effects off one at a time."""

    ir_drop: bool = False
    """Solve the resistive network (wire, driver, sense, access resistance) in MVMs."""
    read_noise: bool = True
    """White, state-dependent read noise on every read and MVM."""
    telegraph_noise: bool = True
    """Random telegraph noise (conductance fluctuation) of every cell."""
    relaxation: bool = True
    """Conductance relaxation after programming."""
    stuck_cells: bool = True
    """Cells stuck at low or high conductance."""
    variation: bool = True
    """Device-to-device variation of the model's parameters."""
    cycle_noise: bool = True
    """Cycle-to-cycle noise of every programming pulse."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TileSpec:
    """One compute tile: array, device model, converters, sense path, programming and effects."""

    array: ArraySpec
    device: DeviceSpec
    dac: DacSpec
    adc: AdcSpec
    read: ReadSpec
    programming: ProgrammingSpec
    effects: EffectsSpec
    p_static_mw: float = spec_field(0.0, lo=0)
    """Static power of the tile's periphery while it executes a command (idle tiles are power-gated)."""

    @property
    def adc_mux_ratio(self) -> int:
        """Columns served by each ADC, in turn."""
        return -(-self.array.cols // self.adc.count)

    @property
    def dac_mux_ratio(self) -> int:
        """Rows loaded by each driver, in turn."""
        return -(-self.array.rows // self.dac.count)


@dataclass(frozen=True, slots=True, kw_only=True)
class ChipSpec:
    """A whole chip: identical tiles, a controller and a host link."""

    name: str
    """Catalog name of the chip (the YAML file's stem for bundled specs)."""
    n_tiles: int = spec_field(lo=1, hi=65536)
    """Number of identical tiles."""
    host_link: HostLinkSpec = None  # type: ignore[assignment]
    controller: ControllerSpec = None  # type: ignore[assignment]
    tile: TileSpec = None  # type: ignore[assignment]
    description: str = ""
    """One line on what this chip models."""
    p_static_mw: float = spec_field(0.0, lo=0)
    """Always-on static power of the chip (bias, clocks), charged over elapsed simulated time."""
    source: str = ""
    """Where the spec was loaded from (set by the loader, not written in YAML)."""
    sha256: str = ""
    """SHA-256 of the spec's YAML text (set by the loader; goes into log headers)."""
    auto_fields: tuple[str, ...] = ()
    """YAML paths of the fields written ``auto`` and resolved by ``twin.spec.energy_models`` (set by the loader)."""

    def summary(self) -> str:
        """A few lines describing the chip, for ``memtwin spec check``."""
        t = self.tile
        lines = [
            f"{self.name}: {self.n_tiles} tile(s) of {t.array.rows} x {t.array.cols} {t.array.cell} cells"
            f" ({self.n_tiles * t.array.n_cells:,} cells)",
            f"  device model: {t.device.model}",
            f"  DACs: {t.dac.count} x {t.dac.bits} bit, {t.dac.input_mode}; "
            f"ADCs: {t.adc.count} x {t.adc.bits} bit, {t.adc_mux_ratio} columns each, "
            f"{t.adc.t_convert_ps / 1000:g} ns, {t.adc.e_convert_pj:g} pJ per conversion",
            f"  programming: {t.programming.parallelism}-parallel, up to {t.programming.max_parallel_cells} cells per pulse",
            f"  host link: {self.host_link.bandwidth_bps / 1e9:g} Gb/s, {self.host_link.latency_ps / 1000:g} ns latency",
            "  effects on: " + (", ".join(k for k in EffectsSpec.__slots__ if getattr(t.effects, k)) or "none"),
            f"  sha256: {self.sha256}",
        ]
        return "\n".join(lines)
