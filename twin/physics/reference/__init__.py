"""Plain-numpy references for every kernel in :mod:`twin.physics`, one module per kernel module.

Tests compare each kernel against its reference on small cases; ``bench/`` uses them as baselines.
"""
