"""The executor protocol: spec parsing, the local executor's processes, the Dask executor on a real
LocalCluster (order, progress, errors raised with their type), the install hint, an unreachable scheduler."""

from __future__ import annotations

import os
import socket
import sys

import pytest

from anystab.errors import BadInputError, ConfigError, SourceUnavailableError
from anystab.executors import LocalExecutor, make_executor, parse_dask_spec
from anystab.executors.dask import INSTALL_HINT, DaskExecutor, import_distributed


def pid_and_square(n: int) -> tuple[int, int]:
    return os.getpid(), n * n


def fail_on_three(n: int) -> int:
    if n == 3:
        raise BadInputError(f"item {n} is bad")
    return n


@pytest.mark.parametrize(
    ("spec", "parsed"),
    [
        ("local:2", ("local", 2)),
        (" local:16 ", ("local", 16)),
        ("tcp://scheduler:8786", ("address", "tcp://scheduler:8786")),
        ("tls://10.0.0.1:8786", ("address", "tls://10.0.0.1:8786")),
    ],
)
def test_dask_specs(spec, parsed):
    assert parse_dask_spec(spec) == parsed


@pytest.mark.parametrize("spec", ["local:0", "local:", "local:two", "scheduler:8786", "http://x:8786", ""])
def test_bad_dask_specs_are_config_errors(spec):
    with pytest.raises(ConfigError, match="--dask"):
        parse_dask_spec(spec)


def test_no_dask_spec_gives_the_local_executor():
    executor = make_executor(None, jobs=3)
    assert isinstance(executor, LocalExecutor) and executor.workers == 3


def test_local_executor_uses_processes_and_keeps_order():
    ticks = []
    with LocalExecutor(jobs=2) as executor:
        out = executor.map(pid_and_square, list(range(40)), ticks.append)
    assert [square for _, square in out] == [n * n for n in range(40)]
    assert os.getpid() not in {pid for pid, _ in out}
    assert sorted(ticks) == list(range(40))


def test_local_executor_with_one_job_runs_here():
    out = LocalExecutor(jobs=1).map(pid_and_square, [1, 2])
    assert out == [(os.getpid(), 1), (os.getpid(), 4)]


def test_local_executor_raises_the_first_error():
    with pytest.raises(BadInputError, match="item 3"):
        LocalExecutor(jobs=2).map(fail_on_three, [1, 2, 3, 4])


def test_dask_executor_runs_on_two_worker_processes_in_order(dask_executor):
    ticks = []
    out = dask_executor.map(pid_and_square, list(range(60)), ticks.append)
    assert [square for _, square in out] == [n * n for n in range(60)]
    assert os.getpid() not in {pid for pid, _ in out}
    assert dask_executor.workers == 2
    assert sorted(ticks) == list(range(60))
    assert dask_executor.map(pid_and_square, []) == []


def test_dask_executor_raises_a_worker_error_with_its_type(dask_executor):
    with pytest.raises(BadInputError, match="item 3"):
        dask_executor.map(fail_on_three, [1, 2, 3, 4])
    assert dask_executor.map(fail_on_three, [5]) == [5]  # still usable afterwards


def test_local_n_starts_and_closes_its_own_cluster():
    executor = make_executor("local:1")
    assert isinstance(executor, DaskExecutor)
    try:
        assert executor.workers == 1
        assert executor.map(pid_and_square, [3])[0][1] == 9
    finally:
        executor.close()
    assert executor.cluster.status.name == "closed"
    executor.close()  # idempotent


def test_unreachable_scheduler_is_source_unavailable():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens on it once closed
    with pytest.raises(SourceUnavailableError, match="cannot reach the Dask scheduler"):
        DaskExecutor.connect(f"tcp://127.0.0.1:{port}", timeout_s=2)


def test_missing_distributed_gives_the_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # what an environment without the extra sees
    with pytest.raises(SourceUnavailableError) as info:
        import_distributed()
    assert INSTALL_HINT in str(info.value) and "anystab[dask]" in INSTALL_HINT
    with pytest.raises(SourceUnavailableError, match="anystab\\[dask\\]"):
        make_executor("local:2")
