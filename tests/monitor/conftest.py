"""Fixtures for the monitoring tests: the generated archive (:func:`support.monitor.full_archive`)."""

from support.monitor import full_archive as full_archive
