"""Helpers shared by the tests: real MRT data and its bgpdump references, generated scenarios, servers on
127.0.0.1, builders, and the system parts a test needs (:mod:`support.needs`).

``tests/`` is on the import path through pytest's ``pythonpath`` setting (pyproject.toml), so a test
imports ``from support.needs import need_bgpdump``.
"""
