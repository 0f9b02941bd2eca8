"""A real websocket server on 127.0.0.1 that speaks the RIS Live protocol, replaying given frames.

The server waits for the client's ``ris_subscribe`` messages, then sends the frames in order from a cursor
shared by all connections: after a frame listed in ``disconnect_after`` it closes the connection (going
away, as a restarting server does), and the next connection continues where the last one stopped. After
the last frame it keeps the connection open and quiet, as the real stream is between updates, unless
``close_at_end`` is set. ``make_frame`` (a callable) is called at send time instead of a fixed text when
a frame needs the wall clock.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import pytest
from websockets.asyncio.server import ServerConnection, serve

SUBSCRIBE_TIMEOUT_S = 10.0

Frame = str | Callable[[], str]


@dataclass
class ReplayServer:
    """The server's script and what it saw: subscriptions per connection, frames sent."""

    frames: Sequence[Frame]
    subscriptions: int = 1
    disconnect_after: set[int] = field(default_factory=set)
    close_at_end: bool = False
    url: str = ""
    cursor: int = 0
    connections: list[list[dict]] = field(default_factory=list)
    sent: int = 0

    async def handle(self, socket: ServerConnection) -> None:
        received: list[dict] = []
        self.connections.append(received)
        for _ in range(self.subscriptions):
            received.append(json.loads(await asyncio.wait_for(socket.recv(), SUBSCRIBE_TIMEOUT_S)))
        while self.cursor < len(self.frames):
            frame = self.frames[self.cursor]
            await socket.send(frame() if callable(frame) else frame)
            self.sent += 1
            index, self.cursor = self.cursor, self.cursor + 1
            if index in self.disconnect_after:
                await socket.close(1001, "going away")
                return
        if self.close_at_end:
            await socket.close(1000)
            return
        await socket.wait_closed()


class ServerThread:
    """An event loop in a thread running one :class:`ReplayServer` until stopped."""

    def __init__(self, server: ReplayServer) -> None:
        self.server = server
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.stopped: asyncio.Event | None = None
        self.thread = threading.Thread(target=self.loop.run_until_complete, args=(self.main(),), daemon=True)

    async def main(self) -> None:
        self.stopped = asyncio.Event()
        async with serve(self.server.handle, "127.0.0.1", 0) as ws:
            port = next(iter(ws.sockets)).getsockname()[1]
            self.server.url = f"ws://127.0.0.1:{port}/v1/ws/?client=anystab-test"
            self.ready.set()
            await self.stopped.wait()

    def __enter__(self) -> ReplayServer:
        self.thread.start()
        assert self.ready.wait(10), "the replay server did not start"
        return self.server

    def __exit__(self, *exc: object) -> None:
        assert self.stopped is not None
        self.loop.call_soon_threadsafe(self.stopped.set)
        self.thread.join(10)
        self.loop.close()


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
