"""The command stream: the log format, recording a chip's commands, and replaying a log on a twin.

Logs live beside the chip they replay (not in ``firmware/``): replay books commands in the recorded
host-link order through the chip's own booking methods. Formats: ``docs/log-format.md``; use:
``docs/logs.md``.
"""

from twin.log.format import LogHeader, LogReader, LogRecord, HardwareEvent, read_hardware_csv, read_log
from twin.log.recorder import CommandLog, record
from twin.log.replayer import ReplayReport, replay

__all__ = ["CommandLog", "HardwareEvent", "LogHeader", "LogReader", "LogRecord", "ReplayReport", "read_hardware_csv",
           "read_log", "record", "replay"]
