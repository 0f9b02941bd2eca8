"""Reading MRT for a few targets: anystab against plain decompression and its peers, on the same inputs.

Steps:

1. Inputs: every file of ``--data`` (default: the repository's real RIS and RouteViews files,
   ``tests/data/mrt``) and a generated day (one RIS-style collector, a RIB dump
   and 288 five-minute BGP4MP_ET update files, at least 5 million elements, 20 targets among tens of
   thousands of other prefixes), written once under ``--workdir`` (default /tmp/anystab-bench-day, never
   the repository) by patching the times of a few encoded slot templates; and a generated week the same
   way (a RIB dump and 2,016 update files, 50 targets: the day's 20 and 30 more, under
   ``--workdir``-week), read by decompression, anystab's extraction and its full analysis only (does the
   analysis grow with the elements it gets, not faster?).
2. Tools, each run in its own child process, peak RSS as the
   child's VmHWM (or its workers'), wall time of the work itself
   (interpreter start and imports excluded; for ``bgpdump`` the whole pipeline):
   plain decompression (Python gzip/bz2 in 1 MiB reads, the base of the ratios; ``decompress-zlibng``:
   zlib-ng's gzip module, which anystab inflates with; on the day also split over two processes, what
   two processes can gain on this machine at all), anystab extraction (``read_files``, one job;
   on the day also two jobs; ``anystab-numpy``: one job without the compiled scanner, as with
   ``ANYSTAB_PURE_PYTHON=1``; ``anystab-zlib``: one job inflating with Python's zlib, as with
   ``ANYSTAB_STDLIB_ZLIB=1``; ``anystab-1thread``: one job on one thread, as with
   ``ANYSTAB_ONE_THREAD=1``, so that no file is inflated on a thread ahead of the scan; two jobs are set
   against it too), anystab
   full analysis (the day only), ``bgpdump -m | grep`` for the
   targets, pybgpkit-parser with its own one-prefix filter and unfiltered, mrtparse (every record),
   pybgpstream when importable.
3. Each measurement is the median of ``--runs`` runs, taken round robin (the first run of every tool,
   then the second...), so that a slower spell of a shared machine hits every tool alike. Peers slower
   than the rest by far (mrtparse and unfiltered pybgpkit-parser on the day) run once, on ``--sample``
   of the day's files, scaled up by bytes, marked ``est``.
4. Whole processes (``--copies``, default 20): the et-header file's gzip written that many times into
   one file (gzip members one after another are one valid gzip file) under ``--workdir``, and, as new
   processes taken round robin, ``anystab analyze`` of it (``--collector rrc99 --resync 0``, the
   targets as ``--prefix``, ``--json``, ``--jobs 1``), ``anystab --help`` (the start-up that any command
   pays) and a Python process inflating the file with zlib-ng (1 MiB reads): the ratio is the analysis
   less ``--help`` to the inflating process, what a user of the command line feels; the analysis also
   with ``ANYSTAB_ONE_THREAD=1``. anystab's bytecode is written first, as ``pip install`` writes it.
5. Print a table per input (wall time, elements/s and MB/s of decompressed data, peak RSS, ratio to
   decompression and of each peer to anystab's extraction) and write everything as JSON under
   ``benchmarks/results/``, with the load average before and after the runs (the machine may be shared)
   and whether the compiled scanner was built.

Run: ``python benchmarks/bench_read.py`` (about half an hour on two cores); ``--quick``: one run,
the ``--data`` files only; ``--analysis``: the generated day and week, decompression, extraction and the
full analysis alone (does the analysis stay within 1.2x the extraction?; with ``--before DIR`` the code
before's extraction and analysis too, in the same rounds); ``--whole-only``: step 4 alone. Each run's CPU
seconds are kept beside its wall seconds (``cpu_seconds``: less sensitive to a busy machine), and its minor
page faults (``minor_faults``: its own and its worker processes')."""

from __future__ import annotations

import argparse
import bz2
import compileall
import gzip
import importlib
import json
import math
import multiprocessing
import os
import platform
import random
import resource
import shutil
import statistics
import struct
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
REAL_FILES = REPO / "tests" / "data" / "mrt"
RESULTS = REPO / "benchmarks" / "results"
TARGETS = (
    "198.41.0.0/24", "192.228.79.0/24", "192.33.4.0/24", "199.7.91.0/24", "192.203.230.0/24",
    "192.5.5.0/24", "192.112.36.0/24", "128.63.2.0/24", "192.36.148.0/24", "192.58.128.0/24",
    "193.0.14.0/24", "199.7.83.0/24", "202.12.27.0/24", "8.8.8.0/24", "1.1.1.0/24", "9.9.9.0/24",
    "208.67.222.0/24", "2001:503:ba3e::/48", "2001:7fd::/48", "2001:4860:4860::/48",
)  # fmt: skip
BGPKIT_PREFIX = "8.8.8.0/24"
DAY_START = 1_717_200_000  # 2024-06-01 00:00 UTC
SLOT_S = 300
SLOTS = 288
TEMPLATES = 6
UPDATES_PER_SLOT = 1_900
ROUTES_PER_UPDATE = 10
WEEK_DAYS, WEEK_TARGETS = 7, 50
TARGET_SHARE = 0.001  # of updates: targets are ~0.01% of elements, as in real update files
NOISE_V4, NOISE_V6 = 40_000, 8_000
RIB_PREFIXES, PEERS = 20_000, 16
GZIP_LEVEL = 6
READ_BYTES = 1 << 20
SLOW_TOOLS = ("mrtparse", "bgpkit-all")
PURE_PYTHON_ENV = "ANYSTAB_PURE_PYTHON"
STDLIB_ZLIB_ENV = "ANYSTAB_STDLIB_ZLIB"
ONE_THREAD_ENV = "ANYSTAB_ONE_THREAD"
MB = 1e6
ET_HEADER = REAL_FILES / "ris.updates.et-header.2015.gz"
COPIES = 20
BEFORE_SUFFIX = "-before"
BEFORE: Path | None = None  # --before: an earlier source tree, run as the "-before" rows


# --- the generated day --------------------------------------------------------------------------------


def _noise(rng: random.Random) -> list[str]:
    v4 = {
        f"{rng.randrange(11, 223)}.{rng.randrange(256)}.{rng.randrange(256)}.0/{rng.choice((16, 20, 22, 24))}"
        for _ in range(NOISE_V4)
    }
    v6 = {
        f"2a0{rng.randrange(10)}:{rng.randrange(1 << 16):x}::/{rng.choice((32, 40, 48))}"
        for _ in range(NOISE_V6)
    }
    import ipaddress

    return sorted({str(ipaddress.ip_network(p, strict=False)) for p in v4 | v6})


def _peers() -> list[tuple[int, str]]:
    return [(64500 + i, f"198.51.100.{i + 1}" if i % 4 else f"2001:db8::{i + 1:x}") for i in range(PEERS)]


def _template(seed: int, noise: list[str], targets: tuple[str, ...] = TARGETS) -> bytes:
    """One slot of updates, times relative to the slot start (patched per slot)."""
    from anystab.generate import mrtwrite as mw

    rng = random.Random(seed)
    peers = _peers()
    records = []
    for i in range(UPDATES_PER_SLOT):
        asn, ip = peers[rng.randrange(len(peers))]
        v6 = ":" in ip
        pool = [p for p in rng.sample(noise, 80) if (":" in p) == v6][:ROUTES_PER_UPDATE]
        if rng.random() < TARGET_SHARE:
            pool[0] = rng.choice([t for t in targets if (":" in t) == v6])
        path = (asn, rng.randrange(1000, 65000), rng.randrange(1000, 400000))
        hop = ip
        comms = tuple(f"{asn}:{rng.randrange(1000)}" for _ in range(rng.randrange(3)))
        time_us = int(i * SLOT_S * 1e6 / UPDATES_PER_SLOT)
        if rng.random() < 0.15:
            gone = tuple(mw.Withdrawal(p) for p in pool)
            records.append(mw.Update(time_us, asn, ip, withdraw=gone))
        else:
            routes = tuple(mw.Route(p, path, hop, communities=comms) for p in pool)
            records.append(mw.Update(time_us, asn, ip, announce=routes))
    return mw.encode_records(records, et=True)


def _patched(template: bytes, slot_start: int) -> bytes:
    out = bytearray(template)
    pos = 0
    while pos < len(out):
        rel, length = struct.unpack_from(">I", out, pos)[0], struct.unpack_from(">I", out, pos + 8)[0]
        struct.pack_into(">I", out, pos, rel + slot_start)
        pos += 12 + length
    return bytes(out)


def _rib(noise: list[str], rng: random.Random, targets: tuple[str, ...] = TARGETS) -> bytes:
    from anystab.generate import mrtwrite as mw

    peers = tuple(mw.Peer(asn, ip) for asn, ip in _peers())
    entries = []
    for prefix in list(targets) + rng.sample(noise, RIB_PREFIXES):
        for index, (asn, ip) in enumerate(_peers()):
            if (":" in ip) == (":" in prefix) and rng.random() < 0.5:
                hop = ip
                entries.append(mw.RibEntry(index, mw.Route(prefix, (asn, 3356, 15169), hop)))
    return mw.encode_rib(mw.RibDump(DAY_START, peers, tuple(entries)))


def week_targets() -> tuple[str, ...]:
    """The week's 50 targets: the day's 20 and 30 more (25 IPv4, 5 IPv6) outside the other prefixes' ranges,
    so that the targets stay as rare among the elements as on the day."""
    v4 = tuple(f"223.255.{k}.0/24" for k in range(25))
    v6 = tuple(f"2a10:{k + 1:x}::/32" for k in range(5))
    return (TARGETS + v4 + v6)[:WEEK_TARGETS]


def generated_day(workdir: Path, days: int = 1, targets: tuple[str, ...] = TARGETS) -> Path:
    """Write the day (or ``days`` days) once (a marker file says it is complete); returns the collector
    folder."""
    root = workdir / "rrc99"
    if (workdir / "complete").exists():
        return root
    shutil.rmtree(workdir, ignore_errors=True)
    month = root / time.strftime("%Y.%m", time.gmtime(DAY_START))
    month.mkdir(parents=True)
    rng = random.Random(1)
    noise = _noise(rng)
    (month / f"bview.{time.strftime('%Y%m%d.%H%M', time.gmtime(DAY_START))}.gz").write_bytes(
        gzip.compress(_rib(noise, rng, targets), GZIP_LEVEL, mtime=0)
    )
    templates = [_template(seed, noise, targets) for seed in range(TEMPLATES)]
    for slot in range(SLOTS * days):
        start = DAY_START + slot * SLOT_S
        name = f"updates.{time.strftime('%Y%m%d.%H%M', time.gmtime(start))}.gz"
        data = _patched(templates[slot % TEMPLATES], start)
        (month / name).write_bytes(gzip.compress(data, GZIP_LEVEL, mtime=0))
    (workdir / "complete").write_text("ok\n")
    return root


# --- the tools, each in a child process ---------------------------------------------------------------


def _decompress(files: list[str], zlib_ng: bool = False) -> int:
    from zlib_ng import gzip_ng

    total = 0
    for f in files:
        opener = bz2.open if f.endswith(".bz2") else gzip_ng.open if zlib_ng else gzip.open
        with opener(f, "rb") as fh:
            while chunk := fh.read(READ_BYTES):
                total += len(chunk)
    return total


def _decompress_2jobs(files: list[str]) -> int:
    """Plain decompression split over two processes, as ``--jobs 2`` splits anystab's reading (a second
    process started the same way, its count back through a queue): how much faster two processes can
    be on this machine at all."""
    results: multiprocessing.Queue[int] = multiprocessing.Queue()
    other = multiprocessing.Process(target=_decompress_into, args=(files[1::2], results), daemon=True)
    other.start()
    return _decompress(files[0::2]) + results.get()


def _decompress_into(files: list[str], results: multiprocessing.Queue[int]) -> None:
    results.put(_decompress(files))


def _extract(files: list[str], jobs: int, prefixes: tuple[str, ...]) -> int:
    from anystab.sources import SourceFile, read_files
    from anystab.targets import make_target, target_set

    targets = target_set([make_target(p) for p in prefixes], "any")
    results = read_files([SourceFile(f, "rrc99") for f in files], targets, jobs)
    return sum(r.elements.num_rows for r in results)


def _analyze(files: list[str], jobs: int, prefixes: tuple[str, ...]) -> int:
    from anystab.params import AnalysisParams
    from anystab.pipeline import AnalysisRequest, analyze
    from anystab.targets import make_target, target_set

    params = AnalysisParams(target_set([make_target(p) for p in prefixes], "any"))
    result = analyze(AnalysisRequest(tuple(files), params, jobs=jobs))
    return len(result.tables["elements"])


def _bgpkit(files: list[str], filtered: bool) -> int:
    import pybgpkit_parser

    count = 0
    for f in files:
        filters = {"prefix": BGPKIT_PREFIX} if filtered else None
        for _elem in pybgpkit_parser.Parser(url=f, filters=filters):
            count += 1
    return count


def _mrtparse(files: list[str]) -> int:
    import mrtparse

    count = 0
    for f in files:
        for _entry in mrtparse.Reader(f):
            count += 1
    return count


def _bgpstream(files: list[str]) -> int:
    import pybgpstream

    count = 0
    for f in files:
        stream = pybgpstream.BGPStream(data_interface="singlefile")
        stream.set_data_interface_option("singlefile", "upd-file", f)
        stream.add_filter("prefix-any", " ".join(TARGETS))
        for _elem in stream:
            count += 1
    return count


def child(tool: str, files: list[str], targets: tuple[str, ...] = TARGETS) -> None:
    """Run one tool over the files and print ``{"seconds", "count"}``."""
    work = {
        "decompress": lambda: _decompress(files),
        "decompress-zlibng": lambda: _decompress(files, zlib_ng=True),
        "decompress-2jobs": lambda: _decompress_2jobs(files),
        "anystab": lambda: _extract(files, 1, targets),
        "anystab-numpy": lambda: _extract(files, 1, targets),
        "anystab-zlib": lambda: _extract(files, 1, targets),
        "anystab-1thread": lambda: _extract(files, 1, targets),
        "anystab-2jobs": lambda: _extract(files, 2, targets),
        "anystab-analysis": lambda: _analyze(files, 1, targets),
        "bgpkit-prefix": lambda: _bgpkit(files, True),
        "bgpkit-all": lambda: _bgpkit(files, False),
        "mrtparse": lambda: _mrtparse(files),
        "bgpstream": lambda: _bgpstream(files),
    }[tool.removesuffix(BEFORE_SUFFIX)]
    _preload(tool)
    faults = _minor_faults(resource.RUSAGE_SELF)
    start, cpu = time.perf_counter(), time.process_time()
    count = work()
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    faults = _minor_faults(resource.RUSAGE_SELF) - faults
    for process in multiprocessing.active_children():  # the workers, done: their faults count once reaped
        process.join()
    faults += _minor_faults(resource.RUSAGE_CHILDREN)
    result = {"seconds": seconds, "cpu_seconds": cpu, "count": count, "rss_mb": _peak_rss_mb()}
    print(json.dumps({**result, "minor_faults": faults}))


def _minor_faults(who: int) -> int:
    """Minor page faults so far (``who``: this process, or its reaped children): a page first written
    since it was mapped, or since a fork shared it (copy-on-write), each a few microseconds."""
    return resource.getrusage(who).ru_minflt


def _peak_rss_mb() -> float:
    """This process's peak RSS (VmHWM, fresh since exec) or its worker processes', whichever is larger."""
    own = 0.0
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            own = int(line.split()[1]) / 1024
    return max(own, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)


def _preload(tool: str) -> None:
    """Import what the tool needs before the clock starts."""
    if tool.startswith("anystab"):
        # anystab first, as the command line imports it: it chooses Arrow's allocator before pyarrow loads
        import anystab.collect

        modules = ("pandas", "anystab.pipeline", "anystab.sources", "anystab.sources.parallel")  # read_files
        load = getattr(anystab.collect, "import_for_good", None)  # (an earlier tree may not have it)
        if load is not None:  # as the command line imports them: frozen, out of the collector's way
            load(*modules)
        else:
            for name in modules:
                importlib.import_module(name)
    elif tool.startswith("bgpkit"):
        import pybgpkit_parser  # noqa: F401
    elif tool == "mrtparse":
        import mrtparse  # noqa: F401
    elif tool.startswith("decompress"):
        from zlib_ng import gzip_ng  # noqa: F401


def _bgpdump(files: list[str]) -> tuple[float, int]:
    pattern = "|".join(t.replace(".", r"\.") for t in TARGETS)
    loop = f'for f in {" ".join(map(repr, files))}; do bgpdump -m "$f"; done'
    cmd = f"{loop} | grep -E '\\|({pattern})\\|' | wc -l"
    start = time.perf_counter()
    proc = subprocess.Popen(["bash", "-c", cmd], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    out, _ = proc.communicate()
    return time.perf_counter() - start, int(out.strip() or 0)


def measure(tool: str, files: list[str], targets: tuple[str, ...] = TARGETS) -> dict[str, float]:
    """One run of a tool in a child process: wall seconds, result count, peak RSS in MB."""
    list_file = RESULTS / ".files.txt"
    list_file.write_text("\n".join(files))
    if tool == "bgpdump":
        seconds, count = _bgpdump(files)
        nothing = {"cpu_seconds": math.nan, "rss_mb": math.nan, "minor_faults": math.nan}
        return {"seconds": seconds, "count": count, **nothing}
    env = dict(os.environ)
    env.pop(PURE_PYTHON_ENV, None)
    env.pop(STDLIB_ZLIB_ENV, None)
    env.pop(ONE_THREAD_ENV, None)
    if tool == "anystab-1thread":
        env[ONE_THREAD_ENV] = "1"
    if tool == "anystab-numpy":
        env[PURE_PYTHON_ENV] = "1"
    if tool == "anystab-zlib":
        env[STDLIB_ZLIB_ENV] = "1"
    if tool.endswith(BEFORE_SUFFIX):
        env["PYTHONPATH"] = str(BEFORE)
    proc = subprocess.Popen(
        [
            sys.executable,
            __file__,
            "--child",
            tool,
            "--files",
            str(list_file),
            "--targets",
            ",".join(targets),
        ],  # noqa: E501
        stdout=subprocess.PIPE,
        env=env,
    )
    out, _ = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"{tool} failed with status {proc.returncode}")
    data = json.loads(out)
    return {k: data[k] for k in ("seconds", "cpu_seconds", "count", "rss_mb", "minor_faults")}


def compiled_scanner() -> bool:
    """Whether anystab's compiled scanner is built (the ``anystab`` rows use it)."""
    from anystab.sources import framing

    return framing.scan is not None


def bgpstream_available() -> bool:
    try:
        import pybgpstream  # noqa: F401
    except ImportError:
        return False
    return True


# --- whole processes ------------------------------------------------------------------------------------

_INFLATE = (
    "import sys\n"
    "from zlib_ng import gzip_ng\n"
    "with gzip_ng.open(sys.argv[1], 'rb') as fh:\n"
    "    while fh.read(1 << 20):\n"
    "        pass\n"
)


def copies_file(workdir: Path, copies: int) -> Path:
    """The et-header file's gzip ``copies`` times in one file (written once)."""
    path = workdir / "copies" / f"et-header-x{copies}.gz"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(ET_HEADER.read_bytes() * copies)
    return path


def _wall(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """A new process's wall seconds and CPU seconds (user and system, its threads and children's)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, env=env)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def write_bytecode(*trees: Path | None) -> None:
    """Write the bytecode of the anystab package of each source tree, as ``pip install`` does for an
    installed package: an editable install writes it on its first run, unless ``PYTHONDONTWRITEBYTECODE``
    is set, and then every new process would compile anystab's modules again (about 30 ms of CPU time,
    which no user of an installed package pays)."""
    for tree in trees:
        if tree is not None:
            compileall.compile_dir(tree / "anystab", quiet=1)


def bench_whole(workdir: Path, copies: int, runs: int) -> dict[str, object]:
    """Step 4: new processes, round robin, medians (the bytecode written first: :func:`write_bytecode`)."""
    path = copies_file(workdir, copies)
    write_bytecode(REPO, BEFORE)
    exe = str(Path(sys.executable).parent / "anystab")
    targets = [a for t in TARGETS for a in ("--prefix", t)]
    argv = {
        "anystab analyze": [exe, "analyze", str(path), "--collector", "rrc99", "--resync", "0", *targets]
        + ["--json", "--jobs", "1"],
        "anystab --help": [exe, "--help"],
        "anystab analyze, one thread": [],
        "inflate-zlibng": [sys.executable, "-c", _INFLATE, str(path)],
        "python -c pass": [sys.executable, "-c", "pass"],
    }
    argv["anystab analyze, one thread"] = argv["anystab analyze"]
    envs = {"anystab analyze, one thread": dict(os.environ, **{ONE_THREAD_ENV: "1"})}
    if BEFORE is not None:
        for name in ("anystab analyze", "anystab --help"):
            argv[name + BEFORE_SUFFIX] = argv[name]
            envs[name + BEFORE_SUFFIX] = dict(os.environ, PYTHONPATH=str(BEFORE))
    samples: dict[str, list[float]] = {name: [] for name in argv}
    cpu_samples: dict[str, list[float]] = {name: [] for name in argv}
    for _ in range(runs):
        for name, cmd in argv.items():
            wall, cpu = _wall(cmd, envs.get(name))
            samples[name].append(wall)
            cpu_samples[name].append(cpu)
    seconds = {name: statistics.median(values) for name, values in samples.items()}
    cpu_seconds = {name: statistics.median(values) for name, values in cpu_samples.items()}
    ratio = (seconds["anystab analyze"] - seconds["anystab --help"]) / seconds["inflate-zlibng"]
    before = f"anystab analyze{BEFORE_SUFFIX}"
    if before in seconds:
        less = seconds[before] - seconds[f"anystab --help{BEFORE_SUFFIX}"]
        seconds_before = {"analysis_less_help_x_inflate_before": less / seconds["inflate-zlibng"]}
    else:
        seconds_before = {}
    one_thread = seconds["anystab analyze, one thread"] - seconds["anystab --help"]
    return {
        "input": f"{ET_HEADER.name} x{copies} (one file, whole processes)",
        "decompressed_bytes": decompressed_size([str(path)]),
        "seconds": seconds,
        "all_seconds": samples,
        "cpu_seconds": cpu_seconds,
        "cores": os.cpu_count() or 1,
        "analysis_less_help_x_inflate": ratio,
        "analysis_less_help_x_inflate_one_thread": one_thread / seconds["inflate-zlibng"],
        **seconds_before,
    }


def whole_table(bench: dict[str, object]) -> str:
    seconds: dict[str, float] = bench["seconds"]  # type: ignore[assignment]
    size = float(bench["decompressed_bytes"])  # type: ignore[arg-type]
    cpu: dict[str, float] = bench.get("cpu_seconds", {})  # type: ignore[assignment]
    lines = [
        f"{bench['input']}: {size / MB:.1f} MB decompressed",
        "| process | wall s | CPU s |",
        "|---|---:|---:|",
    ]
    lines += [f"| {name} | {sec:.3f} | {cpu.get(name, math.nan):.3f} |" for name, sec in seconds.items()]
    less = seconds["anystab analyze"] - seconds["anystab --help"]
    ratio = bench["analysis_less_help_x_inflate"]
    lines.append(f"analysis less --help: {less:.3f} s = {ratio:.2f}x the inflating process")
    if cpu:  # the CPU work past --help spread over every core: no overlap of threads does better
        floor = (cpu["anystab analyze"] - cpu["anystab --help"]) / int(bench["cores"])  # type: ignore[call-overload]
        lines.append(
            f"its CPU less --help's over {bench['cores']} cores: {floor:.3f} s = "
            f"{floor / seconds['inflate-zlibng']:.2f}x (the least any overlap could take)"
        )
    lines.append(
        f"on one thread (ANYSTAB_ONE_THREAD=1): {bench['analysis_less_help_x_inflate_one_thread']:.2f}x"
    )
    if "analysis_less_help_x_inflate_before" in bench:
        lines.append(f"before: {bench['analysis_less_help_x_inflate_before']:.2f}x")
    return "\n".join(lines)


# --- the runs and the table ---------------------------------------------------------------------------


def summary(samples: list[dict[str, float]]) -> dict[str, float]:
    return {
        "seconds": statistics.median(s["seconds"] for s in samples),
        "all_seconds": [s["seconds"] for s in samples],  # type: ignore[dict-item]
        "cpu_seconds": statistics.median(s["cpu_seconds"] for s in samples),
        "all_cpu_seconds": [s["cpu_seconds"] for s in samples],  # type: ignore[dict-item]
        "count": samples[0]["count"],
        "rss_mb": max(s["rss_mb"] for s in samples),
        "minor_faults": statistics.median(s["minor_faults"] for s in samples),
    }


def decompressed_size(files: list[str]) -> int:
    return _decompress(files)


def element_count(files: list[str]) -> int:
    """Elements in the input (bgpdump -m lines)."""
    cmd = f'for f in {" ".join(map(repr, files))}; do bgpdump -m "$f"; done | wc -l'
    return int(subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, check=True).stdout)


def bench_input(
    name: str, files: list[str], tools: list[str], runs: int, sample: int, targets: tuple[str, ...] = TARGETS
) -> dict[str, object]:
    size = decompressed_size(files)
    elements = element_count(files) if "bgpdump" in tools else None
    plan = {}
    for tool in tools:
        use, scale, est = files, 1.0, False
        if tool in SLOW_TOOLS and len(files) > sample:
            use = files[:: max(1, len(files) // sample)][:sample]
            scale, est = size / decompressed_size(use), True
        plan[tool] = (use, scale, est)
    # round robin: run k of every tool, then run k + 1, so that a slower spell of a shared machine
    # falls on every tool alike instead of on the ones measured during it
    samples: dict[str, list[dict[str, float]]] = {tool: [] for tool in tools}
    for k in range(runs):
        for tool, (use, _scale, est) in plan.items():
            if k == 0 or not est:
                samples[tool].append(measure(tool, use, targets))
    rows: dict[str, dict[str, object]] = {}
    for tool, (_use, scale, est) in plan.items():
        result: dict[str, object] = dict(summary(samples[tool]))
        result["seconds"] = float(result["seconds"]) * scale  # type: ignore[arg-type]
        result["estimated"] = est
        rows[tool] = result
        print(f"  {name}: {tool:18s} {result['seconds']:8.3f} s", file=sys.stderr)
    return {
        "input": name,
        "files": len(files),
        "decompressed_bytes": size,
        "elements": elements,  # None: not counted (bgpdump not run)
        "targets": len(targets),
        "tools": rows,
    }


def table(bench: dict[str, object]) -> str:
    tools: dict[str, dict[str, float]] = bench["tools"]  # type: ignore[assignment]
    size = float(bench["decompressed_bytes"])  # type: ignore[arg-type]
    elements = float(bench["elements"]) if bench["elements"] is not None else math.nan  # type: ignore[arg-type]
    base = tools["decompress"]["seconds"]
    ours = tools["anystab"]["seconds"]
    counted = f"{elements:,.0f} elements" if elements == elements else f"{bench['targets']} targets"
    head = f"{bench['input']}: {bench['files']} files, {size / MB:.1f} MB decompressed, {counted}"
    lines = [head, "| tool | wall s | elements/s | MB/s | peak RSS MB | x decompression | x anystab |",
             "|---|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
    for tool, r in tools.items():
        sec = r["seconds"]
        mark = " (est)" if r.get("estimated") else ""
        rss = "-" if r["rss_mb"] != r["rss_mb"] else f"{r['rss_mb']:.0f}"
        rate = f"{elements / sec:,.0f}" if elements == elements else "-"
        lines.append(
            f"| {tool}{mark} | {sec:.3f} | {rate} | {size / MB / sec:.0f} | {rss} "
            f"| {sec / base:.2f} | {sec / ours:.2f} |"
        )
    return "\n".join(lines)


def analysis_ratio(bench: dict[str, object]) -> str:
    """The full analysis against the extraction, in wall and CPU seconds (medians), now and, when run, in
    the code before (a line, or nothing when the input had no analysis)."""
    tools: dict[str, dict[str, float]] = bench["tools"]  # type: ignore[assignment]
    parts = []
    for suffix, label in (("", "now"), (BEFORE_SUFFIX, "before")):
        analysis, extraction = tools.get("anystab-analysis" + suffix), tools.get("anystab" + suffix)
        if analysis and extraction:
            wall = analysis["seconds"] / extraction["seconds"]
            cpu = analysis["cpu_seconds"] / extraction["cpu_seconds"]
            parts.append(f"{label} {wall:.2f}x wall, {cpu:.2f}x CPU")
    return f"full analysis against extraction: {'; '.join(parts)}\n" if parts else ""


SPLIT_TOOLS = ("decompress", "decompress-2jobs", "anystab", "anystab-2jobs")


def two_jobs(bench: dict[str, object]) -> str:
    """How much faster two processes were than one, for anystab and for plain decompression (a line, or
    nothing when the input was not read both ways). One job reads with a second thread where it may
    (decompress steps 9 and 10), so the two processes are also set against one job on one thread: what
    splitting the files over processes gains on its own. Then each way's minor page faults: after a fork,
    every page either process writes first is copied (copy-on-write), which one process never pays."""
    tools: dict[str, dict[str, float]] = bench["tools"]  # type: ignore[assignment]
    if "anystab-2jobs" not in tools or "decompress-2jobs" not in tools:
        return ""
    ours = tools["anystab"]["seconds"] / tools["anystab-2jobs"]["seconds"]
    plain = tools["decompress"]["seconds"] / tools["decompress-2jobs"]["seconds"]
    line = f"two processes: anystab {ours:.2f}x faster than one job"
    if "anystab-1thread" in tools:
        alone = tools["anystab-1thread"]["seconds"] / tools["anystab-2jobs"]["seconds"]
        line += f", {alone:.2f}x faster than one job on one thread"
    line += f"; plain decompression {plain:.2f}x\n"
    faults = [f"{t} {tools[t]['minor_faults']:,.0f}" for t in (*SPLIT_TOOLS, "anystab-1thread") if t in tools]
    line += "minor page faults (median; two processes: both): " + ", ".join(faults)
    return line + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child")
    parser.add_argument("--files")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sample", type=int, default=24, help="day files the slowest peers read (scaled up)")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/anystab-bench-day"))
    parser.add_argument(
        "--data", type=Path, default=REAL_FILES, help="folder of MRT files to read (default tests/data/mrt)"
    )
    parser.add_argument("--quick", action="store_true", help="one run, the --data files only")
    parser.add_argument(
        "--analysis", action="store_true", help="the generated day and week: extraction and analysis alone"
    )
    parser.add_argument("--targets", help=argparse.SUPPRESS)
    parser.add_argument("--copies", type=int, default=COPIES, help="copies of the et-header file (step 4)")
    parser.add_argument("--whole-only", action="store_true", help="only the whole-process comparison")
    parser.add_argument(
        "--no-peers", action="store_true", help="leave out bgpdump, pybgpkit-parser, mrtparse"
    )
    parser.add_argument(
        "--before", type=Path, help="an earlier source tree of anystab, run as '-before' rows"
    )
    args = parser.parse_args()
    global BEFORE
    BEFORE = args.before
    if args.child:
        child(args.child, Path(args.files).read_text().split("\n"), tuple(args.targets.split(",")))
        return
    RESULTS.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()
    runs = 1 if args.quick else args.runs
    peers = ["bgpdump", "bgpkit-prefix", "bgpkit-all", "mrtparse"] + (
        ["bgpstream"] if bgpstream_available() else []
    )
    if args.no_peers:
        peers = []
    before = [] if args.before is None else ["anystab" + BEFORE_SUFFIX]
    benches = []
    analysis_only = ["decompress", "decompress-zlibng", "anystab", "anystab-analysis"]
    if args.before is not None:  # the code before, in the same rounds
        analysis_only += [t + BEFORE_SUFFIX for t in ("anystab", "anystab-analysis")]
    whole = None if args.quick or args.analysis else bench_whole(args.workdir, args.copies, max(runs, 5))
    for path in sorted(
        p for p in args.data.iterdir() if p.is_file() and not (args.whole_only or args.analysis)
    ):
        tools = [
            "decompress",
            "decompress-zlibng",
            "anystab",
            *before,
            "anystab-1thread",
            "anystab-zlib",
            "anystab-numpy",
            *peers,
        ]
        benches.append(bench_input(path.name, [str(path)], tools, runs, args.sample))
    if not args.quick and not args.whole_only:
        day = sorted(str(p) for p in generated_day(args.workdir).rglob("*.gz"))
        tools = [
            "decompress",
            "decompress-zlibng",
            "decompress-2jobs",
            "anystab",
            "anystab-1thread",
            "anystab-2jobs",
            "anystab-zlib",
            "anystab-numpy",
            "anystab-analysis",
        ]
        if args.before is not None:
            tools += [t + BEFORE_SUFFIX for t in ("anystab", "anystab-2jobs", "anystab-analysis")]
        tools += peers
        tools = analysis_only if args.analysis else tools
        benches.append(bench_input("generated day", day, tools, runs, args.sample))
    if not args.quick and not args.whole_only:
        week, targets = Path(f"{args.workdir}-week"), week_targets()
        files = sorted(str(p) for p in generated_day(week, WEEK_DAYS, targets).rglob("*.gz"))
        benches.append(bench_input("generated week", files, analysis_only, runs, args.sample, targets))
    report = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_before": load_before,
            "load": os.getloadavg(),
        },
        "compiled_scanner": compiled_scanner(),
        "targets": list(TARGETS),
        "runs": runs,
        "pybgpstream": "available" if bgpstream_available() else "not available",
        "inputs": benches,
        "whole_process": whole,
    }
    out = RESULTS / f"bench_read-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}.json"
    out.write_text(json.dumps(report, indent=1) + "\n")
    (RESULTS / ".files.txt").unlink(missing_ok=True)
    for bench in benches:
        print(table(bench) + "\n")
        print(two_jobs(bench))
        print(analysis_ratio(bench))
    if whole is not None:
        print(whole_table(whole) + "\n")
    load = " ".join(f"{x:.1f}" for x in load_before) + " -> " + " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"compiled scanner: {report['compiled_scanner']}; load average (1, 5, 15 min): {load}")
    print(f"pybgpstream: {report['pybgpstream']}; written to {out.relative_to(REPO)}")


if __name__ == "__main__":
    main()
