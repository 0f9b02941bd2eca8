"""Fixtures for the live tests: the replay server, and the generator's helpers on the import path."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "generate"))

from live_server import Frame, ReplayServer, ServerThread  # noqa: E402


@pytest.fixture
def replay() -> Iterator[Callable[..., ReplayServer]]:
    """Start a replay server: ``replay(frames, subscriptions=, disconnect_after=, close_at_end=)``."""
    running: list[ServerThread] = []

    def start(frames: Sequence[Frame], **options: object) -> ReplayServer:
        thread = ServerThread(ReplayServer(list(frames), **options))  # type: ignore[arg-type]
        running.append(thread)
        return thread.__enter__()

    yield start
    for thread in running:
        thread.__exit__(None, None, None)
