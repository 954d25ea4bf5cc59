"""The host↔chip link: one transfer at a time, first come first served, latency plus bits over bandwidth."""

from __future__ import annotations

import functools

from twin.spec.chipspec import HostLinkSpec
from twin.units import transfer_ps

_MAX_SHARED_DURATIONS = 4096
"""Most transfer sizes a link keeps the duration of."""


def transfer_duration_ps(spec: HostLinkSpec, n_bytes: int) -> int:
    """Time one transfer of *n_bytes* (header included by the caller) holds a link of *spec*."""
    return spec.latency_ps + transfer_ps(8 * n_bytes, spec.bandwidth_bps)


class HostLink:
    """A single FIFO server on the simulated clock.

    Transfers are reserved at the simulated time they are requested (the chip requests each one at
    that time, in time order), so ``start = max(requested, free_at)`` is exactly the first-come
    first-served schedule a SimPy Resource of capacity 1 would give, without one event per request.
    """

    def __init__(self, spec: HostLinkSpec) -> None:
        self.spec = spec
        self.free_at_ps = 0
        """When the link finishes its last booked transfer (kept by :meth:`reserve` and :meth:`book_run`)."""
        self.n_reserved = 0
        """Transfers booked so far; command logs record it to replay same-time bookings in their original order."""
        self.duration_ps = functools.lru_cache(_MAX_SHARED_DURATIONS)(functools.partial(transfer_duration_ps, spec))
        """``duration_ps(n_bytes)``: time one transfer of *n_bytes* holds the link (:func:`transfer_duration_ps`)."""

    def energy_pj(self, n_bytes: int) -> float:
        """Energy of moving *n_bytes* across the link."""
        return 8 * n_bytes * self.spec.e_per_bit_pj

    def reserve(self, requested_ps: int, n_bytes: int) -> tuple[int, int]:
        """Book one transfer requested at *requested_ps*; returns its (start_ps, end_ps)."""
        start_ps = max(requested_ps, self.free_at_ps)
        end_ps = start_ps + self.duration_ps(n_bytes)
        self.free_at_ps = end_ps
        self.n_reserved += 1
        return start_ps, end_ps

    def book_run(self, n_transfers: int, free_at_ps: int) -> int:
        """Book *n_transfers* transfers scheduled together in closed form (``twin.booking.schedule_run``), the
        last ending at *free_at_ps*; returns the number of transfers booked before them."""
        if n_transfers < 0 or free_at_ps < self.free_at_ps:
            raise ValueError(f"a run of {n_transfers} transfers ending at {free_at_ps} ps cannot follow the "
                             f"link's bookings up to {self.free_at_ps} ps")
        first = self.n_reserved
        self.n_reserved += n_transfers
        self.free_at_ps = free_at_ps
        return first
