"""``auto`` energies and times: numbers derived from the design, resolved once when a spec loads.

A spec field listed in :data:`AUTO_FIELDS` may be written ``auto`` in YAML. The loader keeps the
string until the whole spec is built, then :func:`resolve_auto` replaces it with the number the
model below gives for *that* spec (its ADC bits, its columns, its read voltage...), so the rest of
the twin sees plain numbers, and a study that sweeps ``tile.adc.bits`` sees the ADC energy follow.
Explicit numbers are never touched. Formulas and sources: ``docs/energy-models.md``.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

ADC_FOM_MEDIAN_FJ = 30.0
"""Walden figure of merit of the median SAR ADC of 6–10 effective bits at 1 MS/s–1 GS/s in Murmann's
ADC survey (1997–2025), fJ per conversion step (``shared/science.md`` §3)."""

ADC_FOM_BEST_FJ = 0.354
"""Best Walden figure of merit in the same survey, fJ per conversion step (the loader warns below it)."""

SAR_CYCLE_PS = 1250
"""One SAR bit cycle, ps: a SAR ADC resolves one bit per cycle, so a conversion takes ``bits`` cycles.
Anchored to the bundled specs' 8-bit, 10 ns (100 MS/s) SAR: 10 ns / 8 cycles (our choice of anchor)."""

C_LINE_PER_CELL_FF = 0.2
"""Capacitance a driven line sees per cell it crosses, fF: about 1 µm of local interconnect at the
order of 0.2 fF/µm plus the access transistor's junction (our choice, order of magnitude)."""

C_WORDLINE_PER_CELL_FF = 0.1
"""Gate capacitance of one access transistor on a word line, fF (our choice, order of magnitude for
a minimum-size transistor)."""

CONTROLLER_GATE_TOGGLES = 1000
"""Logic gates that switch to decode and dispatch one command (our choice, order of magnitude)."""

C_GATE_FF = 1.0
"""Switched capacitance of one logic gate with its local wiring, fF (our choice)."""

V_DD_V = 1.0
"""Logic supply voltage, V (our choice)."""


def adc_energy_pj(bits: int, fom_fj: float = ADC_FOM_MEDIAN_FJ) -> float:
    """Energy of one ADC conversion, pJ: Walden ``E = FOM_W · 2^bits`` (bits taken as the ENOB)."""
    return fom_fj * 2.0 ** bits * 1e-3


def sar_conversion_ps(bits: int, cycle_ps: int = SAR_CYCLE_PS) -> int:
    """Time of one SAR conversion, ps: one cycle per bit."""
    return int(bits) * int(cycle_ps)


def row_drive_energy_pj(cols: int, v_read_v: float, v_wordline_v: float,
                        c_line_ff: float = C_LINE_PER_CELL_FF, c_wl_ff: float = C_WORDLINE_PER_CELL_FF) -> float:
    """Energy of driving one row once, pJ: ``C·V²`` of the row line charged to the read voltage plus the
    word line (the access transistors' gates of that row) charged to the gate voltage, ``cols`` cells each."""
    return cols * (c_line_ff * v_read_v ** 2 + c_wl_ff * v_wordline_v ** 2) * 1e-3


def controller_energy_pj(gate_toggles: int = CONTROLLER_GATE_TOGGLES, c_gate_ff: float = C_GATE_FF,
                         v_dd_v: float = V_DD_V) -> float:
    """Energy of decoding and dispatching one command, pJ: ``N · C_gate · V_DD²``."""
    return gate_toggles * c_gate_ff * v_dd_v ** 2 * 1e-3


def _adc_e(spec: Any) -> float:
    return adc_energy_pj(spec.tile.adc.bits)


def _adc_t(spec: Any) -> int:
    return sar_conversion_ps(spec.tile.adc.bits)


def _dac_e(spec: Any) -> float:
    t = spec.tile
    return row_drive_energy_pj(t.array.cols, t.read.v_read_v, t.programming.v_gate_range_v[1])


def _controller_e(spec: Any) -> float:
    return controller_energy_pj()


AUTO_MODELS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "tile.adc.e_convert_pj": ("e_convert_pj", _adc_e),
    "tile.adc.t_convert_ns": ("t_convert_ps", _adc_t),
    "tile.dac.e_convert_pj": ("e_convert_pj", _dac_e),
    "controller.e_command_pj": ("e_command_pj", _controller_e),
}
"""YAML path of each field that accepts ``auto`` → (dataclass field name, model of the spec)."""

AUTO_FIELDS = tuple(AUTO_MODELS)
"""YAML paths of the fields that accept ``auto``."""


def _replace_at(obj: Any, path: list[str], field: str, value: Any) -> Any:
    if not path:
        return dataclasses.replace(obj, **{field: value})
    child = getattr(obj, path[0])
    return dataclasses.replace(obj, **{path[0]: _replace_at(child, path[1:], field, value)})


def resolve_auto(spec: Any, paths: tuple[str, ...] | None = None) -> Any:
    """*spec* with every ``auto`` field (or every field in *paths*) replaced by its model's number.

    The result records the resolved paths in ``spec.auto_fields``, so that a spec changed later
    (a study's variant) can be resolved again for its new bits, columns or voltages.
    """
    if paths is None:
        paths = tuple(p for p, (name, _) in AUTO_MODELS.items() if _get(spec, p, name) == "auto")
    for p in paths:
        name, model = AUTO_MODELS[p]
        spec = _replace_at(spec, p.split(".")[:-1], name, "auto")  # placeholder so models see other fields only
    for p in paths:  # models read only non-auto fields (bits, cols, voltages), so the order does not matter
        name, model = AUTO_MODELS[p]
        spec = _replace_at(spec, p.split(".")[:-1], name, model(spec))
    return dataclasses.replace(spec, auto_fields=tuple(sorted(set(paths))))


def _get(spec: Any, path: str, name: str) -> Any:
    obj = spec
    for part in path.split(".")[:-1]:
        obj = getattr(obj, part)
    return getattr(obj, name)


__all__ = ["ADC_FOM_MEDIAN_FJ", "ADC_FOM_BEST_FJ", "SAR_CYCLE_PS", "C_LINE_PER_CELL_FF", "C_WORDLINE_PER_CELL_FF",
           "AUTO_FIELDS", "AUTO_MODELS", "adc_energy_pj", "sar_conversion_ps", "row_drive_energy_pj",
           "controller_energy_pj", "resolve_auto"]
