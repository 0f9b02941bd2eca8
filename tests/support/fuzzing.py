"""Shared pieces of the hardening tests: the fuzz profiles, a per-case time bound, and case counting.

Profiles (environment ``HYPOTHESIS_PROFILE``): ``ci`` (default; a few hundred cases per reader, the whole
folder well under 90 s on 2 cores) and ``long`` (thousands of cases per test, for a local fuzzing
session). The profile is applied per test with ``@FUZZ`` and never loaded globally, so other suites keep
their own settings. Every case runs under :func:`bounded`: a case still running after
:data:`CASE_BOUND_S` seconds fails as a hang (a correctness bound, not a speed measurement).
"""

from __future__ import annotations

import os
import signal
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from hypothesis import HealthCheck, settings

CASE_BOUND_S = 30.0
PROFILE_ENV = "HYPOTHESIS_PROFILE"
PROFILES = {"ci": 1, "long": 25}
COUNTS: Counter[str] = Counter()

for _name, _scale in PROFILES.items():
    settings.register_profile(
        f"anystab-{_name}",
        max_examples=100 * _scale,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        print_blob=True,
    )
PROFILE = os.environ.get(PROFILE_ENV, "ci") if os.environ.get(PROFILE_ENV, "ci") in PROFILES else "ci"
SCALE = PROFILES[PROFILE]
FUZZ = settings(settings.get_profile(f"anystab-{PROFILE}"))


def fuzz(examples: int) -> settings:
    """The profile's settings with ``examples`` cases (times the profile's scale)."""
    return settings(FUZZ, max_examples=examples * SCALE)


class CaseHang(AssertionError):
    """A fuzz case ran past :data:`CASE_BOUND_S`."""


def _alarm(signum: int, frame: FrameType | None) -> None:
    raise CaseHang(f"a fuzz case ran for more than {CASE_BOUND_S:g} s")


@contextmanager
def bounded(reader: str, seconds: float = CASE_BOUND_S) -> Iterator[None]:
    """Count one case of ``reader`` and fail it if it runs longer than ``seconds``."""
    COUNTS[reader] += 1
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
