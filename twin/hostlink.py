"""The host↔chip link: one transfer at a time, first come first served, latency plus bits over bandwidth."""

from __future__ import annotations

from twin.spec.chipspec import HostLinkSpec
from twin.units import transfer_ps


class HostLink:
    """A single FIFO server on the simulated clock.

    Transfers are reserved at the simulated time they are requested (the chip requests each one at
    that time, in time order), so ``start = max(requested, free_at)`` is exactly the first-come
    first-served schedule a SimPy Resource of capacity 1 would give, without one event per request.
    """

    def __init__(self, spec: HostLinkSpec) -> None:
        self.spec = spec
        self.free_at_ps = 0
        """When the link finishes its last reserved transfer."""
        self.n_reserved = 0
        """Transfers booked so far; command logs record it to replay same-time bookings in their original order."""
        self._durations_ps: dict[int, int] = {}
        """duration_ps by transfer size, for the sizes seen so far."""

    def duration_ps(self, n_bytes: int) -> int:
        """Time one transfer of *n_bytes* (header included by the caller) holds the link."""
        return self.spec.latency_ps + transfer_ps(8 * n_bytes, self.spec.bandwidth_bps)

    def energy_pj(self, n_bytes: int) -> float:
        """Energy of moving *n_bytes* across the link."""
        return 8 * n_bytes * self.spec.e_per_bit_pj

    def reserve(self, requested_ps: int, n_bytes: int) -> tuple[int, int]:
        """Book one transfer requested at *requested_ps*; returns its (start_ps, end_ps)."""
        start_ps = max(requested_ps, self.free_at_ps)
        duration_ps = self._durations_ps.get(n_bytes)
        if duration_ps is None:
            duration_ps = self.duration_ps(n_bytes)
            if len(self._durations_ps) < 4096:
                self._durations_ps[n_bytes] = duration_ps
        end_ps = start_ps + duration_ps
        self.free_at_ps = end_ps
        self.n_reserved += 1
        return start_ps, end_ps
