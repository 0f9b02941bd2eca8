"""Fixtures for the live tests: the replay server."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import pytest
from support.live_server import Frame, ReplayServer, ServerThread


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
