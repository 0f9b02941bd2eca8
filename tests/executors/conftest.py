"""Fixtures for the executor tests: a real Dask LocalCluster of two worker processes, generated archives,
and a real HTTP server on 127.0.0.1 serving folders."""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from support.executors import edge_scenario, write_edge_archive

from anystab.executors.dask import DaskExecutor
from anystab.executors.local import LocalExecutor


@pytest.fixture(scope="session")
def dask_address() -> Iterator[str]:
    from distributed import LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address="127.0.0.1:0")
    try:
        yield cluster.scheduler_address
    finally:
        cluster.close()


@pytest.fixture(scope="session")
def dask_executor(dask_address: str) -> Iterator[DaskExecutor]:
    executor = DaskExecutor.connect(dask_address)
    try:
        yield executor
    finally:
        executor.close()


@pytest.fixture
def local_executor() -> LocalExecutor:
    return LocalExecutor(jobs=2)


@pytest.fixture(scope="session")
def edge_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("edge")
    write_edge_archive(edge_scenario(), out)
    return out


@pytest.fixture(scope="session")
def edge_archive_addpath_gap(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ADD-PATH on RouteViews and a missing RIS update file right at a slice edge."""
    out = tmp_path_factory.mktemp("edge-addpath")
    scenario = edge_scenario(addpath=True, omit=(("rrc01", 1_748_822_400 + 1200),))
    write_edge_archive(scenario, out)
    return out


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def serve(folder: Path) -> tuple[http.server.ThreadingHTTPServer, threading.Thread]:
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, thread


@pytest.fixture
def http_folder() -> Iterator[Callable[[Path], str]]:
    """``http_folder(path)`` serves ``path`` on 127.0.0.1 and returns its base URL (ending in /)."""
    servers = []

    def start(folder: Path) -> str:
        server, thread = serve(folder)
        servers.append((server, thread))
        return f"http://127.0.0.1:{server.server_address[1]}/"

    yield start
    for server, thread in servers:
        server.shutdown()
        server.server_close()
        thread.join()
