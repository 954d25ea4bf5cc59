"""The device-model contract and its registry.

A device model is the population of cells of one tile: it holds every per-cell state array and the
per-cell parameters drawn once from the chip seed (device-to-device variation, stuck cells), and it
answers the few questions the :class:`~twin.array.Array` asks. Physics lives in numba kernels under
:mod:`twin.physics`; a model is the Python layer that owns the random generators, draws the random
numbers in a fixed order and calls the kernels with plain arrays.

To add a model: a frozen ``Params`` dataclass (fields declared with
:func:`twin.spec.fields.spec_field`, a unit in every name, a docstring under every field), a
subclass of :class:`DeviceModel` decorated with :func:`register_device_model`, kernels with numpy
references, and tests. The spec then selects it with ``device.model: <name>``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

import numpy as np

from twin.rng import TileRng
from twin.spec.chipspec import EffectsSpec

DEVICE_MODELS: dict[str, type["DeviceModel"]] = {}
"""Registered device models by spec name."""


def register_device_model(name: str):
    """Class decorator: make a DeviceModel selectable as ``device.model: <name>`` in a chip spec."""

    def add(cls: type[DeviceModel]) -> type[DeviceModel]:
        if name in DEVICE_MODELS:
            raise ValueError(f"device model {name!r} is already registered by {DEVICE_MODELS[name].__qualname__}")
        cls.name = name
        DEVICE_MODELS[name] = cls
        return cls

    return add


def check_conductance_bounds(params: Any) -> list[tuple[str, str]]:
    """Cross-field rules every model's ``g_min_us``, ``g_max_us`` and ``g_init_us`` obey."""
    problems = []
    if params.g_min_us >= params.g_max_us:
        problems.append(("g_max_us", f"must be > g_min_us ({params.g_min_us:g}), not {params.g_max_us:g}"))
    if not params.g_min_us <= params.g_init_us <= params.g_max_us:
        problems.append(("g_init_us", f"must be in [g_min_us, g_max_us] = [{params.g_min_us:g}, "
                                      f"{params.g_max_us:g}], not {params.g_init_us:g}"))
    return problems


class DeviceModel(ABC):
    """The cells of one tile.

    Cells are addressed by flat index ``row * cols + col`` (int64 arrays); all per-cell arguments are
    1-D arrays of the same length. Conductances in µS, voltages in V, widths and times in ps,
    energies in pJ. Implementations must draw random numbers only from ``rng[purpose]`` and in an
    order that depends only on the command stream.
    """

    name: ClassVar[str] = ""
    """Registry name (set by :func:`register_device_model`)."""
    Params: ClassVar[type]
    """Frozen dataclass of the model's parameters, validated by the spec loader."""

    def __init__(self, params: Any, rows: int, cols: int, effects: EffectsSpec, rng: TileRng) -> None:
        self.params = params
        self.rows = rows
        self.cols = cols
        self.effects = effects
        self.rng = rng

    # --- state -------------------------------------------------------------------------------
    @abstractmethod
    def conductance_us(self, now_ps: int) -> np.ndarray:
        """True conductance of every cell at *now_ps*, shape (rows, cols), relaxation applied.

        The returned array may be a cached internal buffer: callers must not modify it.
        """

    @property
    @abstractmethod
    def version(self) -> int:
        """A counter that changes whenever any conductance may have changed (for caches)."""

    def changed_since(self, version: int) -> np.ndarray | None:
        """Optional change tracking: flat indices (int64, repeats allowed) of the cells whose conductance may
        have changed after *version*, or None when that is unknown (the caller then recomputes everything).

        A model that tracks changes answers an empty array for its current ``version``; the default
        answers None for every version (nothing tracked), so callers keep no incremental caches.
        """
        return None

    @property
    def telegraph_stamp(self) -> int | None:
        """Optional telegraph tracking: a counter bumped whenever telegraph updates rewrite entries of
        :meth:`conductance_with_telegraph_us`; None (the default) when the model does not track them."""
        return None

    def telegraph_changed_since(self, stamp: int | None) -> np.ndarray | None:
        """Optional telegraph tracking: flat indices (int64, repeats allowed) of the cells whose
        :meth:`conductance_with_telegraph_us` entry telegraph updates rewrote after *stamp* (cells whose
        conductance changed are in :meth:`changed_since`), or None when that is unknown (the default).

        A model that tracks them answers an empty array for its current ``telegraph_stamp``.
        """
        return None

    @property
    def g_range_us(self) -> tuple[float, float]:
        """Nominal (g_min, g_max) of the model, µS."""
        return (float(self.params.g_min_us), float(self.params.g_max_us))

    # --- programming -------------------------------------------------------------------------
    @abstractmethod
    def apply_pulses(self, idx: np.ndarray, is_set: np.ndarray, v_pulse_v: np.ndarray, width_ps: np.ndarray,
                     v_gate_v: np.ndarray, now_ps: int) -> np.ndarray:
        """Apply one programming pulse to each cell *idx*; return the cell energy of each pulse, pJ.

        *idx* holds no duplicates. *is_set* is True for SET (positive), False for RESET (negative);
        *v_pulse_v* is the pulse magnitude (positive).
        """

    def cell_sequence(self, is_read: np.ndarray, idx: np.ndarray, is_set: np.ndarray, v_pulse_v: np.ndarray,
                      width_ps: np.ndarray, v_gate_v: np.ndarray, t_ps: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray] | None:
        """Optional fast path: single-cell pulses and reads in order, op *k* on cell ``idx[k]`` at ``t_ps[k]``.

        Must give, bit for bit, what one ``apply_pulses`` per pulse and one read per read would give
        (the same draws from the same streams, the same state afterwards). Returns (conductance of each
        read cell at its time, its telegraph offset or None when the model has none, energy of each
        pulse in pJ), arrays of length n with the other kind's entries unused; or None when the model
        has no such path (the chip then executes one command at a time).
        """
        return None

    # --- reading -----------------------------------------------------------------------------
    def read_noise_var_us2(self, g_us: np.ndarray, v_read_v: float) -> np.ndarray | None:
        """Variance of the white read noise of cells of conductance *g_us* at *v_read_v*, µS².

        Returns None when the model has no read noise (the caller then draws nothing).
        """
        return None

    def telegraph_us(self, idx: np.ndarray | None, now_ps: int) -> np.ndarray | None:
        """Telegraph-noise offset of cells *idx* (all cells, shape (rows, cols), if None) at *now_ps*.

        Returns None when the model has no telegraph noise (saves the caller an addition).
        """
        return None

    def conductance_with_telegraph_us(self, now_ps: int) -> np.ndarray:
        """Conductance plus telegraph offset of every cell at *now_ps*, (rows, cols), for MVMs.

        Models may cache it (callers must not modify the result).
        """
        rtn = self.telegraph_us(None, now_ps)
        g = self.conductance_us(now_ps)
        return g if rtn is None else g + rtn

    def iv_nonlinearity_per_v(self) -> float:
        """Parameter a of the read I–V curve ``i = g·v·sinh(a·v)/(a·v)``; 0 for an ohmic cell."""
        return 0.0

    def nbytes(self) -> int:
        """Bytes of per-cell state held by the model."""
        return sum(v.nbytes for v in vars(self).values() if isinstance(v, np.ndarray))
