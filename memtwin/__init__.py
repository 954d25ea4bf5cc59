"""The memtwin application: the ``memtwin`` command line, the demo, plots and the calibration lab.

Nothing imports this package; it imports :mod:`firmware` and :mod:`twin` (``docs/architecture.md``).
"""
