"""Fixtures for the live tests: the replay server (:func:`support.live_server.replay`)."""

from __future__ import annotations

from support.live_server import replay as replay
