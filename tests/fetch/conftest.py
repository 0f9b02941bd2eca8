"""Fixtures of the fetch tests: a real archive server on 127.0.0.1 (:mod:`support.fetch_server`), a cache
folder, and no user configuration."""

from __future__ import annotations

from support.fetch_server import archive as archive
from support.fetch_server import cache as cache
from support.fetch_server import isolated as isolated  # autouse: no user config, SIGPIPE ignored
