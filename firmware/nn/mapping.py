"""From a model's weight matrices to conductance targets on tiles: quantization, bit slicing, signed
weights, splitting over tiles, placement. Everything here is arithmetic on the host; nothing is sent
to the chip. The formulas are in ``docs/networks.md``.

Quantization (per layer matrix M, shape (inputs, outputs)): every weight becomes an integer
``w_int`` times a scale (per tensor, or per output column with ``per_channel``):

- ``uniform``: ``q_max = levels**cells_per_weight − 1`` (``offset``: ``(levels**cells_per_weight − 1) // 2``),
  ``scale = clip / q_max`` with ``clip`` the ``clip_percentile`` of ``|M|``, ``w_int = round(M / scale)``
  clipped to ``[−q_max, q_max]``;
- ``binary``: ``w_int = ±1`` (sign, 0 → +1), ``scale = mean |M|``;
- ``ternary``: ``w_int ∈ {−1, 0, +1}``, zero where ``|M| ≤ 0.7·mean |M|``, ``scale`` = mean of the
  other ``|M|``.

A non-negative integer ``v`` in ``[0, levels**K − 1]`` is held by K cells, slice s holding the base-
``levels`` digit ``d_s = (v // levels**s) % levels`` at conductance ``g_lo + d_s·Δ``, with
``[g_lo, g_hi]`` the device's range shrunk by ``margin`` at each end and ``Δ = (g_hi − g_lo)/(levels − 1)``.
Signed weights (``signed``):

- ``pairs``: ``w_int = v₊ − v₋`` on adjacent columns (2k: +, 2k+1: −), the spec's ``adc.differential``
  pairs (subtracted by the chip in ``analog`` or ``digital``, on the host with ``none``);
- ``tiles``: ``v₊`` and ``v₋`` on two blocks of the same shape, normally on two tiles;
- ``offset``: ``v = w_int + q_max`` on one column per slice, plus one reference column per slice
  per block holding ``q_max``; the host subtracts the reference.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from firmware.nn.layers import Model, is_matrix_layer

SIGNED_MODES = ("pairs", "tiles", "offset")
WEIGHT_MODES = ("uniform", "binary", "ternary")
PACKINGS = ("auto", "spread", "dense")


@dataclass(frozen=True)
class MappingConfig:
    """How weights become conductances (see the module docstring for the formulas)."""

    levels: int = 8
    """Programmable conductance levels per cell (uniform over the device range less the margins)."""
    cells_per_weight: int = 1
    """Bit slicing: cells per weight and per sign (slice s has weight levels**s, shift-add on the host)."""
    signed: str = "pairs"
    """``pairs``, ``tiles`` or ``offset``."""
    weights: str = "uniform"
    """``uniform`` (post-training quantization), ``binary`` or ``ternary``."""
    per_channel: bool = True
    """One scale per output column (else one per layer)."""
    clip_percentile: float = 100.0
    """Percentile of |W| mapped to the top level (uniform); weights above it are clipped."""
    margin: float = 0.05
    """Fraction of the device's conductance range left free at each end."""
    packing: str = "auto"
    """``spread``: one block per tile; ``dense``: blocks side by side in tiles' columns; ``auto``: spread
    when there are enough tiles, else dense."""

    def __post_init__(self) -> None:
        def bad(name: str, must: str):
            raise ValueError(f"mapping: {name} must be {must}, not {getattr(self, name)!r}")

        for name in ("levels", "cells_per_weight"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < (2 if name == "levels" else 1):
                bad(name, "an integer >= 2" if name == "levels" else "an integer >= 1")
        if self.signed not in SIGNED_MODES:
            bad("signed", f"one of {', '.join(SIGNED_MODES)}")
        if self.weights not in WEIGHT_MODES:
            bad("weights", f"one of {', '.join(WEIGHT_MODES)}")
        if self.packing not in PACKINGS:
            bad("packing", f"one of {', '.join(PACKINGS)}")
        if not (0 < self.clip_percentile <= 100):
            bad("clip_percentile", "in (0, 100]")
        if not (0 <= self.margin < 0.5):
            bad("margin", "in [0, 0.5)")
        if self.signed == "offset" and self.q_max < 1:
            bad("levels", "such that levels**cells_per_weight >= 3 with offset weights")

    @property
    def side_max(self) -> int:
        """Largest integer K cells of one sign hold: levels**K − 1."""
        return int(self.levels) ** int(self.cells_per_weight) - 1

    @property
    def q_max(self) -> int:
        """Largest |w_int|."""
        return self.side_max // 2 if self.signed == "offset" else self.side_max


@dataclass
class QuantizedMatrix:
    """``M ≈ w_int · scale`` (scale per output column)."""

    w_int: np.ndarray
    """(inputs, outputs) integers in [−q_max, q_max]."""
    scale: np.ndarray
    """(outputs,) weight value of one integer step."""
    q_max: int
    n_clipped: int
    """Weights beyond the clip value (uniform)."""

    @property
    def weights(self) -> np.ndarray:
        """The quantized weights ``w_int · scale``."""
        return self.w_int * self.scale


def quantize_matrix(M: np.ndarray, config: MappingConfig, layer: str = "layer") -> QuantizedMatrix:
    """Post-training quantization of *M* (inputs, outputs) per *config*."""
    M = np.asarray(M, dtype=np.float64)
    if not np.all(np.isfinite(M)):
        raise ValueError(f"{layer}: W must be finite numbers")
    a = np.abs(M)
    axis = 0 if config.per_channel else None

    def per(values: np.ndarray) -> np.ndarray:
        return np.broadcast_to(values, (M.shape[1],)).astype(np.float64).copy()

    if config.weights == "uniform":
        q = config.q_max
        clip = per(np.percentile(a, config.clip_percentile, axis=axis))
        scale = np.where(clip > 0, clip / q, 1.0)
        ratio = M / scale
        w_int = np.clip(np.round(ratio), -q, q).astype(np.int64)
        return QuantizedMatrix(w_int, scale, q, int((np.abs(ratio) > q + 0.5).sum()))
    if config.weights == "binary":
        scale = per(a.mean(axis=axis))
        scale = np.where(scale > 0, scale, 1.0)
        return QuantizedMatrix(np.where(M >= 0, 1, -1).astype(np.int64), scale, 1, 0)
    delta = 0.7 * per(a.mean(axis=axis))
    keep = a > delta
    kept_sum = (a * keep).sum(axis=axis) if axis is not None else (a * keep).sum()
    kept_n = keep.sum(axis=axis) if axis is not None else keep.sum()
    scale = per(np.where(kept_n > 0, kept_sum / np.maximum(kept_n, 1), 1.0))
    return QuantizedMatrix((np.sign(M) * keep).astype(np.int64), scale, 1, 0)


def slice_digits(v: np.ndarray, levels: int, k: int) -> np.ndarray:
    """Base-*levels* digits of non-negative integers *v*: shape (*v.shape, k), least significant first."""
    v = np.asarray(v, dtype=np.int64)
    powers = levels ** np.arange(k, dtype=np.int64)
    return (v[..., None] // powers) % levels


@dataclass
class Block:
    """A rectangle of one layer's matrix placed on a tile.

    Physical columns, left to right: per output ``o`` of ``outputs`` and per slice ``s``: ``pairs``:
    (+, −); ``plus``/``minus``/``offset``: one column; ``offset`` blocks end with one reference column
    per slice.
    """

    layer: str
    rows: tuple[int, int]
    """Rows [start, stop) of the layer matrix (inputs)."""
    outputs: tuple[int, int]
    """Outputs [start, stop) of the layer matrix."""
    part: str
    """``pairs``, ``plus``, ``minus`` or ``offset``."""
    n_cols: int
    """Physical columns."""
    targets_us: np.ndarray
    """(rows, n_cols) target conductances."""
    tile: int = -1
    col0: int = 0
    """First physical column on the tile."""

    @property
    def n_rows(self) -> int:
        return self.rows[1] - self.rows[0]

    @property
    def row_window(self) -> tuple[int, int]:
        return (0, self.n_rows)

    @property
    def col_window(self) -> tuple[int, int]:
        return (self.col0, self.col0 + self.n_cols)

    @property
    def n_cells(self) -> int:
        return self.n_rows * self.n_cols


@dataclass
class LayerPlan:
    """One matrix layer: its quantization and its blocks."""

    name: str
    kind: str
    shape: tuple[int, int]
    """(inputs, outputs) of the matrix."""
    quantized: QuantizedMatrix
    blocks: list[Block]
    unit_cols: int
    """Physical columns per output."""
    ref_cols: int
    """Reference columns per block (offset)."""

    @property
    def n_cells(self) -> int:
        return sum(b.n_cells for b in self.blocks)

    @property
    def cells_per_weight(self) -> float:
        return self.n_cells / (self.shape[0] * self.shape[1])

    @property
    def tiles(self) -> list[int]:
        return sorted({b.tile for b in self.blocks})


@dataclass
class Plan:
    """Where every weight goes: layers, blocks, tiles; printable with :meth:`to_text`."""

    config: MappingConfig
    spec_name: str
    tile_shape: tuple[int, int]
    n_tiles_chip: int
    g_lo_us: float
    g_hi_us: float
    layers: list[LayerPlan]
    chip_differential: str = "none"
    notes: list[str] = field(default_factory=list)

    @property
    def step_us(self) -> float:
        """Δ, the conductance of one digit step."""
        return (self.g_hi_us - self.g_lo_us) / (self.config.levels - 1)

    @property
    def blocks(self) -> list[Block]:
        return [b for layer in self.layers for b in layer.blocks]

    @property
    def tiles_used(self) -> list[int]:
        return sorted({b.tile for b in self.blocks})

    @property
    def n_cells(self) -> int:
        return sum(layer.n_cells for layer in self.layers)

    @property
    def utilization(self) -> float:
        """Cells used / cells of the tiles used."""
        r, c = self.tile_shape
        return self.n_cells / (len(self.tiles_used) * r * c)

    def layer(self, name: str) -> LayerPlan:
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(f"no layer named {name!r}; layers: {[lp.name for lp in self.layers]}")

    def to_text(self) -> str:
        c = self.config
        r, cc = self.tile_shape
        lines = [
            f"plan on {self.spec_name}: {len(self.tiles_used)} of {self.n_tiles_chip} tiles ({r}x{cc}), "
            f"{self.n_cells:,} cells, utilization {self.utilization:.1%}",
            f"  {c.levels} levels of {self.step_us:.3g} uS in [{self.g_lo_us:.3g}, {self.g_hi_us:.3g}] uS, "
            f"{c.cells_per_weight} cell(s) per weight and sign, signed as {c.signed}"
            f"{' (chip subtracts pairs: ' + self.chip_differential + ')' if c.signed == 'pairs' else ''}, "
            f"{c.weights} weights, scale per {'column' if c.per_channel else 'layer'}",
        ]
        for lp in self.layers:
            q = lp.quantized
            lines.append(f"  {lp.name} ({lp.kind}) {lp.shape[0]}x{lp.shape[1]}: {len(lp.blocks)} block(s) on tile(s) "
                         f"{','.join(map(str, lp.tiles))}, {lp.n_cells:,} cells ({lp.cells_per_weight:.2f} per weight), "
                         f"integers in [-{q.q_max}, {q.q_max}], {q.n_clipped} weight(s) clipped")
            for b in lp.blocks:
                lines.append(f"    tile {b.tile}: rows {b.rows[0]}..{b.rows[1]} outputs {b.outputs[0]}..{b.outputs[1]} "
                             f"{b.part} -> cells rows 0..{b.n_rows} cols {b.col0}..{b.col0 + b.n_cols}")
        lines.extend(f"  note: {n}" for n in self.notes)
        return "\n".join(lines)


def device_window_us(spec, margin: float) -> tuple[float, float]:
    """The conductance window [g_lo, g_hi] the levels span: the device's nominal range less *margin*."""
    p = spec.tile.device.params
    lo, hi = float(p.g_min_us), float(p.g_max_us)
    return lo + margin * (hi - lo), hi - margin * (hi - lo)


def _layer_blocks(name: str, q: QuantizedMatrix, config: MappingConfig, tile_rows: int, tile_cols: int,
                  g_lo: float, step: float) -> tuple[list[Block], int, int]:
    n_in, n_out = q.w_int.shape
    k, n = int(config.cells_per_weight), int(config.levels)
    signed = config.signed
    unit = 2 * k if signed == "pairs" else k
    ref = k if signed == "offset" else 0
    if unit + ref > tile_cols:
        raise ValueError(f"{name}: one output needs {unit + ref} columns ({k} cells per weight, {signed}) but a tile "
                         f"has {tile_cols}")
    per_block = (tile_cols - ref) // unit
    n_rb = -(-n_in // tile_rows)
    row_cuts = np.linspace(0, n_in, n_rb + 1).round().astype(int)
    n_cb = -(-n_out // per_block)
    col_cuts = np.linspace(0, n_out, n_cb + 1).round().astype(int)
    plus = slice_digits(np.maximum(q.w_int, 0), n, k)            # (in, out, k)
    minus = slice_digits(np.maximum(-q.w_int, 0), n, k)
    offset = slice_digits(q.w_int + q.q_max, n, k) if signed == "offset" else None
    ref_digits = slice_digits(np.array(q.q_max), n, k) if signed == "offset" else None
    blocks = []
    for r0, r1 in zip(row_cuts[:-1], row_cuts[1:]):
        for o0, o1 in zip(col_cuts[:-1], col_cuts[1:]):
            rs, os_ = slice(r0, r1), slice(o0, o1)
            if signed == "pairs":
                d = np.stack([plus[rs, os_], minus[rs, os_]], axis=-1).reshape(r1 - r0, -1)
                parts = [("pairs", d)]
            elif signed == "tiles":
                parts = [("plus", plus[rs, os_].reshape(r1 - r0, -1)), ("minus", minus[rs, os_].reshape(r1 - r0, -1))]
            else:
                d = offset[rs, os_].reshape(r1 - r0, -1)
                parts = [("offset", np.concatenate([d, np.broadcast_to(ref_digits, (r1 - r0, k))], axis=1))]
            for part, digits in parts:
                blocks.append(Block(name, (int(r0), int(r1)), (int(o0), int(o1)), part, digits.shape[1],
                                    g_lo + digits * step))
    return blocks, unit, ref


def _place(blocks: list[Block], n_tiles: int, tile_cols: int, packing: str, even: bool) -> int:
    """Give every block a tile and first column; returns the number of tiles used (may exceed n_tiles)."""
    if packing == "spread" or (packing == "auto" and len(blocks) <= n_tiles):
        for t, b in enumerate(blocks):
            b.tile, b.col0 = t, 0
        return len(blocks)
    free: list[int] = []  # next free column per tile
    for b in blocks:
        for t, c0 in enumerate(free):
            start = c0 + (c0 % 2 if even else 0)
            if start + b.n_cols <= tile_cols:
                b.tile, b.col0 = t, start
                free[t] = start + b.n_cols
                break
        else:
            b.tile, b.col0 = len(free), 0
            free.append(b.n_cols)
    return len(free)


def plan(model: Model, spec, config: MappingConfig | None = None, **options) -> Plan:
    """Map every matrix layer of *model* onto the tiles of a chip with *spec* (nothing is sent).

    *options* override fields of *config*. Raises ValueError naming the layer for weights that cannot
    be mapped, and when the model needs more tiles than the chip has (saying how many it needs).
    """
    config = MappingConfig(**{**(config.__dict__ if config else {}), **options})
    tile_rows, tile_cols = spec.tile.array.rows, spec.tile.array.cols
    differential = spec.tile.adc.differential
    if differential != "none" and config.signed != "pairs":
        raise ValueError(f"mapping: this chip subtracts column pairs ({differential}), so weights must be signed "
                         f"as 'pairs', not {config.signed!r}")
    g_lo, g_hi = device_window_us(spec, config.margin)
    step = (g_hi - g_lo) / (config.levels - 1)
    layers = []
    if not model.matrix_layers:
        raise ValueError("mapping: the model has no Dense or Conv2d layer to put on the chip")
    for layer in model.layers:
        if not is_matrix_layer(layer):
            continue
        q = quantize_matrix(layer.matrix, config, layer.name)
        blocks, unit, ref = _layer_blocks(layer.name, q, config, tile_rows, tile_cols, g_lo, step)
        layers.append(LayerPlan(layer.name, layer.kind, tuple(layer.matrix.shape), q, blocks, unit, ref))
    all_blocks = [b for lp in layers for b in lp.blocks]
    needed = _place(all_blocks, spec.n_tiles, tile_cols, config.packing, differential != "none")
    if needed > spec.n_tiles:
        raise ValueError(f"mapping: the model needs {needed} tiles of {tile_rows}x{tile_cols} "
                         f"({sum(b.n_cells for b in all_blocks):,} cells in {len(all_blocks)} blocks, packed "
                         f"{config.packing}) but the chip {spec.name!r} has {spec.n_tiles}")
    out = Plan(config, spec.name, (tile_rows, tile_cols), spec.n_tiles, g_lo, g_hi, layers, differential)
    return out
