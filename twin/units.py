"""Units at the edges: integer picoseconds inside, named units in YAML and reports.

Naming rule (used everywhere in memtwin): every physical quantity carries its unit as a suffix.

=============  ========  ===================================================
quantity       suffix    note
=============  ========  ===================================================
time           ``_ps``   integer picoseconds: the simulated clock unit
time (YAML)    ``_ns``   converted once, at load, by :func:`to_ps`
conductance    ``_us``   microsiemens (only on ``g`` names; time never uses ``_us``)
voltage        ``_v``
current        ``_ua``   µS · V = µA, so kernels need no scale factors
resistance     ``_ohm``
energy         ``_pj``
power          ``_mw``   (spec) and ``_uw`` (physics kernels)
bandwidth      ``_bps``  bits per second, integer
=============  ========  ===================================================
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

PS_PER: dict[str, int] = {
    "ps": 1,
    "ns": 1_000,
    "us": 1_000_000,
    "ms": 1_000_000_000,
    "s": 1_000_000_000_000,
}
"""Picoseconds in one of each time unit."""


def to_ps(value: float | int | str, unit: str) -> int:
    """Return *value* in *unit* as whole picoseconds.

    Raises ValueError if the value is not a whole number of picoseconds: the twin never
    rounds time silently (1.1 ns is 1100 ps; 0.0005 ns is an error).
    """
    if unit not in PS_PER:
        raise ValueError(f"unknown time unit {unit!r}; known: {', '.join(PS_PER)}")
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a number")
    try:
        ps = Decimal(str(value)) * PS_PER[unit]  # Decimal: 1.1 ns is 1100 ps, not 1100.0000000000002
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a number") from None
    if not ps.is_finite() or ps != ps.to_integral_value():
        raise ValueError(f"{value} {unit} is not a whole number of picoseconds")
    return int(ps)


def ps_to(value_ps: int, unit: str) -> float:
    """Return *value_ps* picoseconds expressed in *unit* (for reports only)."""
    return value_ps / PS_PER[unit]


def power_time_to_pj(p_mw: float, duration_ps: int) -> float:
    """Energy in pJ of *p_mw* milliwatts held for *duration_ps* picoseconds (1 mW · 1 ps = 1e-3 pJ)."""
    return p_mw * duration_ps * 1e-3


def uw_ps_to_pj(p_uw: float, duration_ps: int) -> float:
    """Energy in pJ of *p_uw* microwatts held for *duration_ps* picoseconds (1 µW · 1 ps = 1e-6 pJ)."""
    return p_uw * duration_ps * 1e-6


def transfer_ps(n_bits: int, bandwidth_bps: int) -> int:
    """Whole picoseconds to move *n_bits* at *bandwidth_bps*, rounded up."""
    return -(-n_bits * PS_PER["s"] // bandwidth_bps)
