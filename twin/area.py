"""Silicon area of a chip spec, µm² by component, per tile and per chip.

A first-order model for design-space studies, not a layout: every block is a count from the spec
times an area per instance at a technology node. Areas of CMOS periphery scale with the square of
the node from the node their anchor was given at; the cell is ``cell_f2 · F²``. The parameters
and their sources are on :class:`AreaTech` and in ``docs/energy-models.md`` (section "Area").
The spec has no technology node, so the node is a parameter here (a study's ``area:`` block).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class AreaTech:
    """Area parameters. Every ``*_um2`` anchor is at ``anchor_node_nm`` and scales with (node/anchor)²."""

    node_nm: float = 65.0
    """Technology node F of the chip, nm (default 65 nm, the node of the default spec's wire resistances)."""
    cell_f2: float = 48.0
    """1T1R cell area in F²: 4 F × 12 F, NeuroSim's default 1T1R cell (``heightInFeatureSize1T1R = 4``,
    ``widthInFeatureSize1T1R = 12`` in NeuroSim's Param.cpp)."""
    anchor_node_nm: float = 32.0
    """Node at which the ``*_um2`` anchors below are given, nm."""
    adc_8bit_um2: float = 1200.0
    """One 8-bit SAR ADC, µm², at the anchor node (our choice, of the order of ISAAC's 8-bit ADC,
    Shafiee et al., ISCA 2016, as we recall its Table 1; not re-checked against the paper)."""
    adc_cap_fraction: float = 0.5
    """Fraction of the 8-bit ADC's area in its capacitor DAC, which doubles per bit; the rest (comparator,
    SAR logic) grows linearly with bits (our choice)."""
    dac_um2: float = 5.0
    """One input driver (DAC) with its row switch and latch, µm², at the anchor node (our choice)."""
    prog_driver_um2: float = 20.0
    """Programming driver per row and per column (level shifters, high-voltage switches), µm², at the
    anchor node (our choice)."""
    mux_um2_per_column: float = 2.0
    """Column multiplexer switch, µm² per column, at the anchor node (our choice)."""
    tile_control_um2: float = 2000.0
    """Tile sequencer and registers, µm², at the anchor node (our choice)."""
    controller_um2: float = 20000.0
    """Chip controller (command decoder, host interface), µm², at the anchor node (our choice)."""


@dataclass(frozen=True)
class AreaReport:
    """Area by component, µm²: one tile's blocks, the chip-level blocks and totals."""

    cells_um2: float
    adc_um2: float
    dac_um2: float
    drivers_um2: float
    mux_um2: float
    tile_control_um2: float
    controller_um2: float
    n_tiles: int

    @property
    def tile_um2(self) -> float:
        """One tile, µm²."""
        return self.cells_um2 + self.adc_um2 + self.dac_um2 + self.drivers_um2 + self.mux_um2 + self.tile_control_um2

    @property
    def chip_um2(self) -> float:
        """The whole chip: every tile plus the controller, µm²."""
        return self.n_tiles * self.tile_um2 + self.controller_um2

    @property
    def chip_mm2(self) -> float:
        """The whole chip, mm²."""
        return self.chip_um2 * 1e-6

    def tiles_mm2(self, n_tiles: int) -> float:
        """*n_tiles* tiles plus the controller, mm² (the silicon a workload on n tiles occupies)."""
        return (n_tiles * self.tile_um2 + self.controller_um2) * 1e-6

    def by_component(self) -> dict[str, float]:
        """Chip area by component, µm² (tile blocks times the number of tiles)."""
        n = self.n_tiles
        return {"cells": n * self.cells_um2, "adc": n * self.adc_um2, "dac": n * self.dac_um2,
                "drivers": n * self.drivers_um2, "mux": n * self.mux_um2, "tile_control": n * self.tile_control_um2,
                "controller": self.controller_um2}


def adc_area_um2(bits: int, tech: AreaTech) -> float:
    """One SAR ADC of *bits* bits, µm² at the chip's node: capacitor part ∝ 2^bits, logic part ∝ bits."""
    scale = (tech.node_nm / tech.anchor_node_nm) ** 2
    a8 = tech.adc_8bit_um2
    return scale * a8 * (tech.adc_cap_fraction * 2.0 ** (bits - 8) + (1 - tech.adc_cap_fraction) * bits / 8)


def chip_area(spec: Any, tech: AreaTech | None = None) -> AreaReport:
    """Area of *spec* (a :class:`twin.ChipSpec`) with the parameters *tech*."""
    tech = tech or AreaTech()
    t = spec.tile
    f_um = tech.node_nm * 1e-3
    scale = (tech.node_nm / tech.anchor_node_nm) ** 2
    rows, cols = t.array.rows, t.array.cols
    mux = t.adc_mux_ratio
    return AreaReport(
        cells_um2=rows * cols * tech.cell_f2 * f_um ** 2,
        adc_um2=t.adc.count * adc_area_um2(t.adc.bits, tech),
        dac_um2=t.dac.count * tech.dac_um2 * scale * max(1.0, t.dac.bits / 8) if t.dac.input_mode == "amplitude"
        else t.dac.count * tech.dac_um2 * scale,
        drivers_um2=(rows + cols) * tech.prog_driver_um2 * scale,
        mux_um2=(cols * tech.mux_um2_per_column * scale) if mux > 1 else 0.0,
        tile_control_um2=tech.tile_control_um2 * scale,
        controller_um2=tech.controller_um2 * scale,
        n_tiles=spec.n_tiles,
    )


__all__ = ["AreaTech", "AreaReport", "adc_area_um2", "chip_area"]
