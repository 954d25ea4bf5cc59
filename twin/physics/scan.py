"""One-pass checks of command data: copy inputs and say whether they lie in a closed range.

A command keeps its own read-only copy of the inputs it was given and must know at once whether any
is NaN or infinite (an error on creation) and whether all are in range (asked by ``check``). One pass,
with plain loads and stores: fewer passes over memory than numpy's copy, min and max, and no glibc
``memcpy`` (see docs/performance.md).
"""

import numba


@numba.njit(cache=True)
def copy_in_range(src, dst, lo, hi):
    """Copy the 1-D float64 array *src* into *dst* (same size; may be *src* itself) and return whether
    every value lies in [lo, hi]: False when any is outside it, NaN or infinite."""
    ok = True
    for i in range(src.size):
        x = src[i]
        dst[i] = x
        ok &= (x >= lo) & (x <= hi)
    return ok
