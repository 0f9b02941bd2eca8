"""Cron-driven monitoring: process what is new, keep a day-partitioned history, alert on instability.

Modules: :mod:`~anystab.monitor.config` (the TOML file), :mod:`~anystab.monitor.lock` (one run at a
time), :mod:`~anystab.monitor.state` (element cache and checkpoint), :mod:`~anystab.monitor.dataset`
(parquet partitions), :mod:`~anystab.monitor.alerts` (episodes, notifications, delivery),
:mod:`~anystab.monitor.run` (one run) and :mod:`~anystab.monitor.history` (the stored history's summary).
"""

from anystab.errors import LockBusyError
from anystab.monitor.config import EXAMPLE_CONFIG, MonitorConfig, load_config
from anystab.monitor.history import summarise
from anystab.monitor.lock import RunLock
from anystab.monitor.run import RunReport, run_monitor

__all__ = [
    "EXAMPLE_CONFIG",
    "LockBusyError",
    "MonitorConfig",
    "RunLock",
    "RunReport",
    "load_config",
    "run_monitor",
    "summarise",
]
