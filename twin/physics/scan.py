"""One-pass checks of command data: copy inputs and say whether they lie in a closed range.

A command keeps its own read-only copy of the inputs it was given and must know at once whether any
is NaN or infinite (an error on creation) and whether all are in range (asked by ``check``). In numpy
that is a copy plus a min and a max: three passes over the data. The kernel here does it in one,
and copies with plain loads and stores (glibc's ``memcpy`` uses ``rep movsb`` for mid-sized copies,
which some x86 virtual machines run at a tenth of their memory bandwidth).
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
