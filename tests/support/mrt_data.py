"""The real RIS and RouteViews files under tests/data, and Debian ``bgpdump -m``'s output for each MRT file.

Where each file came from: tests/data/README.md. The reference output (``bgpdump -m`` 1.6.2) is committed
whole for the files of fewer than :data:`SAMPLED_FROM_LINES` lines (``bgpdump-m/NAME.txt.gz``). For the
larger files a sample is committed instead (``bgpdump-m/NAME.sample.txt.gz``): a header with the whole
output's line count and SHA-256, and a pool of :data:`POOL_SIZE` of its prefixes drawn with :data:`POOL_SEED`;
then every line that a target set drawn from the pool or from :data:`ANYCAST_PREFIXES` can keep (any filter
mode), and every state change, in the output's order. Filtering the sample by such a target set gives what
filtering the whole output gives; a test runs ``bgpdump -m`` where it is installed and checks every sample
against it.

Rewrite the samples (after adding a file, or when bgpdump's output changes), from the repository's root:
``PYTHONPATH=tests python -m support.mrt_data``.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import random
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from anystab.targets import TargetSet, make_target, target_set
from support.needs import BGPDUMP, need_bgpdump

DATA = Path(__file__).resolve().parents[1] / "data"
MRT_DIR = DATA / "mrt"
REFERENCE_DIR = MRT_DIR / "bgpdump-m"
RISLIVE_STREAM = DATA / "rislive" / "ris-live-stream.jsonl"
MRT_FILES = sorted(p.name for p in MRT_DIR.iterdir() if p.is_file())
ANYCAST_PREFIXES = (
    "8.8.8.0/24",
    "208.67.222.0/24",
    "199.7.83.0/24",
    "199.7.91.0/24",
    "202.12.27.0/24",
    "2001:500:6::/48",
    "2001:500:e::/48",
)
SAMPLED_FROM_LINES = 30_000
POOL_SIZE = 200
POOL_SEED = 20240521
MIN_POOL_LENGTH = 8


@dataclass(frozen=True)
class Reference:
    """``bgpdump -m``'s output of one file, whole or sampled (see the module's docstring)."""

    line_count: int
    sha256: str
    pool: tuple[str, ...]
    lines: tuple[str, ...]
    whole: bool


def bgpdump_output(path: Path) -> str:
    """``bgpdump -m`` of ``path`` (skips the calling test where bgpdump is not installed)."""
    done = subprocess.run([need_bgpdump(), "-m", str(path)], capture_output=True, text=True, check=True)
    return done.stdout


def line_prefix(line: str) -> str | None:
    """The prefix of a ``bgpdump -m`` line (``None`` for a state change)."""
    fields = line.split("|")
    return None if fields[2] == "STATE" else fields[5]


def draw_pool(lines: tuple[str, ...]) -> tuple[str, ...]:
    """:data:`POOL_SIZE` distinct prefixes of /8 or longer, drawn with :data:`POOL_SEED`, sorted."""
    distinct = sorted({p for line in lines if (p := line_prefix(line)) is not None})
    usable = [p for p in distinct if int(p.rpartition("/")[2]) >= MIN_POOL_LENGTH]
    if len(usable) <= POOL_SIZE:
        return tuple(usable)
    return tuple(sorted(random.Random(POOL_SEED).sample(usable, POOL_SIZE)))


def _key(prefix: str) -> tuple[int, int, int]:
    """``(version, masked network, length)`` of a prefix as bgpdump prints it."""
    address, _, length_text = prefix.partition("/")
    version, family, bits = (6, socket.AF_INET6, 128) if ":" in address else (4, socket.AF_INET, 32)
    length = int(length_text)
    shift = bits - length
    return version, int.from_bytes(socket.inet_pton(family, address)) >> shift << shift, length


def pool_targets(pool: tuple[str, ...]) -> TargetSet:
    """The anycast prefixes and the pool, in mode ``any``: it keeps what any subset in any mode keeps."""
    return target_set([make_target(p, None) for p in (*ANYCAST_PREFIXES, *pool)], "any")


def reference_of(text: str) -> Reference:
    """The whole output ``text`` as a :class:`Reference`, and its sample (``whole=False``)."""
    lines = tuple(text.splitlines())
    pool = draw_pool(lines)
    keep = pool_targets(pool)
    kept = {p: keep.matches_key(*_key(p)) for p in {line_prefix(line) for line in lines} if p is not None}
    sample = tuple(line for line in lines if (p := line_prefix(line)) is None or kept[p])
    digest = hashlib.sha256(text.encode()).hexdigest()
    return Reference(len(lines), digest, pool, sample, whole=False)


def sample_text(ref: Reference) -> str:
    head = [f"#lines {ref.line_count}", f"#sha256 {ref.sha256}", "#pool " + " ".join(ref.pool)]
    return "\n".join([*head, *ref.lines]) + "\n"


def whole_path(name: str) -> Path:
    return REFERENCE_DIR / f"{name}.txt.gz"


def sample_path(name: str) -> Path:
    return REFERENCE_DIR / f"{name}.sample.txt.gz"


@functools.cache
def reference(name: str) -> Reference:
    """The committed reference of the MRT file ``name``: whole if committed whole, else its sample."""
    if whole_path(name).exists():
        raw = gzip.decompress(whole_path(name).read_bytes())
        lines = tuple(raw.decode().splitlines())
        return Reference(len(lines), hashlib.sha256(raw).hexdigest(), draw_pool(lines), lines, whole=True)
    with gzip.open(sample_path(name), "rt") as fh:
        head = {}
        for _ in range(3):
            key, _, value = fh.readline().rstrip("\n").partition(" ")
            head[key] = value
        lines = tuple(line.rstrip("\n") for line in fh)
    return Reference(int(head["#lines"]), head["#sha256"], tuple(head["#pool"].split()), lines, whole=False)


def write_samples() -> None:
    """Run ``bgpdump -m`` on every file of :data:`SAMPLED_FROM_LINES` lines or more and write its sample."""
    program = shutil.which("bgpdump")
    if program is None:
        sys.exit(BGPDUMP)
    for name in MRT_FILES:
        if whole_path(name).exists():
            continue
        text = subprocess.run([program, "-m", str(MRT_DIR / name)], capture_output=True, text=True).stdout
        ref = reference_of(text)
        if ref.line_count < SAMPLED_FROM_LINES:
            sys.exit(f"{name}: {ref.line_count} lines, commit its whole output as {whole_path(name).name}")
        sample_path(name).write_bytes(gzip.compress(sample_text(ref).encode(), 9, mtime=0))
        print(f"{name}: {len(ref.lines)} of {ref.line_count} lines")


if __name__ == "__main__":
    write_samples()
